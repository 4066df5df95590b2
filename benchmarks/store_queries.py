"""Q-1, Q-2, Q-3: hot-path queries on a large store against raw ``sqlite3``.

The anchor runs *the same SQL* the store emitted (captured from the engine, with the
same bound parameters) on a plain ``sqlite3`` connection and fetches the rows as
tuples; the project variant is the repository call returning frozen models, unit of
work included. Each query runs anchor and project back to back (order alternating),
after 20 warm-up queries; latencies are summarised per pass and the medians over
passes are compared.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

from benchmarks.harness import Report, median, percentiles
from benchmarks.store_data import (
    HOT_SERVICE,
    SERVICE_WEIGHTS,
    SERVICES,
    SPAN,
    START,
    TAG,
    TERMS,
)
from storage import EventQuery, Severity, Source, Store
from storage.event_sql import page_sql
from storage.events import _time_key, count_events, count_series, get_event, list_events
from storage.pagination import Cursor, int_value
from storage.search import fts5_query, tsquery_terms

Call = Callable[[Store], Any]


@dataclass
class Case:
    """One query: the repository call, and the SQL it emits (filled on first run)."""

    call: Call
    sql: list[tuple[str, Any]] | None = None
    page: EventQuery | None = None


def page_statement(store: Store, query: EventQuery) -> list[tuple[str, Any]]:
    """The SQL a page runs (it goes to the driver, past SQLAlchemy's events): time-ordered,
    or full-text (SQLite's FTS5 index, PostgreSQL's tsvector)."""
    sqlite = store.dialect == "sqlite"
    fts = fts5_query(query.text) if query.text and sqlite else None
    terms = tsquery_terms(query.text) if query.text and not sqlite else None
    cursor = Cursor.decode(query.cursor, 1 if query.text else 2) if query.cursor else None
    backward = cursor.backward if cursor else False
    key = None if cursor is None else (int_value(cursor.key[0]),) if query.text \
        else _time_key(cursor)
    with store.read() as session:
        return [page_sql(session.connection(), query, key=key,
                         descending=(query.order == "desc") != backward,
                         limit=query.limit + 1, fts_query=fts, ts_terms=terms or None)]


def capture(store: Store, call: Call) -> list[tuple[str, Any]]:
    """The statements ``call`` sends through SQLAlchemy, with their parameters."""
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        if not statement.startswith(("BEGIN", "ROLLBACK", "COMMIT")):
            seen.append((statement, params))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        call(store)
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    return seen


def _raw(conn: sqlite3.Connection, sql: list[tuple[str, Any]]) -> None:
    for statement, params in sql:
        conn.execute(statement, params).fetchall()


Passes = list[dict[str, float]]


def measure(store: Store, conn: sqlite3.Connection, cases: Sequence[Case], passes: int,
            cpu: dict[str, tuple[Passes, Passes]] | None = None,
            name: str = "") -> tuple[Passes, Passes]:
    """Per pass: latency percentiles (seconds) of the anchor and of the project.

    Wall-clock time is what the goals use. If ``cpu`` is given, the same runs are
    also timed with the thread's CPU clock and stored under ``name``: on a loaded
    machine, wall p99 mostly measures the scheduler, CPU time does not.
    """
    for case in cases:
        if case.sql is None:
            page = case.page
            case.sql = page_statement(store, page) if page is not None \
                else capture(store, case.call)
    for case in cases[:20]:  # warm-up
        case.call(store)
        _raw(conn, case.sql or [])
    walls: tuple[Passes, Passes] = ([], [])
    cpus: tuple[Passes, Passes] = ([], [])
    for p in range(passes):
        wall: tuple[list[float], list[float]] = ([], [])
        cpu_t: tuple[list[float], list[float]] = ([], [])
        for i, case in enumerate(cases):
            for which in ((0, 1) if (i + p) % 2 == 0 else (1, 0)):
                start, start_cpu = time.perf_counter(), time.thread_time()
                if which == 0:
                    _raw(conn, case.sql or [])
                else:
                    case.call(store)
                wall[which].append(time.perf_counter() - start)
                cpu_t[which].append(time.thread_time() - start_cpu)
        for which in (0, 1):
            walls[which].append(percentiles(wall[which]))
            cpus[which].append(percentiles(cpu_t[which]))
    if cpu is not None:
        cpu[name] = cpus
    return walls


def _mid(passes: list[dict[str, float]], key: str) -> float:
    return median([p[key] for p in passes])


def _cpu_figures(report: Report, scenario: str, passes: tuple[Passes, Passes]) -> None:
    """CPU-clock percentiles: the load-independent cross-check of the wall figures."""
    anchor, project = passes
    for key in ("p50", "p99"):
        a, p = _mid(anchor, key), _mid(project, key)
        report.figure(scenario, f"cpu {key} store/anchor", "info", p / a, "x",
                      anchor_ms=a * 1e3, store_ms=p * 1e3)


def _page(query: EventQuery) -> Case:
    # The call the TUI and the export make (on SQLite: one statement on the thread's
    # kept connection); ``list_events(session=...)`` inside ``store.read()`` adds the
    # session's unit of work (reported as "Q-1 session path").
    return Case(lambda store: store.list_events(query), page=query)


def _session_page(query: EventQuery) -> Case:
    def call(store: Store) -> Any:
        with store.read() as session:
            return list_events(session=session, query=query)
    return Case(call, page=query)


class Mix:
    """Random but reproducible query parameters over the data set's shape."""

    def __init__(self, total: int, seed: int = 11) -> None:
        self.rng = random.Random(seed)
        self.total = total

    def service(self) -> str:
        return self.rng.choices(SERVICES, weights=SERVICE_WEIGHTS)[0]

    def when(self, fraction: float | None = None) -> Any:
        f = self.rng.random() if fraction is None else fraction
        return START + SPAN * f

    def cursor(self, fraction: float | None = None) -> str:
        f = self.rng.random() if fraction is None else fraction
        key = (self.when(f).isoformat(), max(1, int(self.total * f)))
        return Cursor(key).encode()

    def severity(self) -> Severity:
        return self.rng.choice((Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH))


def q1_cases(mix: Mix, n: int) -> list[Case]:
    """Keyset page: service + minimum severity + cursor, 50 rows."""
    return [_page(EventQuery(services=(mix.service(),), min_severity=mix.severity(),
                                  cursor=mix.cursor(), limit=50)) for _ in range(n)]


def _count(by: str, query: EventQuery) -> Call:
    def call(store: Store) -> Any:
        with store.read() as session:
            return count_events(session=session, by=by, query=query)  # type: ignore[arg-type]
    return call


def _series(query: EventQuery) -> Call:
    def call(store: Store) -> Any:
        with store.read() as session:
            return count_series(session=session, by="source", bucket_seconds=3600, query=query)
    return call


def _get(event_id: int) -> Call:
    def call(store: Store) -> Any:
        with store.read() as session:
            return get_event(session=session, event_id=event_id)
    return call


def q2_scenarios(mix: Mix, n: int, lookups: dict[str, list[str]]) -> dict[str, list[Case]]:
    """Every hot-path query shape of the UI and the API, incl. the worst cases."""
    r = range(n)
    cold = SERVICES[-1]
    hour = timedelta(hours=1)
    return {
        "newest page": [_page(EventQuery(cursor=mix.cursor())) for _ in r],
        "first page": [_page(EventQuery(min_severity=mix.severity())) for _ in r],
        "timeline 1h": [_page(EventQuery(
            services=(mix.service(),), start=(t := mix.when()), end=t + hour, order="asc"))
            for _ in r],
        "hot svc + critical": [_page(EventQuery(
            services=(HOT_SERVICE,), severity=Severity.CRITICAL, cursor=mix.cursor()))
            for _ in r],
        "cold svc + high": [_page(EventQuery(
            services=(cold,), min_severity=Severity.HIGH, cursor=mix.cursor())) for _ in r],
        "deep cursor": [_page(EventQuery(
            services=(mix.service(),), cursor=mix.cursor(mix.rng.uniform(0, 0.01))))
            for _ in r],
        "source + severity": [_page(EventQuery(
            sources=(Source.TRACES,), min_severity=Severity.HIGH, cursor=mix.cursor()))
            for _ in r],
        "environment": [_page(EventQuery(environment="staging", cursor=mix.cursor()))
                        for _ in r],
        "tag": [_page(EventQuery(tag=TAG, cursor=mix.cursor())) for _ in r],
        "trace id": [_page(EventQuery(trace_id=mix.rng.choice(lookups["trace"])))
                     for _ in r],
        "commit sha": [_page(EventQuery(commit_sha=mix.rng.choice(lookups["commit"])))
                       for _ in r],
        "event by id": [Case(_get(mix.rng.randrange(1, mix.total))) for _ in r],
        "count by severity 1h": [Case(_count("severity", EventQuery(
            start=(t := mix.when()), end=t + hour))) for _ in r],
        "count by service 1h": [Case(_count("service", EventQuery(
            start=(t := mix.when()), end=t + hour))) for _ in r],
        "hourly series 24h": [Case(_series(EventQuery(
            start=(t := mix.when(mix.rng.uniform(0, 0.95))), end=t + 24 * hour)))
            for _ in r],
    }


def q3_cases(mix: Mix, n: int) -> dict[str, list[Case]]:
    """Recency-ordered full-text search, 50 rows, per term class (every 4th a page 2)."""
    out: dict[str, list[Case]] = {}
    for name, text in TERMS.items():
        cases = []
        for i in range(n):
            cursor = Cursor((mix.rng.randrange(mix.total // 2, mix.total),)).encode() \
                if i % 4 == 3 else None
            cases.append(_page(EventQuery(text=text, cursor=cursor, limit=50)))
        out[name] = cases
    return out


def lookups(path: Path) -> dict[str, list[str]]:
    """Existing trace ids and commit shas to look up."""
    with sqlite3.connect(path) as conn:
        traces = [r[0] for r in conn.execute(
            "SELECT trace_id FROM event WHERE trace_id IS NOT NULL LIMIT 500")]
        commits = [r[0] for r in conn.execute(
            "SELECT commit_sha FROM event WHERE commit_sha IS NOT NULL LIMIT 500")]
    return {"trace": traces, "commit": commits}


def raw_connection(path: Path) -> sqlite3.Connection:
    """The anchor's connection: read-only, autocommit, same busy timeout."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


def run_queries(report: Report, path: Path, total: int, n: int, passes: int) -> None:
    """Q-1, Q-2 and Q-3 on the SQLite database at ``path``."""
    store = Store.open(path)  # at head already; as every open, it writes the planner stats
    conn = raw_connection(path)
    try:
        _run(report, store, conn, total, n, passes, lookups(path), "")
    finally:
        conn.close()
        store.close()


def run_pg_queries(report: Report, url: str, total: int, n: int, passes: int) -> None:
    """Q-1, Q-2 and Q-3 on a PostgreSQL database (filled to ``total`` events through the
    ingest path if it holds fewer), against raw psycopg running the same SQL.

    Scenarios are named "PG ..."; search there is the tsvector path (general path).
    """
    import psycopg
    from sqlalchemy.engine import make_url

    from benchmarks.store_data import events
    from storage import NewEvent

    store = Store.open(url)
    with store.read() as session:
        have = session.connection().exec_driver_sql("SELECT count(*) FROM event").scalar_one()
    if have < total:
        began = time.perf_counter()
        chunk: list[NewEvent] = []
        for i, new in enumerate(events(total)):
            if i < have:
                continue
            chunk.append(new)
            if len(chunk) == 1000:
                store.ingest(chunk)
                chunk = []
        if chunk:
            store.ingest(chunk)
        with store.write() as session:
            session.connection().exec_driver_sql("ANALYZE")
        report.say(f"filled {url.rsplit('/', 1)[-1]} to {total} events in "
                   f"{time.perf_counter() - began:.1f} s")
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = psycopg.connect(dsn, autocommit=True)
    try:
        found = {
            "trace": [r[0] for r in conn.execute(
                "SELECT trace_id FROM event WHERE trace_id IS NOT NULL LIMIT 500")],
            "commit": [r[0] for r in conn.execute(
                "SELECT commit_sha FROM event WHERE commit_sha IS NOT NULL LIMIT 500")]}
        _run(report, store, conn, total, n, passes, found, "PG ")
    finally:
        conn.close()
        store.close()


def _run(report: Report, store: Store, conn: Any, total: int, n: int, passes: int,
         found: dict[str, list[str]], prefix: str) -> None:
    mix = Mix(total)
    cpu: dict[str, tuple[Passes, Passes]] = {}
    q1 = f"{prefix}Q-1"
    anchor, project = measure(store, conn, q1_cases(mix, n), passes, cpu, q1)
    a50, a99 = _mid(anchor, "p50"), _mid(anchor, "p99")
    p50, p99 = _mid(project, "p50"), _mid(project, "p99")
    for label, value in (("anchor p50", a50), ("anchor p99", a99),
                         ("store p50", p50), ("store p99", p99)):
        report.figure(q1, label, "anchor" if "anchor" in label else "project",
                      value * 1e3, "ms", reps=[p[label.split()[1]] * 1e3 for p in
                                               (anchor if "anchor" in label else project)])
    report.goal(f"{q1} p50", p50 / a50, 1.5, higher_is_better=False,
                detail=f"{p50 * 1e3:.3f} ms vs {a50 * 1e3:.3f} ms")
    report.goal(f"{q1} p99", p99 / a99, 2.0, higher_is_better=False,
                detail=f"{p99 * 1e3:.3f} ms vs {a99 * 1e3:.3f} ms")
    _cpu_figures(report, q1, cpu[q1])
    if not prefix:
        session_cases = [_session_page(c.page) for c in q1_cases(Mix(total), n // 4) if c.page]
        measure(store, conn, session_cases, passes, cpu, "Q-1 session path")
        _cpu_figures(report, "Q-1 session path", cpu["Q-1 session path"])
    cpu_a99 = _mid(cpu[q1][0], "p99")
    scenarios = q2_scenarios(mix, max(n // 10, 20), found)
    scenarios.update({f"search {k}": v for k, v in q3_cases(mix, max(n // 10, 20)).items()})
    for name, cases in scenarios.items():
        key = prefix + name
        s_anchor, s_project = measure(store, conn, cases, passes, cpu, key)
        sp99, sa99 = _mid(s_project, "p99"), _mid(s_anchor, "p99")
        report.figure(f"{prefix}Q-2", f"{name} p99", "project", sp99 * 1e3, "ms",
                      anchor_p99_ms=sa99 * 1e3, p50_ms=_mid(s_project, "p50") * 1e3)
        cpu_p99, cpu_raw99 = _mid(cpu[key][1], "p99"), _mid(cpu[key][0], "p99")
        report.figure(f"{prefix}Q-2", f"{name} cpu p99", "project", cpu_p99 * 1e3, "ms",
                      cpu_ratio_to_q1_anchor=cpu_p99 / cpu_a99,
                      wall_ratio_to_q1_anchor=sp99 / a99, cpu_ratio_to_raw=cpu_p99 / cpu_raw99)
        # Graded in CPU time: the anchor's wall p99 inflates under load and lets a
        # slow path pass (and a quiet anchor fails a fast one).
        report.goal(f"{prefix}Q-2 {name}", cpu_p99 / cpu_a99, 10.0, higher_is_better=False,
                    detail=f"CPU p99 {cpu_p99 * 1e3:.3f} ms vs Q-1 anchor "
                           f"{cpu_a99 * 1e3:.3f} ms (wall p99 {sp99 * 1e3:.3f} ms)")
        if name.startswith("search "):
            report.goal(f"{prefix}Q-3 {name} vs raw", cpu_p99 / cpu_raw99, 1.5,
                        higher_is_better=False,
                        detail=f"CPU p99 {cpu_p99 * 1e3:.3f} ms vs the same SQL raw "
                               f"{cpu_raw99 * 1e3:.3f} ms")
            report.goal(f"{prefix}Q-3 {name}", sp99 * 1e3, 5.0, higher_is_better=False,
                        detail=f"absolute wall p99 in ms (CPU-time p99 {cpu_p99 * 1e3:.3f} ms)")
