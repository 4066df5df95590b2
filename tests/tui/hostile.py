"""The hostile-text corpus: what a log line, commit message or API field might carry."""

from __future__ import annotations

from datetime import timedelta

from storage import Store
from storage.models import (
    EventKind,
    LinkReason,
    NewDeadLetter,
    NewEvent,
    NewInvestigation,
    Severity,
    Source,
)
from tests.tui.conftest import NOW

CORPUS: dict[str, str] = {
    "osc0_title": "\x1b]0;PWNEDTITLE\x07",
    "osc2_title_st": "\x1b]2;PWNEDTITLE2\x1b\\",
    "osc8_link": "\x1b]8;;http://evil.example/\x1b\\click me\x1b]8;;\x1b\\",
    "osc52_clipboard": "\x1b]52;c;cm0gLXJmIC8K\x07",
    "csi_clear": "\x1b[2J\x1b[H",
    "csi_move": "\x1b[10;10Hmoved\x1b[5A",
    "alt_screen": "\x1b[?1049h",
    "blink_sgr": "\x1b[5mblink\x1b[0m",
    "c1_csi": "\x9b31mred via C1",
    "c1_osc": "\x9d0;C1TITLE\x9c",
    "dcs": "\x1bPq#0;2;0;0;0#1;2;100;100;0\x1b\\",
    "bare_cr": "innocent\rEVIL-OVERWRITE",
    "backspace": "rm -rf /\x08\x08\x08\x08\x08\x08\x08ls -la",
    "bel": "ding\x07ding",
    "bidi": "access_level = \u202euser\u2066 // admin\u2069",
    "markup_link": "[link=http://evil.example]click[/link]",
    "markup_click": "[@click=app.quit]quit[/]",
    "markup_bold": "[b]bold?[/b] [red]red?[/red]",
    "markup_unbalanced": "[/x] closing nothing [bold",
    "surrogate": "lone \ud800 surrogate",
}
PAYLOAD = " | ".join(f"{name}: {value}" for name, value in CORPUS.items())
EVIL_MARKERS = (b"\x1b]0;", b"\x1b]2;", b"\x1b]8;", b"\x1b]52;", b"\x1bP", b"\x07",
                b"\x1b[5m", b"\x1b[2J", b"\x1b[10;10H", b"\x1b[5A")
"""Sequences the corpus carries; none may reach the terminal (Textual itself emits none
of these while drawing these screens, which the benign baseline run checks)."""


def seed_hostile(store: Store) -> int:
    """An investigation, events and a dead letter whose every text field is hostile."""
    t0 = NOW - timedelta(minutes=30)
    attrs = {name: value for name, value in CORPUS.items() if name != "surrogate"}
    attrs["exception.stacktrace"] = "Traceback:\n  " + PAYLOAD.replace("\ud800", "?")
    text = PAYLOAD.replace("\ud800", "?")  # the store keeps valid UTF-8 only
    events = [NewEvent(source=source, kind=kind, severity=severity,
                       occurred_at=t0 + timedelta(minutes=i), title=f"{source.value} {text}",
                       body=text, service="svc\x1b]0;PWNED\x07", host="h\x9b2J",
                       trace_id="t\x1b[2J", commit_sha="abc\x1b]8;;x\x1b\\",
                       url="http://x/\x1b]52;c;AAAA\x07", attributes=attrs,
                       tags=("[b]tag[/b]",), dedup_key=f"hostile-{i}")
              for i, (source, kind, severity) in enumerate([
                  (Source.LOGS, EventKind.LOG, Severity.HIGH),
                  (Source.GIT, EventKind.COMMIT, Severity.INFO),
                  (Source.CI, EventKind.DEPLOY, Severity.LOW),
                  (Source.METRICS, EventKind.ANOMALY, Severity.CRITICAL),
                  (Source.TRACES, EventKind.SPAN_ERROR, Severity.HIGH),
                  (Source.MANUAL, EventKind.NOTE, Severity.INFO)])]
    store.ingest(events, dead_letters_=[NewDeadLetter(
        connector="logs\x1b]0;PWNED\x07", payload=PAYLOAD.encode("utf-8", "replace"),
        error_class="Poison[b]Error[/b]", message=text[:8000], source_ref=text[:2000])])
    inv = store.create_investigation(NewInvestigation(
        title="hostile " + text[:1500], summary=text, severity=Severity.CRITICAL,
        services=("svc\x1b[2J", "[@click=app.quit]"), owner="\x1b]0;owner\x07",
        business_impact=text, root_cause=text, impact_started_at=t0,
        tags=("[link=http://evil]",), metadata={"k": text}))
    ids = [e.id for e in store.list_events(
        __import__("storage.queries", fromlist=["EventQuery"]).EventQuery(limit=50)).items]
    store.link_events(inv.id, ids, reason=LinkReason.RULE, rule="[b]rule[/b]",
                      key="\x1b]8;;http://evil\x1b\\", window_seconds=600)
    return inv.id
