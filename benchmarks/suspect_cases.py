"""Incidents with a known cause, for ``bench_suspects`` (issue 19).

Every case is one incident in a six-hour window: a few services with random names
and a random call graph, 12-40 background changes (commits, pipelines, deploys; some
never deployed, some never ran), errors on the impacted service, and *one* change
that caused it. The kinds:

- ``self_sha`` / ``self_nosha``: the impacted service's own deploy, its sha on the
  errors (commit_sha or a version attribute) or not at all;
- ``dep_spans``: a dependency's deploy; the impacted service's error spans share
  traces with the dependency's (later-starting) error spans;
- ``dep_peer``: a dependency's deploy; the impacted service's error spans name the
  peer (``peer.service``, ``server.address``, ``http.url``, ``rpc.service``), sometimes
  through an opaque host that only the config's host map resolves;
- ``dep_logs``: a dependency's deploy; only the text of the error logs names it;
- ``busy_notran``: 30-40 changes, the impacted service's deploy caused it, and a
  deploy of the same service that never ran (skipped, cancelled, manual, waiting)
  lands just before impact;
- ``config_only``: a config change of the impacted service (a config deploy that
  keeps the running sha, or a config-only commit applied without a deploy).

Traps on every case: an older deploy of the impacted service (its sha is the one the
errors carry when the cause is elsewhere), unrelated deploys closer to impact, a
healthy dependency deployed closer to impact, commits that never deployed, a few
errors that point at other services, and errors of an unrelated service.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from connectors.ci.common import ci_attributes
from storage.models import EventKind, NewEvent, Severity, Source

KINDS = ("self_sha", "self_nosha", "dep_spans", "dep_peer", "dep_logs", "busy_notran",
         "config_only")
STEMS = ("pay", "order", "cart", "ship", "auth", "user", "stock", "price", "promo", "search",
         "ledger", "bill", "notify", "mail", "review", "catalog", "fraud", "quote", "tax", "geo",
         "invent", "wallet", "account", "session", "media", "report", "rating", "loyalty",
         "refund", "booking", "risk", "match", "route", "fleet", "offer", "credit")
SUFFIXES = ("", "s", "-svc", "-api", "-service", "er", "-core", "-worker", "d", "-v2")
ENTRIES = ("gateway", "edge", "frontend", "web", "bff", "ingress", "api-gw", "storefront")
EXCEPTIONS = ("NullPointerException", "KeyError: 'currency'", "TypeError: unsupported operand",
              "IndexError: list index out of range", "ValueError: invalid literal",
              "IllegalStateException: state=CLOSED", "AttributeError: 'NoneType' object",
              "ArithmeticException: / by zero", "SerializationError: unknown field")
NOT_RAN = ({"provider": "github", "phase": "finished", "result": "cancelled"},
           {"provider": "github", "phase": "finished", "result": "skipped"},
           {"provider": "gitlab", "phase": "finished", "result": "skipped", "status": "skipped"},
           {"provider": "gitlab", "status": "manual"}, {"provider": "gitlab", "status": "created"},
           {"provider": "github", "status": "waiting"},
           {"provider": "gitlab", "phase": "not_run", "ran": False, "result": "manual"})


@dataclass
class Case:
    """One generated incident and what the benchmark needs to judge a ranking of it."""

    kind: str
    impact: datetime
    impacted: str
    services: tuple[str, ...]
    events: list[NewEvent] = field(default_factory=list)
    linked: list[str] = field(default_factory=list)
    """Dedup keys of the events linked to the investigation."""
    cause: set[str] = field(default_factory=set)
    """Dedup keys of the cause's change events (its commit, pipeline, deploy)."""
    set_impact: bool = True
    dependencies: dict[str, list[str]] = field(default_factory=dict)
    hosts: dict[str, str] = field(default_factory=dict)


