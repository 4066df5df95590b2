"""Bundles move an investigation between real stores: SQLite to SQLite, SQLite to
PostgreSQL and back, twice; what arrives is what left, a second import adds nothing,
and a tampered bundle is refused naming the section whose checksum fails."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from storage import InvestigationQuery, Store, audit
from storage.verdicts import list_verdicts
from tests.conftest import PG_URL, _pg_database
from tests.export.conftest import seeded
from workbench.export.bundle import build_bundle
from workbench.export.load import BundleError, import_bundle


def portrait(store: Store, inv_id: int) -> dict[str, Any]:
    """Everything a bundle must carry, with store-specific ids replaced by dedup keys."""
    inv = store.get_investigation(inv_id)
    linked = store.investigation_events(inv_id)
    refs = {item.event.id: (item.event.source.value, item.event.dedup_key) for item in linked}
    with store.read() as session:
        from storage.events import get_events

        judged = list_verdicts(session=session, investigation_id=inv_id)
        refs |= {e.id: (e.source.value, e.dedup_key)
                 for e in get_events(session=session, ids=list(judged))}
    return {
        "investigation": inv.model_dump(mode="json", exclude={"id"}),
        "events": sorted((refs[i.event.id], i.event.model_dump(
            mode="json", exclude={"id", "received_at"})) for i in linked),
        "links": sorted((refs[i.event.id], i.link.model_dump(
            mode="json", exclude={"investigation_id", "event_id"})) for i in linked),
        "verdicts": sorted((refs[e], v.model_dump(mode="json", exclude={
            "investigation_id", "event_id"})) for e, v in judged.items()),
    }


def _move(source: Store, inv_id: int, target: Store) -> int:
    data = build_bundle(source, inv_id).document
    first = import_bundle(target, data, actor="test", via="test")
    again = import_bundle(target, data, actor="test", via="test")
    assert again.investigation_id == first.investigation_id and not again.created
    assert (again.events_stored, again.links_added, again.verdicts_added) == (0, 0, 0)
    assert again.conflicts == []
    return first.investigation_id


@pytest.fixture
def pg_url() -> Iterator[str]:
    if PG_URL is None:
        pytest.skip("WORKBENCH_TEST_PG_URL is not set")
    yield from _pg_database()


def test_sqlite_to_sqlite_and_back_twice(tmp_path: Path) -> None:
    a, b = Store.open(tmp_path / "a.db"), Store.open(tmp_path / "b.db")
    try:
        inv_id = seeded(a)
        before = portrait(a, inv_id)
        assert len(before["verdicts"]) == 2 and any(
            link["note"] == "the why" for _, link in before["links"])
        moved = _move(a, inv_id, b)
        assert portrait(b, moved) == before
        with b.read() as session:  # two imports, one change: one audit row
            rows = [e for e in audit.list_entries(session=session)
                    if e.action == "investigation.import"]
        assert len(rows) == 1 and rows[0].detail["created"] is True
        assert _move(b, moved, a) == inv_id  # back home: recognised, nothing added
        assert portrait(a, inv_id) == before
        counts = a.list_investigations(InvestigationQuery())
        assert [i.id for i in counts.items] == [inv_id]
    finally:
        a.close()
        b.close()


@pytest.mark.postgres
def test_sqlite_to_postgresql_and_back_twice(tmp_path: Path, pg_url: str) -> None:
    a, pg = Store.open(tmp_path / "a.db"), Store.open(pg_url)
    c = Store.open(tmp_path / "c.db")
    try:
        inv_id = seeded(a)
        before = portrait(a, inv_id)
        on_pg = _move(a, inv_id, pg)
        assert portrait(pg, on_pg) == before
        on_c = _move(pg, on_pg, c)  # onward to a third store: same origin, same content
        assert portrait(c, on_c) == before
        assert _move(pg, on_pg, a) == inv_id
        assert portrait(a, inv_id) == before
    finally:
        a.close()
        pg.close()
        c.close()


def _tamper(data: bytes, section: str) -> bytes:
    document = orjson.loads(data)
    if section == "events":
        document["events"][0]["title"] += " (edited)"
    elif section == "links":
        document["links"][0]["note"] = "planted"
    elif section == "verdicts":
        document["verdicts"][0]["verdict"] = "confirmed"
    else:
        document["investigation"]["record"]["root_cause"] = "someone else"
    return orjson.dumps(document)


@pytest.mark.parametrize("section", ["investigation", "events", "links", "verdicts"])
def test_a_tampered_bundle_is_refused_naming_the_section(tmp_path: Path, section: str) -> None:
    a, b = Store.open(tmp_path / "a.db"), Store.open(tmp_path / "b.db")
    try:
        data = build_bundle(a, seeded(a)).document
        with pytest.raises(BundleError, match=f"checksum of section '{section}'"):
            import_bundle(b, _tamper(data, section), actor="test", via="test")
        assert b.list_investigations(InvestigationQuery()).items == []
        assert b.count_events("source") == {}
    finally:
        a.close()
        b.close()


def test_not_a_bundle(tmp_path: Path) -> None:
    b = Store.open(tmp_path / "b.db")
    try:
        for data, message in ((b"{", "invalid JSON"), (b"[]", "no manifest"),
                              (b'{"manifest": {"format": "x"}}', "not a workbench-bundle")):
            with pytest.raises(BundleError, match=message):
                import_bundle(b, data, actor="test", via="test")
    finally:
        b.close()


def test_a_changed_investigation_reports_conflicts_and_keeps_local_values(
        tmp_path: Path) -> None:
    a, b = Store.open(tmp_path / "a.db"), Store.open(tmp_path / "b.db")
    try:
        inv_id = seeded(a)
        data = build_bundle(a, inv_id).document
        moved = import_bundle(b, data, actor="test", via="test").investigation_id
        b.update_investigation(moved, {"owner": "carol"})
        again = import_bundle(b, data, actor="test", via="test")
        assert again.conflicts and "owner" in again.conflicts[0]
        assert b.get_investigation(moved).owner == "carol"
    finally:
        a.close()
        b.close()
