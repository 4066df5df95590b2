"""``workbench group --dry-run`` and ``GET /api/grouping/preview`` show what the grouper
would do and change nothing (the store's content hash is the same before and after);
what they show is exactly what the real pass then does."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from storage import InvestigationQuery, Store
from tests.api.conftest import start_api, stop_api
from tests.triage.helpers import alert, store_hash
from workbench.demo import load_demo
from workbench.grouping import GroupingRules, group_all
from workbench.grouping_preview import preview

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _seed(store: Store) -> None:
    load_demo(store, now=T0)
    group_all(store, GroupingRules())  # the demo's own events: nothing left pending
    store.ingest([alert(i, T0 + timedelta(hours=2, minutes=i)) for i in range(3)]
                 + [alert(9, T0 + timedelta(hours=2), service="search")])


def _cli(db: Path, config: Path, *args: str) -> str:
    run = subprocess.run([sys.executable, "-m", "workbench", "--db", str(db), "--config",
                          str(config), "group", *args], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_dry_run_changes_nothing_and_predicts_the_real_pass(tmp_path: Path) -> None:
    db, config = tmp_path / "s.db", tmp_path / "config.toml"
    config.write_text("[grouping]\nauto_open = true\nauto_open_count = 2\n")
    store = Store.open(db)
    try:
        _seed(store)
        before = store_hash(store)
        shown = orjson.loads(_cli(db, config, "--dry-run", "--json"))
        text = _cli(db, config, "--dry-run")
        assert store_hash(store) == before
    finally:
        store.close()
    assert shown["examined"] == 4 and len(shown["open"]) == 1  # payments: 3 alerts >= 2
    assert "would open investigation -1" in text and "nothing was changed" in text
    predicted = {(li["event_id"], li["rule"], li["key"]) for li in shown["link"]}
    assert _cli(db, config).startswith("examined 4 events")
    store = Store.open(db)
    try:
        opened = store.get_investigation(max(i.id for i in store.list_investigations(
            InvestigationQuery()).items))
        made = {(item.event.id, item.link.rule, item.link.key)
                for item in store.investigation_events(opened.id)}
    finally:
        store.close()
    assert made == predicted
    assert opened.services == ("payments",)


def test_api_preview_is_the_same_and_writes_nothing(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    running = start_api(store)
    try:
        _seed(store)
        before = store_hash(store, skip=("api_token",))
        reply = running.client("viewer").get("/api/grouping/preview",
                                             params={"since": "2026-03-01T13:00:00Z"})
        assert reply.status_code == 200
        assert store_hash(store, skip=("api_token",)) == before
        direct = preview(store, GroupingRules(), since=datetime(2026, 3, 1, 13, tzinfo=UTC))
        assert reply.json() == orjson.loads(orjson.dumps(direct.as_json()))
        assert reply.json()["examined"] == 4
        naive = running.client("viewer").get("/api/grouping/preview",
                                             params={"since": "2026-03-01T13:00:00"})
        assert naive.status_code == 422
    finally:
        stop_api(running)
        store.close()
