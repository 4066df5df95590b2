"""Grouping by indexed keys: same links as the rules over every linked event, on both engines.

The reference below is the rules' definition applied the slow way (every open
investigation's context rebuilt from all its linked events before each batch, as
grouping used to do); the indexed pass must produce exactly the same links.
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from storage import EventKind, NewEvent, NewInvestigation, Severity, Source, Store
from storage import investigations as inv_repo
from storage.models import InvestigationStatus
from storage.queries import InvestigationQuery
from storage.tables import EventRow, InvestigationGroupingRow, InvestigationKeyRow
from workbench.grouping import Context, GroupingRules, group_all, match

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SERVICES = ("checkout", "payments", "search", "auth")


def _random_events(rng: random.Random, count: int, start: int) -> list[NewEvent]:
    out = []
    for n in range(start, start + count):
        kind = rng.choice([EventKind.LOG, EventKind.LOG, EventKind.ALERT, EventKind.SPAN_ERROR,
                           EventKind.COMMIT])
        fingerprint = f"fp-{rng.randrange(6)}" if kind is EventKind.ALERT else None
        attributes = {"fingerprint": fingerprint, "starts_at": "2026-11-28T12:00:00Z"} \
            if fingerprint else {}
        out.append(NewEvent(
            source=Source.METRICS if kind is EventKind.ALERT else Source.LOGS, kind=kind,
            severity=rng.choice(list(Severity)), title=f"event {n}",
            occurred_at=T0 + timedelta(minutes=n * rng.uniform(0.1, 2)),
            service=rng.choice(SERVICES), trace_id=rng.choice([None, None, f"t-{n % 17}"]),
            attributes=attributes, dedup_key=f"e{n}"))
    return out


def _reference(store: Store, rules: GroupingRules) -> set[tuple[int, int, str]]:
    """The rules over full contexts, one event at a time, from scratch (no auto-open)."""
    with store.read() as session:
        events = [store.get_event(i) for i in session.scalars(select(EventRow.id)
                                                              .order_by(EventRow.id))]
    invs = store.list_investigations(InvestigationQuery(limit=500)).items
    contexts = [Context(i.id, set(i.services)) for i in invs
                if i.status is not InvestigationStatus.RESOLVED]
    seeded = {(c.investigation_id, e.event.id) for c in contexts
              for e in store.investigation_events(c.investigation_id)
              if e.link.reason.value == "manual"}
    links: set[tuple[int, int, str]] = set()
    for context in contexts:
        for item in store.investigation_events(context.investigation_id):
            if (context.investigation_id, item.event.id) in seeded:
                context.absorb(item.event)
    for event in events:
        matches = [m for c in contexts if (m := match(event, c, rules))]
        for m in matches:
            if (m.investigation_id, event.id) not in seeded:
                links.add((m.investigation_id, event.id, m.rule))
            next(c for c in contexts if c.investigation_id == m.investigation_id).absorb(event)
    return links


@pytest.mark.parametrize("seed", [1, 2])
def test_indexed_pass_links_exactly_what_the_rules_say(store: Store, seed: int) -> None:
    rng = random.Random(seed)
    store.ingest(_random_events(rng, 40, 0))
    for n, service in enumerate(SERVICES[:3]):
        inv = store.create_investigation(NewInvestigation(title=f"inv {n}", services=(service,)))
        store.link_events(inv.id, rng.sample(range(1, 41), 3))
    store.ingest(_random_events(rng, 400, 40))
    rules = GroupingRules(window=timedelta(minutes=20))
    expected = _reference(store, rules)
    from workbench.grouping import group_once

    while group_once(store, rules, batch_size=37).examined:  # batches cut across matches
        pass
    with store.read() as session:
        got = {(i.id, item.event.id, item.link.rule or "")
               for i in store.list_investigations(InvestigationQuery()).items
               for item in inv_repo.investigation_events(session=session, investigation_id=i.id)
               if item.link.reason.value == "rule"}
    assert got == expected and len(expected) > 20


def _alert(n: int, fingerprint: str, starts: str, status: str = "firing") -> NewEvent:
    return NewEvent(source=Source.METRICS, kind=EventKind.ALERT, title=f"alert {n}",
                    severity=Severity.CRITICAL if status == "firing" else Severity.INFO,
                    occurred_at=T0 + timedelta(minutes=n), service=f"svc-{fingerprint}",
                    attributes={"fingerprint": fingerprint, "starts_at": starts,
                                "status": status},
                    dedup_key=f"am:{fingerprint}:{status}:{starts}:{n}")


def test_one_investigation_per_alert_episode_even_after_it_was_resolved(store: Store) -> None:
    rules = GroupingRules(auto_open=True)
    store.ingest([_alert(0, "fp", "2026-11-28T12:00:00Z")])
    assert group_all(store, rules).opened == 1
    first = store.list_investigations(InvestigationQuery()).items[0]
    store.set_status(first.id, InvestigationStatus.RESOLVED)
    # The same episode again (another receiver's copy, with nanoseconds) and a new one.
    store.ingest([_alert(1, "fp", "2026-11-28T12:00:00.000000000Z"),
                  _alert(2, "fp", "2026-11-28T13:00:00Z")])
    assert group_all(store, rules).opened == 1
    with store.read() as session:
        keys = {k: i for k, i in session.execute(
            select(InvestigationGroupingRow.auto_key, InvestigationGroupingRow.investigation_id)
            .where(InvestigationGroupingRow.auto_key.is_not(None)))}
    assert len(keys) == 2 and keys["alert:fp@2026-11-28T12:00:00.000+00:00"] == first.id
    assert {e.event.title for e in store.investigation_events(first.id)} == \
        {"alert 0", "alert 1"}


def test_the_database_refuses_a_second_investigation_for_one_episode(store: Store) -> None:
    from sqlalchemy.exc import IntegrityError

    from storage.grouping_keys import mark_auto_opened

    with store.write() as session:
        inv = inv_repo.create_investigation(session=session, new=NewInvestigation(title="a"))
        mark_auto_opened(session=session, investigation_id=inv.id, auto_key="alert:x@t")
    with pytest.raises(IntegrityError), store.write() as session:
        other = inv_repo.create_investigation(session=session, new=NewInvestigation(title="b"))
        mark_auto_opened(session=session, investigation_id=other.id, auto_key="alert:x@t")


def test_concurrent_passes_open_one_investigation_per_episode(store: Store) -> None:
    """Two groupers without leases (the worst case): the unique key and retries hold."""
    store.ingest([_alert(n, f"fp-{n % 10}", "2026-11-28T12:00:00Z") for n in range(200)])
    rules = GroupingRules(auto_open=True)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            group_all(store, rules)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(store.list_investigations(InvestigationQuery()).items) == 10


def test_unlink_forgets_the_keys_only_that_event_carried(store: Store) -> None:
    store.ingest([NewEvent(source=Source.LOGS, kind=EventKind.LOG, severity=Severity.HIGH,
                           title=f"e{n}", occurred_at=T0 + timedelta(minutes=n),
                           service="checkout", trace_id=f"t-{n}", dedup_key=f"k{n}")
                  for n in range(3)])
    inv = store.create_investigation(NewInvestigation(title="x"))
    store.link_events(inv.id, [1, 2, 3])
    store.unlink_event(inv.id, 3)
    with store.read() as session:
        keys = set(session.execute(select(InvestigationKeyRow.kind, InvestigationKeyRow.key)))
        last = session.scalar(select(func.max(InvestigationGroupingRow.last_event_at)))
    assert keys == {("trace", "t-0"), ("trace", "t-1"), ("service", "checkout")}
    assert last == T0 + timedelta(minutes=1)


def test_group_command_defers_to_the_instance_holding_the_lease(
        store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from storage.leases import Holder, claim, release
    from workbench.cli.main import main
    from workbench.grouping import LEASE

    store = Store.open(store_url)
    try:
        store.ingest([_alert(0, "fp", "2026-11-28T12:00:00Z")])
        serve = Holder("d" * 32, "bastion-b", 7)
        with store.write() as session:
            claim(session=session, names=[LEASE], holder=serve, ttl=timedelta(minutes=1))
        assert main(["--db", store_url, "group", "--auto-open"]) == 0
        assert "another instance" in capsys.readouterr().out
        with store.write() as session:
            release(session=session, names=[LEASE], holder=serve)
        assert main(["--db", store_url, "group", "--auto-open"]) == 0
        assert "examined 1 events: 0 linked, 1 investigations opened" in capsys.readouterr().out
    finally:
        store.close()