class _Gen:
    def __init__(self, rng: random.Random, kind: str, t0: datetime, tag: str) -> None:
        self.rng, self.kind, self.t0, self.tag = rng, kind, t0, tag
        self.n = 0
        names = _names(rng, rng.randint(9, 13))
        self.entry = rng.choice(ENTRIES) + rng.choice(("", "", "-2", "-eu"))
        self.impacted, *rest = names
        self.deps = rest[:rng.randint(2, 4)]
        self.others = rest[len(self.deps):]
        self.case = Case(kind=kind, impact=t0, impacted=self.impacted, services=())
        self.difficulty = NORMAL
        self.opaque = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"

    # -- plumbing -----------------------------------------------------------------
    def key(self, what: str) -> str:
        self.n += 1
        return f"{self.tag}:{what}:{self.n}"

    def sha(self) -> str:
        return f"{self.rng.getrandbits(160):040x}"

    def hexid(self, bits: int) -> str:
        return f"{self.rng.getrandbits(bits):0{bits // 4}x}"

    def add(self, event: NewEvent, *, link: bool = False, cause: bool = False) -> None:
        self.case.events.append(event)
        assert event.dedup_key is not None
        if link:
            self.case.linked.append(event.dedup_key)
        if cause:
            self.case.cause.add(event.dedup_key)

    def minutes_before(self, lo: float, hi: float) -> datetime:
        return self.t0 - timedelta(minutes=self.rng.uniform(lo, hi))

    # -- changes ------------------------------------------------------------------
    def change(self, service: str, at: datetime, *, deploy: bool = True, cause: bool = False,
               sha: str | None = None, title: str | None = None,
               deploy_attrs: dict[str, Any] | None = None,
               files: tuple[str, ...] = ()) -> str:
        """A commit, its pipeline and (if ``deploy``) its deploy ending at ``at``; the sha."""
        sha = sha or self.sha()
        commit_at = at - timedelta(minutes=self.rng.uniform(6, 40)) if deploy else at
        self.add(NewEvent(source=Source.GIT, kind=EventKind.COMMIT, occurred_at=commit_at,
                          service=service, commit_sha=sha, dedup_key=self.key("commit"),
                          title=title or f"{service}: {self.rng.choice(_SUBJECTS)}",
                          attributes={"files": [{"path": path, "added": 9, "deleted": 3}
                                                for path in files or (f"src/{service}/app.py",)]}),
                 cause=cause)
        if not deploy:
            return sha
        run = self.rng.getrandbits(31)
        pipe_at = commit_at + (at - commit_at) * self.rng.uniform(0.3, 0.8)
        self.add(NewEvent(source=Source.CI, kind=EventKind.PIPELINE, occurred_at=pipe_at,
                          service=service, commit_sha=sha, dedup_key=self.key("run"),
                          title=f"{service}-ci #{run % 9000} success on main",
                          attributes=ci_attributes(provider="github", phase="finished",
                                                   result="success", run_id=run)), cause=cause)
        attrs = deploy_attrs or ci_attributes(provider="github", phase="finished",
                                              result="success", run_id=run,
                                              environment="production")
        self.add(NewEvent(source=Source.CI, kind=EventKind.DEPLOY, severity=Severity.LOW,
                          occurred_at=at, service=service, commit_sha=sha,
                          environment="production", dedup_key=self.key("deploy"),
                          title=f"Deployed {service} {sha[:7]} to production",
                          attributes=attrs), cause=cause)
        return sha

    def never_ran(self, service: str, at: datetime) -> None:
        attrs = dict(self.rng.choice(NOT_RAN))
        sha = self.sha()
        status = attrs.get("result") or attrs.get("status")
        self.add(NewEvent(source=Source.CI, kind=EventKind.DEPLOY, occurred_at=at,
                          service=service, commit_sha=sha, environment="production",
                          dedup_key=self.key("notran"), attributes=attrs,
                          title=f"{service}: deploy {sha[:7]} to production {status}"))

    def background(self, count: int, avoid: set[str], before: datetime) -> None:
        everyone = [self.impacted, *self.deps, *self.others, self.entry]
        for _ in range(count):
            service = self.rng.choice(everyone)
            latest = before if service in avoid else self.t0 - timedelta(minutes=0.5)
            at = self.t0 - timedelta(minutes=self.rng.uniform(
                (self.t0 - latest).total_seconds() / 60, 355))
            self.change(service, at, deploy=self.rng.random() < 0.7)

    # -- errors -------------------------------------------------------------------
    def error_times(self, count: int) -> list[datetime]:
        spread = self.rng.uniform(4, 30) * 60
        return sorted([self.t0] + [self.t0 + timedelta(seconds=self.rng.uniform(1, spread))
                                   for _ in range(count - 1)])

    def own_error(self, at: datetime, version: str | None) -> NewEvent:
        """An error of the impacted service that names no other service."""
        exc = self.rng.choice(EXCEPTIONS)
        op = self.rng.choice(_OPS)
        attrs: dict[str, Any] = {"error.type": exc.split(":")[0], "http.status_code": 500}
        sha_column = None
        if version is not None:
            where = self.rng.choice(("commit_sha", "service.version", "version", "git.sha"))
            if where == "commit_sha":
                sha_column = version
            else:
                attrs[where] = version[:self.rng.choice((7, 12, 40))]
        if self.rng.random() < 0.5:
            return NewEvent(source=Source.LOGS, kind=EventKind.LOG, severity=Severity.HIGH,
                            occurred_at=at, service=self.impacted, commit_sha=sha_column,
                            title=f"{op} failed: {exc}", dedup_key=self.key("log"),
                            attributes=attrs)
        return NewEvent(source=Source.TRACES, kind=EventKind.SPAN_ERROR, severity=Severity.HIGH,
                        occurred_at=at, service=self.impacted, commit_sha=sha_column,
                        trace_id=self.hexid(128), span_id=self.hexid(64),
                        title=f"{self.impacted}: {op} failed: {exc}", dedup_key=self.key("span"),
                        attributes={"operation": op, "span_attributes": attrs})

    def pointing_error(self, at: datetime, target: str, how: str, version: str | None
                       ) -> list[NewEvent]:
        """An error of the impacted service caused by ``target`` (evidence as ``how``)."""
        base = self.own_error(at, version)
        flat = base.attributes.get("span_attributes", base.attributes)
        if how == "logs":
            title = self.rng.choice(_CALL_FAILED).format(t=target, port=self.rng.choice(
                (8080, 443, 9000, 50051)))
            return [base.model_copy(update={"source": Source.LOGS, "kind": EventKind.LOG,
                                            "title": title, "trace_id": None, "span_id": None,
                                            "attributes": {**flat, "http.status_code": 502}})]
        if how == "peer":
            attrs = {"span_attributes": {**base.attributes.get("span_attributes", {}),
                                         **self.peer_attributes(target)},
                     "operation": f"call {self.rng.choice(_OPS)}"}
            return [base.model_copy(update={
                "source": Source.TRACES, "kind": EventKind.SPAN_ERROR,
                "trace_id": self.hexid(128), "span_id": self.hexid(64),
                "title": f"{self.impacted}: outgoing call failed: "
                         f"{self.rng.choice(('DEADLINE_EXCEEDED', 'UNAVAILABLE', '503'))}",
                "attributes": attrs})]
        trace = self.hexid(128)
        caller = base.model_copy(update={
            "source": Source.TRACES, "kind": EventKind.SPAN_ERROR, "trace_id": trace,
            "span_id": self.hexid(64), "title": f"{self.impacted}: request failed: 500",
            "attributes": {"operation": "handle", "span_attributes": {**flat}}})
        child = NewEvent(source=Source.TRACES, kind=EventKind.SPAN_ERROR, severity=Severity.HIGH,
                         occurred_at=at + timedelta(milliseconds=self.rng.randint(2, 400)),
                         service=target, trace_id=trace, span_id=self.hexid(64),
                         title=f"{target}: {self.rng.choice(_OPS)} failed: "
                               f"{self.rng.choice(EXCEPTIONS)}",
                         dedup_key=self.key("child"), attributes={"operation": "work"})
        return [caller, child]

    def peer_attributes(self, target: str) -> dict[str, Any]:
        form = self.rng.choice(("peer.service", "server.address", "http.url", "rpc.service",
                                "opaque"))
        if form == "peer.service":
            return {"peer.service": target}
        if form == "server.address":
            host = self.rng.choice((target, f"{target}.svc.cluster.local", f"{target}.internal"))
            return {"server.address": host, "server.port": 8080}
        if form == "http.url":
            return {"http.url": f"http://{target}.prod.internal:8080/v1/{self.rng.choice(_OPS)}"
                                f"/{self.rng.randint(1, 99999)}", "http.method": "POST"}
        if form == "rpc.service":
            return {"rpc.system": "grpc", "rpc.service": f"{target}.v1.Api"}
        self.case.hosts[self.opaque] = target
        return {"server.address": self.opaque, "server.port": 5432}


