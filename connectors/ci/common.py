"""What GitHub and GitLab CI objects have in common: phases, "did it run", attributes.

Every CI event carries ``attributes["ran"]`` (a bool) and ``attributes["phase"]``:

* ``started``  -- it is executing now (GitHub ``in_progress``, GitLab ``running``);
* ``finished`` -- it executed and ended (success, failure, or cancelled *after* it began);
* ``not_run``  -- it ended without ever executing: skipped, a manual job nobody played,
  cancelled before it began, blocked on an approval that never came, a workflow that
  failed to start. ``ran`` is ``False`` for these and only these.

A job that targets an environment is a ``deploy`` only if it ran; one that never ran
is stored as a ``job`` (still with its environment), so it is on the timeline ("the
production deploy was skipped") but never looks like a change. Waiting, queued,
created and pending objects are not reported at all: nothing has happened yet, and
"started" would be a lie (GitHub's ``waiting`` is a job held for an approval).

``not_run`` has its own dedup key, distinct from ``started``/``finished``: a manual job
skipped in one hook and played later still gets its real start and finish stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from storage.models import EventKind, Severity
from storage.times import read_time, time_settings

STARTED, FINISHED, NOT_RUN = "started", "finished", "not_run"
PHASES = (STARTED, FINISHED, NOT_RUN)

FAILED = frozenset({"failure", "timed_out", "startup_failure", "error"})
CONCLUSION_SEVERITY = {
    "success": Severity.INFO, "neutral": Severity.INFO, "skipped": Severity.INFO,
    "cancelled": Severity.LOW, "action_required": Severity.MEDIUM, "stale": Severity.LOW,
    "manual": Severity.INFO,
}


_ZONED = time_settings(zone=None)
"""CI providers always say the zone (``Z``, ``+0200``, `` UTC``): a time without one is
an error (DLQ), never read in a guessed zone."""


def ci_time(value: str | None) -> datetime | None:
    """A GitHub or GitLab time in UTC, through the one time module (``None`` if absent)."""
    if not value:
        return None
    return read_time(value, _ZONED, datetime.now(UTC)).utc


def severity_of(conclusion: str | None) -> Severity:
    """Failures are high; cancellations low; anything else informational."""
    if conclusion in FAILED:
        return Severity.HIGH
    return CONCLUSION_SEVERITY.get(conclusion or "", Severity.INFO)


def job_kind(environment: str | None, phase: str) -> EventKind:
    """A job that deploys to an environment is a deploy -- if it ran."""
    return EventKind.DEPLOY if environment and phase != NOT_RUN else EventKind.JOB


def verb(phase: str, result: str | None) -> str:
    """The word a title ends with: ``started``, the result, or ``not run (<why>)``."""
    if phase == STARTED:
        return "started"
    if phase == NOT_RUN:
        return f"not run ({result})" if result else "not run"
    return result or "finished"


def ci_attributes(**fields: Any) -> dict[str, Any]:
    """Attributes with the OpenTelemetry CICD names alongside ours (None dropped).

    ``ran`` is derived from ``phase`` here, once, so no parser can disagree with it.
    """
    out = {k: v for k, v in fields.items() if v is not None}
    if "phase" in out:
        out["ran"] = out["phase"] != NOT_RUN
    if "pipeline" in out:
        out["cicd.pipeline.name"] = out["pipeline"]
    if "run_id" in out:
        out["cicd.pipeline.run.id"] = out["run_id"]
    if "result" in out:
        out["cicd.pipeline.result"] = out["result"]
    if "environment" in out:
        out["deployment.environment.name"] = out["environment"]
    return out


def service_of(path: str) -> str:
    """The service a repository or project path stands for: its last segment."""
    return path.rstrip("/").rsplit("/", 1)[-1]
