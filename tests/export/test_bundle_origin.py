"""Bundle origins name the store (issue 16): an investigation of another store with the
same id and creation time is not taken for one of this store's own coming home; a
bundle of this store's own investigation still is, with the new key and with a key
written before stores had an id."""

from __future__ import annotations

from pathlib import Path

import orjson

from storage import NewInvestigation, Store, origins
from workbench.export.bundle import build_bundle
from workbench.export.load import import_bundle


def test_a_twin_from_another_store_is_imported_not_matched(tmp_path: Path) -> None:
    a, b = Store.open(tmp_path / "a.db"), Store.open(tmp_path / "b.db")
    try:
        theirs = a.create_investigation(NewInvestigation(title="in A"))
        ours = b.create_investigation(NewInvestigation(title="in B"))
        assert theirs.id == ours.id
        with b.write() as session:  # the same id, created in the same microsecond
            origins.restore_times(session=session, investigation_id=ours.id,
                                  created_at=theirs.created_at, updated_at=theirs.updated_at)
        with a.read() as sa, b.read() as sb:
            assert origins.store_id(session=sa) != origins.store_id(session=sb)
        result = import_bundle(b, build_bundle(a, theirs.id).document, actor="t", via="t")
        assert result.created and result.investigation_id != ours.id
        assert b.get_investigation(ours.id).title == "in B"
        assert b.get_investigation(result.investigation_id).title == "in A"
    finally:
        a.close()
        b.close()


def test_own_investigations_come_home_with_new_and_old_keys(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.db")
    try:
        inv = store.create_investigation(NewInvestigation(title="home"))
        document = build_bundle(store, inv.id).document
        origin = orjson.loads(document)["investigation"]["origin"]
        with store.read() as session:
            assert origin.startswith(origins.store_id(session=session) + "/")
            assert origins.local_match(session=session, origin=origin) == inv.id
            legacy = origin.split("/", 1)[1]  # as bundles were written before the store id
            assert origins.local_match(session=session, origin=legacy) == inv.id
            assert origins.local_match(session=session, origin="0" * 32 + "/" + legacy) is None
        again = import_bundle(store, document, actor="t", via="t")
        assert again.investigation_id == inv.id and not again.created
    finally:
        store.close()