_SUBJECTS = ("fix retry budget", "bump client library", "refactor handlers", "add metrics",
             "tune pool size", "new pricing rule", "remove dead code", "upgrade runtime",
             "feature flag cleanup", "cache warmup on start")
_OPS = ("charge", "reserve", "quote", "lookup", "authorize", "persist", "render", "validate",
        "publish", "fetch")
_CALL_FAILED = ("call to {t} failed: timeout after 800ms",
                "upstream {t} returned 502 Bad Gateway",
                "error calling {t}: connection refused ({t}:{port})",
                "{t} request failed with status 503",
                "failed to reach {t}: deadline exceeded",
                "could not get response from {t}, giving up after 3 retries")
_HOW = {"dep_spans": "spans", "dep_peer": "peer", "dep_logs": "logs"}


def _names(rng: random.Random, count: int) -> list[str]:
    names: list[str] = []
    while len(names) < count:
        name = rng.choice(STEMS) + rng.choice(SUFFIXES)
        if rng.random() < 0.15:
            name += f"-{rng.choice('abcdefghk')}{rng.randint(1, 9)}"
        if name not in names:
            names.append(name)
    return names


@dataclass(frozen=True)
class Difficulty:
    """How muddy the evidence is."""

    max_gap: float = 40.0
    """The cause went live up to this many minutes before impact."""
    older_margin: float = 15.0
    """The impacted service's older deploy is at least this much older than the cause."""
    pointing: tuple[float, float] = (0.6, 0.95)
    """Share of the impacted service's errors that point at a guilty dependency."""
    noise: float = 0.12
    """Up to this share of errors point at an innocent service."""


