"""The postmortem draft: the usual sections in order, filled from the store (confirmed root
cause, suspects, the pattern new since the change, an ``action:`` note as an action item),
and the same text from ``workbench report --format postmortem`` and the API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from storage import EventKind, NewEvent, Severity, Source, Store
from storage.lookups import event_ids_by_key
from tests.api.conftest import start_api, stop_api
from tests.export.conftest import NOW, seeded
from workbench.export.postmortem import postmortem
from workbench.patterns.mine import mine_all

SECTIONS = ["## Summary", "## Impact", "## Timeline (UTC)", "## Root cause",
            "## What went well", "## What went badly", "## Action items"]


def test_postmortem_sections_and_facts(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    store = Store.open(db)
    running = start_api(store)
    try:
        inv_id = seeded(store)
        store.ingest([NewEvent(source=Source.MANUAL, kind=EventKind.NOTE, severity=Severity.INFO,
                               occurred_at=NOW, title="action: alert on pool saturation \x1b[2J",
                               dedup_key="note:action")])
        with store.read() as session:
            note_id = event_ids_by_key(session=session, keys=[("manual", "note:action")])[
                ("manual", "note:action")]
        store.link_events(inv_id, [note_id])
        mine_all(store)
        text = postmortem(store, inv_id, now=NOW)
        served = running.client("viewer").get(f"/api/investigations/{inv_id}/export",
                                              params={"format": "postmortem"})
    finally:
        stop_api(running)
        store.close()
    positions = [text.index(s) for s in SECTIONS]
    assert positions == sorted(positions)
    root = text.split("## Root cause", 1)[1].split("##", 1)[0]
    assert "**confirmed**" in root and "PoolTimeout" in root
    assert "- [ ] alert on pool saturation \u241b" in text and "\x1b" not in text
    assert served.status_code == 200 and served.headers["content-type"].startswith(
        "text/markdown")
    assert "## Action items" in served.text
    run = subprocess.run([sys.executable, "-m", "workbench", "--db", str(db), "report",
                          "--format", "postmortem", str(inv_id)], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.startswith(f"# Postmortem: #{inv_id} ")
