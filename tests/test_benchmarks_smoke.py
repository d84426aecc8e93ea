"""Every benchmark in benchmarks/ at its `--smoke` size, so that a benchmark that no longer runs fails the suite.

Each runs as a developer would run it: in a subprocess, with a shell's environment (not the test run's settings), on
a database of its own on the embedded server (`<its database>_smoke_<pid>`, dropped at the end), never the test
database nor the developer's. A smoke run's figures mean nothing and its targets do not decide its exit status; its
functional checks do (the ledger balances, the bundle verifies, no request failed, the proofs check). The full runs
and their figures: docs/benchmarks.md.
"""

import os
import subprocess
import sys

import pytest

from tests.scaling.conftest import PASSED_THROUGH, ROOT

pytestmark = pytest.mark.slow

# Each benchmark, with lines its report must print: the table's header and its last rows, or its verdict.
REPORTS = {
    "agent_bench": [
        "| CPU ms a frame | models alone, the same work | agent |",
        "| embed |",
        "| measure | models alone, the same work | agent | agent / models |",
        "| CPU seconds per video second |",
        "| people passing | tracks | alerts | receipts |",
        "ledger balanced (faces and tracks recorded = seen and decided, nothing left queued): True",
    ],
    "audit_bench": ["| measure | result | target | verdict |", "| **`proofs.consistency()`** at", "tamper check: "],
    "bundle_bench": ["== evidence bundle", "result OK"],
    "engine_bench": ["| engine | frame | faces found | faces/s | / facenet |", "| dlib HOG, 1 upsampling |"],
    "custody_bench": ["| index | build | size | width | p50 ms |", "| reduced |", "| faiss |"],
    "erasure_bench": ["| measure | p50 ms | max ms |", "| delete_subject:", "erased subjects never candidates: True"],
    "evidence_bench": ["| absence check | median ms | worst ms |", "| by scan |", "| **by scan / by hash** |"],
    "frame_cost": ["| a frame | this process's CPU | PostgreSQL: its backend / the whole server |"],
    "generation_bench": ["| admission statement | wall per statement |", "| without |", "| **with / without** |"],
    "live_bench": [
        "| measure | faces/s |",
        "| end to end, receipts (0 alerts, 4 receipts), models in capture workers",
        "| end to end, alerts (4 alerts, 0 receipts), models in capture workers",
        "| end to end, receipts (0 alerts, 4 receipts), models in gunicorn",
    ],
    "load_bench": ["| endpoint | requests/s |", "| `/api/audit/checkpoints/` |", "ledger balanced: True"],
    "matching_bench": ["== 1. watchlist search", "== 2. live pipeline", "== 3. custody"],
    "monitor_bench": ["| measure | result | target | verdict |", "| **monitor / fetch-only** |", "hash tile(s) agree"],
    "page_bench": [
        "| role: page | p50 ms | p95 ms |",
        "| privacy: `/oversight/access/`",
        "| dashboard (`/oversight/`)",
    ],
    "public_bench": ["| page | p50 ms | p95 ms |", "| `/public/` |", "target (p95 < 200 ms for /public/"],
    "retention_bench": [
        "| measure | result | target | verdict |",
        "| **retention sweep**",
        "every row deleted and receipted, log verifies: True",
    ],
    "rfr_bench": ["| measure | result |", "| custody_index.fit:", "all stills processed and logged: True"],
    "serving_bench": ["| measure | before (per s) | after (per s) | after / before |", "| frames (one face each) |"],
    "witness_bench": [
        "| measure | p50 ms | p95 ms | max ms |",
        "| **cosigned by both / signing** |",
        "every checkpoint cosigned by both witnesses: True",
    ],
}
SERVED = {"live_bench", "load_bench", "serving_bench"}  # start nginx and gunicorn, as production serves Govern
TIMEOUT = 300  # seconds; the slowest takes about 40 on 2 cores


def run_smoke(name: str) -> tuple[int, str, str]:
    """Run benchmarks/NAME.py --smoke; its exit status, its standard output and its standard error."""
    shell = {variable: os.environ[variable] for variable in PASSED_THROUGH if variable in os.environ}
    process = subprocess.Popen(
        [sys.executable, f"benchmarks/{name}.py", "--smoke"], cwd=ROOT, env=shell, text=True, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        # SIGTERM, not a kill: the benchmark stops its servers and drops its database on the way out.
        process.terminate()
        try:
            stdout, stderr = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
        pytest.fail(f"benchmarks/{name}.py --smoke took over {TIMEOUT} s:\n{stdout}\n{stderr}")
    return process.returncode, stdout, stderr


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=[pytest.mark.e2e] if name in SERVED else []) for name in REPORTS]
)
def test_the_benchmark_runs_at_its_smoke_size(name):
    status, stdout, stderr = run_smoke(name)
    assert status == 0, f"benchmarks/{name}.py --smoke exited with {status}:\n{stdout}\n{stderr}"
    for line in REPORTS[name]:
        assert line in stdout, f"benchmarks/{name}.py --smoke did not print {line!r}:\n{stdout}\n{stderr}"


def test_every_benchmark_has_a_smoke_run():
    assert sorted(path.stem for path in (ROOT / "benchmarks").glob("*.py")) == sorted(REPORTS)
