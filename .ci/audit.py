"""Audit the installed dependencies for known vulnerabilities (pip-audit), with a policy.

- A known vulnerability that has a fixed version: FAIL (exit 1), naming the package,
  the advisory and the versions that fix it. Upgrading is the fix.
- A known vulnerability with no fix yet: printed as a warning, CI goes on (there is
  nothing to upgrade to; the advisory is in the log for a person to judge).
- The vulnerability service cannot be reached (no network, or it answered for no
  dependency): SKIPPED, said loudly, exit 0 -- an audit that could not run is not a
  pass, and not a reason to block every change either.

Run by ``.ci/run`` as ``.venv/bin/python .ci/audit.py``; the policy is
:func:`judge`, unit-tested in ``tests/test_ci_audit.py`` on recorded reports.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

COMMAND = [sys.executable, "-m", "pip_audit", "--format", "json", "--progress-spinner",
           "off", "--skip-editable"]


@dataclass
class Verdict:
    """What the audit means for CI: an exit code and the lines to print."""

    exit_code: int
    lines: list[str] = field(default_factory=list)


def _vulnerable(dependencies: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    fixable, unfixed = [], []
    for dep in dependencies:
        for vuln in dep.get("vulns", []):
            name = f"{dep['name']} {dep.get('version', '?')}: {vuln.get('id', '?')}"
            aliases = ", ".join(vuln.get("aliases", []))
            label = f"{name} ({aliases})" if aliases else name
            fixes = vuln.get("fix_versions") or []
            if fixes:
                fixable.append(f"{label} -- fixed in {', '.join(fixes)}")
            else:
                unfixed.append(f"{label} -- no fixed version yet")
    return fixable, unfixed


def judge(stdout: str, stderr: str = "") -> Verdict:
    """The verdict on one ``pip-audit --format json`` run."""
    try:
        report = json.loads(stdout)
        dependencies: list[dict[str, Any]] = report["dependencies"]
    except (ValueError, KeyError, TypeError):
        tail = " | ".join(stderr.strip().splitlines()[-3:]) or "no output"
        return Verdict(0, [f"dependency audit SKIPPED: pip-audit gave no report ({tail})"])
    audited = [d for d in dependencies if "skip_reason" not in d]
    skipped = len(dependencies) - len(audited)
    if not audited:
        return Verdict(0, [f"dependency audit SKIPPED: the vulnerability service answered for "
                           f"none of the {skipped} dependencies (unreachable from here?)"])
    fixable, unfixed = _vulnerable(audited)
    lines = [f"dependency audit: {len(audited)} audited, {skipped} not audited"]
    lines += [f"  WARNING (no fix available): {line}" for line in unfixed]
    if fixable:
        lines += [f"  FAIL (upgrade): {line}" for line in fixable]
        return Verdict(1, [*lines, f"dependency audit FAILED: {len(fixable)} known "
                                   "vulnerabilities have a fixed version"])
    return Verdict(0, [*lines, "dependency audit OK: no known vulnerability with a fix"])


def main() -> int:
    """Run pip-audit on this interpreter's environment and apply the policy."""
    try:
        done = subprocess.run(COMMAND, capture_output=True, text=True, timeout=600,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        verdict = Verdict(0, [f"dependency audit SKIPPED: pip-audit did not run ({exc})"])
    else:
        verdict = judge(done.stdout, done.stderr)
    for line in verdict.lines:
        print(line)  # noqa: T201 - a CI script's output is its report
    return verdict.exit_code


if __name__ == "__main__":
    sys.exit(main())
