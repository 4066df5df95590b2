"""Full-text search (hostile input included) and counts, on both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage import EventQuery, Severity, Source, Store
from storage.events import count_series
from storage.search import fts5_query
from tests.storage.conftest import T0, new_event

HOSTILE = ["a-b", '"', '""', "col:x", "*", "NEAR(", "') OR 1=1 --", "title:secret",
           "AND", "OR NOT", "(", ")", "^start", "x*y", "' ; DROP TABLE event; --",
           "\\", "%", "_", "\u202e", "日本語"]


@pytest.fixture
def searchable(store: Store) -> Store:
    store.ingest([
        new_event(1, title="Payment service timeout", body="upstream a-b gateway"),
        new_event(2, title="Disk full on db-1", body="no space left on device"),
        new_event(3, title="Deploy of checkout", attributes={"commit": "deadbeef",
                                                             "note": "col:x marker"}),
        new_event(4, title="timeout again", body="payment retries exhausted"),
        new_event(5, title="Quoted \"text\" here", body="') OR 1=1 -- in a log line"),
        new_event(6, title="unrelated", body="nothing to see"),
    ])
    return store


def _titles(store: Store, text: str, **kwargs: object) -> set[str]:
    page = store.list_events(EventQuery(text=text, **kwargs))
    return {e.title for e in page.items}


def test_search_title_body_and_attributes(searchable: Store) -> None:
    assert _titles(searchable, "timeout") == {"Payment service timeout", "timeout again"}
    assert _titles(searchable, "space") == {"Disk full on db-1"}
    assert _titles(searchable, "deadbeef") == {"Deploy of checkout"}


def test_all_terms_must_match(searchable: Store) -> None:
    assert _titles(searchable, "payment timeout") == {"Payment service timeout",
                                                      "timeout again"}
    assert _titles(searchable, "payment disk") == set()


def test_phrase_and_prefix(searchable: Store) -> None:
    assert _titles(searchable, '"retries exhausted"') == {"timeout again"}
    assert _titles(searchable, '"exhausted retries"') == set()
    assert _titles(searchable, "time*") == {"Payment service timeout", "timeout again"}
    assert _titles(searchable, "time* retr*") == {"timeout again"}
    assert _titles(searchable, "time") == set()


def test_search_combines_with_filters(searchable: Store) -> None:
    assert _titles(searchable, "timeout", start=T0 + timedelta(minutes=3)) == {"timeout again"}


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_query_text_never_errors(searchable: Store, text: str) -> None:
    page = searchable.list_events(EventQuery(text=text))
    assert all(e.title for e in page.items)
    assert searchable.count_events("source", EventQuery(text=text)) is not None


def test_hostile_text_searches_for_itself(searchable: Store) -> None:
    assert _titles(searchable, "a-b") == {"Payment service timeout"}
    assert _titles(searchable, "col:x") == {"Deploy of checkout"}
    assert "Quoted \"text\" here" in _titles(searchable, "') OR 1=1 --")
    # The injection attempt did not widen the result set.
    assert len(_titles(searchable, "') OR 1=1 --")) == 1


def test_blank_text_means_no_text_filter(searchable: Store) -> None:
    assert len(searchable.list_events(EventQuery(text="   ")).items) == 6


@pytest.mark.parametrize(
    ("text", "expected"),
    [("a-b", '"a-b"'), ('say "hi there"', '"say" "hi there"'), ("pre*", '"pre"*'),
     ("*", None), ('a"b', '"a""b"'), ("NEAR(", '"NEAR("'), ("", None)],
)
def test_fts5_query_quotes_every_term(text: str, expected: str | None) -> None:
    assert fts5_query(text) == expected


@pytest.fixture
def counted(store: Store) -> Store:
    events = []
    for n in range(60):
        events.append(new_event(
            n, source=(Source.LOGS, Source.GIT, Source.CI)[n % 3],
            severity=(Severity.INFO, Severity.HIGH)[n % 2],
            service=("api", "db", None)[n % 3 if n < 30 else 0],
            occurred_at=T0 + timedelta(minutes=n),
        ))
    store.ingest(events)
    return store


def test_counts_by_source_severity_service(counted: Store) -> None:
    assert counted.count_events("source") == {"logs": 20, "git": 20, "ci": 20}
    assert counted.count_events("severity") == {"info": 30, "high": 30}
    assert counted.count_events("service") == {"api": 40, "db": 10, "": 10}


def test_counts_over_a_window(counted: Store) -> None:
    window = EventQuery(start=T0, end=T0 + timedelta(minutes=30))
    assert counted.count_events("service", window) == {"api": 10, "db": 10, "": 10}
    narrow = EventQuery(start=T0 + timedelta(minutes=30), end=T0 + timedelta(minutes=33),
                        min_severity=Severity.HIGH)
    # Minutes 30..32; only 31 is high (odd), and 31 % 3 == 1 is git.
    assert counted.count_events("source", narrow) == {"git": 1}


def test_bucketed_counts(counted: Store) -> None:
    query = EventQuery(start=T0, end=T0 + timedelta(minutes=60))
    with counted.read() as session:
        series = count_series(session=session, by="severity", bucket_seconds=900, query=query)
    expected: dict[tuple[datetime, str], int] = {}
    for n in range(60):
        key = (T0 + timedelta(minutes=15 * (n // 15)), ("info", "high")[n % 2])
        expected[key] = expected.get(key, 0) + 1
    assert sorted(series) == sorted((start, sev, n) for (start, sev), n in expected.items())
    assert [s for s, _, _ in series] == sorted(s for s, _, _ in series)  # time order
    totals: dict[str, int] = {}
    for start, severity, n in series:
        assert start.tzinfo is not None and start >= T0
        assert (start - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() % 900 == 0
        totals[severity] = totals.get(severity, 0) + n
    assert totals == {"info": 30, "high": 30}
    assert len({s for s, _, _ in series}) == 4


def test_bucket_seconds_must_be_positive(counted: Store) -> None:
    with counted.read() as session, pytest.raises(ValueError):
        count_series(session=session, by="source", bucket_seconds=0, query=EventQuery())
