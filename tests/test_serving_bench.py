"""benchmarks/serving_bench.py at its smallest size, so it cannot stop working unnoticed (the full run and its
figures: docs/benchmarks.md, "Serving behind nginx")."""

import os
import subprocess
import sys

import pytest

from tests.scaling.conftest import PASSED_THROUGH, ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_the_serving_benchmark_runs_at_its_smallest_size():
    result = subprocess.run(
        [sys.executable, "benchmarks/serving_bench.py", "--rounds", "1", "--duration", "1", "--frames", "2",
         "--frame-clients", "1", "--workers", "1", "--threads", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
        env={name: os.environ[name] for name in PASSED_THROUGH if name in os.environ},  # as from a shell
    )  # fmt: skip
    assert "| measure | before (per s) | after (per s) | after / before |" in result.stdout, (
        result.stdout + result.stderr
    )
    assert "| frames (one face each) |" in result.stdout
    assert "ledger: faces" in result.stdout and ": True" in result.stdout.split("ledger: faces")[1]
