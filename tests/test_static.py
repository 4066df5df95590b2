"""Static checks as tests: ruff, mypy (strict), import contracts, headless imports.

Each failure message names the offending files, so a red run says whose code it is.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PACKAGES = ["storage", "connectors", "workbench", "tests"]
"""Type-checked with ``mypy --strict`` (pyproject's [tool.mypy]: unused ignores and
ignores without an error code are errors), the tests included."""


def _run(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, check=False)


def _tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not installed in {BIN}; install the test extra")
    return str(path)


def test_ruff_check() -> None:
    run = _run(_tool("ruff"), "check", "--output-format=json", ".")
    if run.returncode == 0:
        return
    problems = json.loads(run.stdout or "[]")
    by_file: dict[str, list[str]] = {}
    for p in problems:
        name = str(Path(p["filename"]).relative_to(ROOT))
        by_file.setdefault(name, []).append(f"{p['location']['row']}: {p['code']} {p['message']}")
    report = "\n".join(f"{f} ({len(v)}):\n    " + "\n    ".join(v[:5])
                       for f, v in sorted(by_file.items()))
    pytest.fail(f"ruff found {len(problems)} problems in {len(by_file)} files:\n{report}"
                if problems else run.stderr)


@pytest.mark.slow
def test_mypy_strict() -> None:
    run = _run(sys.executable, "-m", "mypy", "--no-error-summary", *PACKAGES)
    if run.returncode == 0:
        return
    errors = [line for line in run.stdout.splitlines() if ": error:" in line]
    files = sorted({line.split(":", 1)[0] for line in errors})
    pytest.fail(f"mypy: {len(errors)} errors in {len(files)} files: {', '.join(files)}\n"
                + "\n".join(errors[:40]) + ("" if errors else run.stdout + run.stderr))


def test_import_contracts() -> None:
    run = _run(_tool("lint-imports"), "--no-cache")
    if run.returncode != 0:
        broken = re.findall(r"^(.+) BROKEN$", run.stdout, re.MULTILINE)
        pytest.fail(f"import contracts broken: {broken}\n{run.stdout[-4000:]}{run.stderr}")


SHELLS = {"tui", "api", "cli", "runtime"}
"""The parts of ``workbench`` that may import the others; every other module is core."""


def test_every_workbench_module_is_in_a_layer() -> None:
    """A new module directly under ``workbench/`` is core (held by the import contract
    that keeps core free of the TUI, the API and the CLI) or one of the shells: one not
    named in the contract would be free to import anything."""
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"]
    [core] = [c for c in contracts if c["name"].startswith("workbench core")]
    listed = {name.removeprefix("workbench.") for name in core["source_modules"]}
    modules = {p.stem if p.is_file() else p.name for p in (ROOT / "workbench").iterdir()
               if (p.suffix == ".py" or (p / "__init__.py").exists())
               and not p.name.startswith("__")}
    assert modules - listed - SHELLS == set(), "add these to the core contract in pyproject"
    assert listed <= modules, f"the contract names modules that are gone: {listed - modules}"


HEADLESS = """
import importlib, json, pkgutil, sys
import storage, connectors
failed = []
for package in (storage, connectors):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if ".migrations." in info.name:
            continue  # Alembic's env and scripts run inside Alembic, not on their own
        try:
            importlib.import_module(info.name)
        except Exception as exc:
            failed.append(f"{info.name}: {exc!r}")
# Not rich: httpx imports its optional CLI (click, pygments, rich) whenever they are
# installed, which they are alongside Textual; that is import weight, not a UI.
loaded = sorted(m for m in sys.modules
                if m.split(".")[0] in ("textual", "fastapi", "uvicorn", "starlette"))
print(json.dumps([failed, loaded]))
"""


def test_storage_and_connectors_never_load_ui_or_api() -> None:
    run = _run(sys.executable, "-c", HEADLESS, timeout=120)
    assert run.returncode == 0, run.stderr
    failed, loaded = json.loads(run.stdout.strip().splitlines()[-1])
    assert not failed, f"submodules that do not import: {failed}"
    offenders = sorted({m.split(".")[0] for m in loaded})
    assert not offenders, f"importing storage/connectors loaded {offenders}"


def test_headless_check_can_fail() -> None:
    """The probe above really sees a UI import when one happens."""
    probe = HEADLESS.replace("import storage, connectors", "import storage, connectors, textual")
    run = _run(sys.executable, "-c", probe, timeout=120)
    _, loaded = json.loads(run.stdout.strip().splitlines()[-1])
    assert "textual" in loaded