NORMAL = Difficulty()
HARD = Difficulty(max_gap=120.0, older_margin=5.0, pointing=(0.4, 0.9), noise=0.25)


def build_case(kind: str, rng: random.Random, t0: datetime, tag: str,
               difficulty: Difficulty = NORMAL) -> Case:
    """One incident of ``kind`` whose impact starts at ``t0``; keys are prefixed by ``tag``."""
    g = _Gen(rng, kind, t0, tag)
    g.difficulty = difficulty
    target = rng.choice(g.deps) if kind in _HOW else g.impacted
    gap = rng.uniform(2, difficulty.max_gap)
    cause_at = t0 - timedelta(minutes=gap)
    running = g.change(g.impacted, g.minutes_before(gap + difficulty.older_margin,
                                                    max(300, gap + 60)))  # older deploy
    cause_sha = _cause(g, kind, target, cause_at, running)
    _distractors(g, target, gap, cause_at)
    version = _version_on_errors(g, kind, cause_sha, running)
    _errors(g, kind, target, version)
    case = g.case
    case.services = (g.impacted,) if rng.random() < 0.7 else (g.entry, g.impacted)
    case.set_impact = rng.random() < 0.7
    if rng.random() < 0.5:
        case.dependencies = {g.impacted: list(g.deps), g.entry: [g.impacted]}
    return case


