"""Retention purge and subject erasure on both engines, through the CLI and ``serve``."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Column, MetaData, String, Table, text

from storage import NewDeadLetter, NewInvestigation, Store, audit
from storage.models import Source, utcnow
from storage.queries import EventQuery
from storage.retention import (
    ERASE_SEARCHED,
    HOLD_TARGET,
    MIN_BATCH,
    erase,
    next_batch,
    purge,
    subject_hash,
    unhandled_by_erase,
)
from storage.tables import EventRow
from tests.storage.conftest import new_event
from workbench.config import ConfigError, parse_config

ROOT = Path(__file__).resolve().parents[2]


def _digest(store: Store) -> str:
    with store.read() as session:
        rows = [tuple(r) for table in ("event", "event_tag", "dead_letter", "audit_log",
                                       "investigation_event")
                for r in session.execute(text(f"SELECT * FROM {table} ORDER BY 1"))]
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def _fill(store: Store) -> tuple[int, list[int]]:
    now = utcnow()
    old = [new_event(n, occurred_at=now - timedelta(days=40, minutes=n),
                     title=f"old log {n}", tags=["t"]) for n in range(5)]
    old_metric = new_event(10, source=Source.METRICS, kind="anomaly",
                           occurred_at=now - timedelta(days=40), title="old metric")
    fresh = new_event(20, occurred_at=now - timedelta(days=1), title="fresh log")
    store.ingest([*old, old_metric, fresh])
    ids = {e.title: e.id for e in store.list_events(EventQuery(limit=100)).items}
    inv = store.create_investigation(NewInvestigation(title="kept evidence"))
    store.link_events(inv.id, [ids["old log 0"]])
    return inv.id, [ids[f"old log {n}"] for n in range(5)]


def test_purge_deletes_old_events_in_batches_and_keeps_linked_ones(store: Store) -> None:
    _, old_ids = _fill(store)
    cutoffs = {"logs": utcnow() - timedelta(days=30)}           # metrics: no retention
    before = _digest(store)
    dry = purge(store, cutoffs, dry_run=True)
    assert (dry.deleted, dry.kept_linked) == ({"logs": 4}, {"logs": 1})
    assert _digest(store) == before, "a dry run changes nothing"
    report = purge(store, cutoffs, batch=2, actor="cli:test")
    assert report.deleted == {"logs": 4} and report.batches == 2
    left = {e.title for e in store.list_events(EventQuery(limit=100)).items}
    assert left == {"old log 0", "old metric", "fresh log"}
    assert not store.list_events(EventQuery(text="old log 3")).items, "FTS forgot them"
    assert [e.title for e in store.list_events(EventQuery(tag="t")).items] == ["old log 0"]
    with store.read() as session:
        rows = audit.list_entries(session=session, action="retention.")
        assert audit.verify(session=session).ok
    assert [r.detail["deleted"] for r in rows] == [2, 2] and rows[0].actor == "cli:test"
    assert purge(store, cutoffs).total == 0


def test_erase_deletes_or_redacts_everything_holding_the_identifier(store: Store) -> None:
    subject = "Jane.Doe@example.com"
    events = [new_event(0, title="login by jane.doe@example.com"),
              new_event(1, title="checkout", attributes={"user": {"email": subject}}),
              new_event(2, title="payment failed", body=f"customer {subject} card declined"),
              new_event(3, title="unrelated")]
    store.ingest(events, dead_letters_=[
        NewDeadLetter(connector="app", payload=f'{{"user": "{subject}"}}'.encode(),
                      error_class="E", message="m"),
        NewDeadLetter(connector="app", payload=b"{}", error_class="E", message="other")])
    ids = {e.title: e.id for e in store.list_events(EventQuery(limit=100)).items}
    inv = store.create_investigation(NewInvestigation(title="payments down"))
    store.link_events(inv.id, [ids["payment failed"]])
    before = _digest(store)
    dry = erase(store, "JANE.DOE@example.com", dry_run=True)
    assert _digest(store) == before
    report = erase(store, "JANE.DOE@example.com", actor="cli:dpo")
    assert (sorted(dry.events_deleted), dry.events_redacted) == \
        (sorted(report.events_deleted), report.events_redacted)
    assert sorted(report.events_deleted) == sorted([ids["login by jane.doe@example.com"],
                                                    ids["checkout"]])
    assert report.events_redacted == [ids["payment failed"]] and len(report.letters_deleted) == 1
    kept = {e.title: e for e in store.list_events(EventQuery(limit=100)).items}
    assert set(kept) == {"payment failed", "unrelated"}
    assert kept["payment failed"].body == "customer [erased] card declined"
    assert not store.list_events(EventQuery(text="jane.doe")).items
    assert [d.message for d in store.list_dead_letters().items] == ["other"]
    with store.read() as session:
        rows = audit.list_entries(session=session, action="privacy.erase")
    dumped = repr([r.model_dump() for r in rows]).lower()
    assert "jane" not in dumped and subject_hash(subject) in dumped
    with pytest.raises(ValueError, match="at least 4"):
        erase(store, "ab")


def test_erase_places_every_column_of_the_row_shape() -> None:
    """Read from the table's metadata: a column added to the event row shape fails here
    until erasure either searches it or says why it keeps it; the check can fail."""
    table = EventRow.__table__
    assert isinstance(table, Table)
    assert unhandled_by_erase([c.key for c in table.columns]) == set()
    wider = table.to_metadata(MetaData())
    wider.append_column(Column("region", String(64)))
    assert unhandled_by_erase([c.key for c in wider.columns]) == {"region"}


def test_erase_redacts_every_searched_column_of_a_linked_event(store: Store) -> None:
    """Every free-text column holds the identifier (tags and attribute keys included):
    each is found, rewritten without it, and the rest of the row is as it was."""
    subject = "jane.doe@example.com"
    event = new_event(0, title=f"login by {subject}", body=f"user {subject} failed",
                      url=f"http://sso.local/u/{subject}", tags=["pager", f"user:{subject}"],
                      attributes={"user": subject, subject: {"seen": [subject, 3]}},
                      host="web-3", trace_id="4bf92f3577b34da6", span_id="00f067aa",
                      commit_sha="0123456789abcdef")
    store.ingest([event])
    [stored] = store.list_events(EventQuery(limit=10)).items
    store.link_events(store.create_investigation(NewInvestigation(title="x")).id, [stored.id])
    report = erase(store, subject.upper())
    assert report.events_redacted == [stored.id] and not report.events_deleted
    after = store.get_event(stored.id)
    assert subject not in repr([getattr(after, name) for name in ERASE_SEARCHED])
    assert after.title == "login by [erased]" and after.url == "http://sso.local/u/[erased]"
    assert after.tags == ("pager", "user:[erased]")
    assert after.attributes == {"user": "[erased]", "[erased]": {"seen": ["[erased]", 3]}}
    unchanged = set(type(stored).model_fields) - set(ERASE_SEARCHED)
    assert {n: getattr(after, n) for n in unchanged} == {n: getattr(stored, n) for n in unchanged}
    assert [e.id for e in store.list_events(EventQuery(tag="user:[erased]")).items] == [stored.id]
    assert not store.list_events(EventQuery(tag=f"user:{subject}")).items
    assert not store.list_events(EventQuery(text="jane.doe")).items
    assert [e.id for e in store.list_events(EventQuery(text="failed")).items] == [stored.id]
    assert erase(store, subject).events_redacted == [], "nothing left to find"


def test_the_retention_table() -> None:
    config = parse_config("[retention]\ndays = 90\nsources = { logs = 14 }\n")
    now = utcnow()
    cutoffs = config.retention.cutoffs(now)
    assert cutoffs["logs"] == now - timedelta(days=14)
    assert cutoffs["git"] == now - timedelta(days=90)
    assert not parse_config("").retention.enabled
    with pytest.raises(ConfigError, match="unknown source"):
        parse_config("[retention]\nsources = { log = 14 }\n")


def _workbench(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workbench", "--db", str(tmp / "wb.db"),
                           "--config", str(tmp / "config.toml"), *args], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True, timeout=120)


def test_cli_purge_and_erase(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[retention]\nsources = { logs = 30 }\n")
    store = Store.open(tmp_path / "wb.db")
    _fill(store)
    store.close()
    dry = _workbench(tmp_path, "purge", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "logs     before" in dry.stdout and "would delete 4, kept 1 linked" in dry.stdout
    done = _workbench(tmp_path, "purge")
    assert done.returncode == 0 and "deleted 4 event(s) in 1 batch(es)" in done.stdout
    erased = _workbench(tmp_path, "erase", "--match", "fresh log")
    assert erased.returncode == 0 and "events deleted: 1:" in erased.stdout
    (tmp_path / "config.toml").write_text("")
    refused = _workbench(tmp_path, "purge")
    assert refused.returncode != 0 and "no retention is configured" in refused.stderr


@pytest.mark.slow
def test_serve_purges_in_the_background(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        "[api]\nenabled = false\n[retention]\ndays = 30\ninterval_minutes = 0.01\n")
    store = Store.open(tmp_path / "wb.db")
    _fill(store)
    store.close()
    process = subprocess.Popen(
        [sys.executable, "-m", "workbench", "--db", str(tmp_path / "wb.db"), "--config",
         str(tmp_path / "config.toml"), "serve"], cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            check = Store.open(tmp_path / "wb.db")
            try:
                left = {e.title for e in check.list_events(EventQuery(limit=100)).items}
            finally:
                check.close()
            if left == {"old log 0", "fresh log"}:
                break
            time.sleep(0.2)
        assert left == {"old log 0", "fresh log"}
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0


def test_an_event_linked_after_the_purge_found_it_stays(store: Store) -> None:
    """The batch is found by a read and deleted by a later write: the delete re-checks
    the link, and the FTS entry of a kept event stays."""
    from storage.retention import _delete_events


    store.ingest([new_event(n, title=f"found {n}") for n in range(3)])
    ids = sorted(e.id for e in store.list_events(EventQuery()).items)
    with store.read() as session:
        rows = session.execute(text("SELECT id, title, body, attributes FROM event "
                                    "ORDER BY id")).all()
    inv = store.create_investigation(NewInvestigation(title="linked meanwhile"))
    store.link_events(inv.id, [ids[1]])
    with store.write() as session:
        gone = _delete_events(session.connection(),
                              [(r[0], r[1], r[2], r[3]) for r in rows], keep_linked=True)
    assert gone == 2
    assert [e.id for e in store.list_events(EventQuery(text="found")).items] == [ids[1]]



def test_the_purge_batch_follows_the_lock_hold() -> None:
    """Halved after a hold over twice the target (not below the minimum), doubled back
    after one under half of it (not above the configured batch), else kept."""
    assert next_batch(250, 3 * HOLD_TARGET, 250) == 125
    assert next_batch(MIN_BATCH, 10 * HOLD_TARGET, 250) == MIN_BATCH
    assert next_batch(100, HOLD_TARGET / 4, 250) == 200
    assert next_batch(200, HOLD_TARGET / 4, 250) == 250
    assert next_batch(120, HOLD_TARGET, 250) == 120
