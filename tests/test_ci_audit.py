"""The dependency-audit policy of ``.ci/audit.py`` on recorded pip-audit JSON reports."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "audit.py"


@pytest.fixture(scope="module")
def audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ci_audit", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _report(*dependencies: dict[str, Any]) -> str:
    return json.dumps({"dependencies": list(dependencies), "fixes": []})


CLEAN = {"name": "httpx", "version": "0.28.1", "vulns": []}
FIXABLE = {"name": "jinja2", "version": "3.1.2", "vulns": [
    {"id": "GHSA-h5c8-rqwp-cp95", "fix_versions": ["3.1.3"], "aliases": ["CVE-2024-22195"],
     "description": "xmlattr filter allows keys with spaces"}]}
UNFIXED = {"name": "ecdsa", "version": "0.19.0", "vulns": [
    {"id": "GHSA-wj6h-64fc-37mp", "fix_versions": [], "aliases": ["CVE-2024-23342"],
     "description": "Minerva timing attack"}]}
NOT_AUDITED = {"name": "alembic", "skip_reason": "Dependency not found on PyPI and could "
                                                "not be audited: alembic (1.20.1)"}


def test_a_vulnerability_with_a_fix_fails(audit: ModuleType) -> None:
    verdict = audit.judge(_report(CLEAN, FIXABLE, UNFIXED))
    assert verdict.exit_code == 1
    text = "\n".join(verdict.lines)
    assert "jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 (CVE-2024-22195) -- fixed in 3.1.3" in text
    assert "WARNING (no fix available): ecdsa" in text
    assert "FAILED" in verdict.lines[-1]


def test_a_vulnerability_without_a_fix_warns_only(audit: ModuleType) -> None:
    verdict = audit.judge(_report(CLEAN, UNFIXED))
    assert verdict.exit_code == 0
    assert any("WARNING" in line and "ecdsa" in line for line in verdict.lines)
    assert verdict.lines[-1].startswith("dependency audit OK")


def test_clean_report_passes_and_counts(audit: ModuleType) -> None:
    verdict = audit.judge(_report(CLEAN, NOT_AUDITED))
    assert verdict.exit_code == 0
    assert verdict.lines[0] == "dependency audit: 1 audited, 1 not audited"


@pytest.mark.parametrize("stdout", ["", "Traceback (most recent call last):", "[]", "{}"])
def test_no_report_is_skipped_not_failed(audit: ModuleType, stdout: str) -> None:
    verdict = audit.judge(stdout, "ConnectionError: connection refused\n")
    assert verdict.exit_code == 0
    assert verdict.lines[0].startswith("dependency audit SKIPPED")


def test_a_service_that_answered_for_nothing_is_skipped(audit: ModuleType) -> None:
    verdict = audit.judge(_report(NOT_AUDITED, {**NOT_AUDITED, "name": "anyio"}))
    assert verdict.exit_code == 0
    assert verdict.lines == ["dependency audit SKIPPED: the vulnerability service answered "
                             "for none of the 2 dependencies (unreachable from here?)"]
