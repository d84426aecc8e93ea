"""Every setting the code reads from the environment is documented in README.md, and the README documents none the
code no longer reads.

Read by the code: a strict parser's name (`env.integer("NAME", ...)`) or an `os.environ` / `os.getenv` read in
Govern's code (govern/, apps/, gunicorn.conf.py, manage.py); a variable the scripts take from the environment (one
given a default, `${NAME:-...}`, or used and never set in the script); a Makefile variable a caller may override
(`NAME ?= ...`); and the test suite's knobs (`os.environ.get("NAME")` in tests/). Documented: named in backticks in
the first column of one of the README's tables (`NAME_FILE` is covered by `NAME`, as the README says).
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAME = r"[A-Z][A-Z0-9_]+"
ENVIRON = {"os.environ.get", "os.environ.setdefault", "os.getenv"}


def _python_reads(paths, calls=None) -> dict[str, str]:
    calls = calls or ENVIRON | {"env.*"}
    found = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            name = None
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                called = ast.unparse(node.func)
                if called in calls or ("env.*" in calls and re.fullmatch(r"env\.[a-z_]+", called)):
                    name = node.args[0].value
            elif (
                isinstance(node, ast.Subscript)
                and isinstance(node.ctx, ast.Load)
                and ast.unparse(node.value) == "os.environ"
                and isinstance(node.slice, ast.Constant)
            ):
                name = node.slice.value
            if isinstance(name, str) and re.fullmatch(NAME, name):
                found.setdefault(name, str(path.relative_to(ROOT)))
    return found


def _script_reads(path: Path) -> dict[str, str]:
    text = path.read_text()
    assigned = set(re.findall(rf"^\s*(?:export\s+|local\s+)?({NAME})=", text, re.M))
    defaulted = set(re.findall(rf"\$\{{({NAME}):?[-+=]", text))
    used = set(re.findall(rf"\$\{{?({NAME})", text))
    return {name: str(path.relative_to(ROOT)) for name in defaulted | (used - assigned)}


def read_by_the_code() -> dict[str, str]:
    """Every environment variable the code reads, with one place that reads it."""
    code = [*ROOT.glob("govern/**/*.py"), *ROOT.glob("apps/**/*.py"), ROOT / "gunicorn.conf.py", ROOT / "manage.py"]
    found = _python_reads(path for path in code if "migrations" not in path.parts)
    for script in ROOT.glob("scripts/*.sh"):
        found.update(_script_reads(script))
    makefile = (ROOT / "Makefile").read_text()
    found.update({name: "Makefile" for name in re.findall(rf"^({NAME})\s*\?=", makefile, re.M)})
    found.update(_python_reads(ROOT.glob("tests/**/*.py"), calls={"os.environ.get", "os.getenv"}))
    return found


def documented() -> set[str]:
    """The variables named in the first column of the README's tables."""
    names = set()
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith("| ") and not line.startswith("| ---"):
            names |= set(re.findall(rf"`({NAME})`", line.split("|")[1]))
    return names


def test_every_setting_the_code_reads_is_documented_in_the_readme():
    missing = {name: where for name, where in read_by_the_code().items() if name not in documented()}
    assert not missing, f"add these to a table in README.md (read where shown): {missing}"


def test_the_readme_documents_no_setting_the_code_does_not_read():
    stale = documented() - set(read_by_the_code())
    assert not stale, f"README.md documents settings nothing reads: {sorted(stale)}"


def test_the_scan_finds_each_kind_of_read():
    """The scanner itself: a parser's read, a script's default, a Makefile override and a test knob are all found."""
    found = read_by_the_code()
    for name, where in [
        ("MATCH_THRESHOLD_FLOOR", "govern/settings/base.py"),
        ("DEMO_CAMERA", "scripts/run.sh"),
        ("PYTEST_ARGS", "Makefile"),
        ("FUZZ_ONLY", "tests/reliability/test_schema_fuzz.py"),
        ("WEB_WORKERS", "gunicorn.conf.py"),
    ]:
        assert found.get(name) == where, (name, found.get(name))
    assert "BIN" not in found and "FAULT_AT" not in found  # a script's own variable; a test's plumbing