def _cause(g: _Gen, kind: str, target: str, at: datetime, running: str) -> str | None:
    if kind != "config_only":
        return g.change(target, at, cause=True)
    flag = g.rng.choice(("max_connections", "timeout_ms", "feature.new_checkout", "pool_size"))
    if g.rng.random() < 0.5:
        g.change(g.impacted, at, deploy=False, cause=True, title=f"{g.impacted}: set {flag}",
                 files=(f"deploy/{g.impacted}/values.yaml", f"config/{g.impacted}.toml"))
        return None
    attrs = {**ci_attributes(provider="argo", phase="finished", result="success",
                             environment="production"), "change_type": "config"}
    sha = running if g.rng.random() < 0.5 else None
    g.add(NewEvent(source=Source.CI, kind=EventKind.DEPLOY, severity=Severity.LOW, occurred_at=at,
                   service=g.impacted, commit_sha=sha, environment="production",
                   dedup_key=g.key("config"), attributes=attrs,
                   title=f"{g.impacted}: apply config change ({flag})"), cause=True)
    return None


def _distractors(g: _Gen, target: str, gap: float, cause_at: datetime) -> None:
    rng = g.rng
    healthy = [d for d in g.deps if d != target]
    if healthy:  # a dependency that is fine, deployed closer to impact than the cause
        g.change(rng.choice(healthy), g.minutes_before(0.5, gap))
    for _ in range(rng.randint(1, 3)):  # unrelated deploys right before impact
        g.change(rng.choice(g.others or g.deps), g.minutes_before(0.5, 6))
    if rng.random() < 0.5 and not (g.kind == "config_only" and target == g.impacted):
        g.change(g.impacted, g.minutes_before(0.5, 10), deploy=False)  # never deployed
    busy = g.kind == "busy_notran"
    g.background(rng.randint(30, 40) if busy else rng.randint(12, 25),
                 {g.impacted, target}, cause_at - timedelta(minutes=20))
    for _ in range(rng.randint(0, 2)):
        g.never_ran(rng.choice([*g.others, *g.deps]), g.minutes_before(0.3, 60))
    if busy:
        g.never_ran(g.impacted, g.minutes_before(0.3, 3))


def _version_on_errors(g: _Gen, kind: str, cause_sha: str | None, running: str) -> str | None:
    if kind == "self_sha":
        return cause_sha
    if kind == "self_nosha":
        return None
    if kind == "busy_notran":
        return cause_sha if g.rng.random() < 0.5 else None
    return running if g.rng.random() < 0.5 else None  # the impacted service's running version


def _errors(g: _Gen, kind: str, target: str, version: str | None) -> None:
    rng = g.rng
    times = g.error_times(rng.randint(15, 60))
    pointing = rng.uniform(*g.difficulty.pointing) if kind in _HOW else 0.0
    noise = rng.uniform(0.0, g.difficulty.noise)
    elsewhere = [s for s in (*g.deps, *g.others) if s != target]
    for at in times:
        roll = rng.random()
        if roll < pointing:
            events = g.pointing_error(at, target, _HOW[kind], version)
        elif roll < pointing + noise:
            events = g.pointing_error(at, rng.choice(elsewhere),
                                      rng.choice(("spans", "peer", "logs")), version)
        else:
            events = [g.own_error(at, version)]
        for event in events:
            g.add(event, link=event.service == g.impacted or rng.random() < 0.5)
    for _ in range(rng.randint(0, 10)):  # the entry point sees the impacted service fail
        at = g.t0 + timedelta(seconds=rng.uniform(1, 600))
        g.add(NewEvent(source=Source.LOGS, kind=EventKind.LOG, severity=Severity.MEDIUM,
                       occurred_at=at, service=g.entry, dedup_key=g.key("entry"),
                       title=f"upstream {g.impacted} returned 502 for POST /api/"
                             f"{rng.choice(_OPS)}",
                       attributes={"upstream": f"{g.impacted}:8080"}), link=True)
    bystander = rng.choice(g.others or g.deps)
    for _ in range(rng.randint(0, 4)):  # an unrelated service's errors, grouped by time
        at = g.t0 + timedelta(seconds=rng.uniform(1, 900))
        g.add(NewEvent(source=Source.LOGS, kind=EventKind.LOG, severity=Severity.HIGH,
                       occurred_at=at, service=bystander, dedup_key=g.key("bystander"),
                       title=f"{rng.choice(_OPS)} failed: {rng.choice(EXCEPTIONS)}"), link=True)
