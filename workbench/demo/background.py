"""Unrelated background activity over the day before the incident.

Deterministic (seeded): routine request logs, the odd warning, commits and CI runs
for other services, and a small, harmless anomaly. It gives the incident something
to stand out from, as a real store would.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from storage.models import EventKind, NewEvent, Severity, Source

SERVICES = ("search", "inventory", "auth", "checkout", "api-gateway", "recommendations")
ROUTES = {"search": "/api/search", "inventory": "/api/stock", "auth": "/api/login",
          "checkout": "/api/checkout/cart", "api-gateway": "/healthz",
          "recommendations": "/api/recs"}
WARNINGS = (
    "slow query on products_by_category took 1.8s",
    "retrying cache write after ConnectionResetError",
    "token refresh took 950ms",
    "GC pause 310ms",
)
COMMITS = (
    ("search", "search: tune BM25 weights for brand queries"),
    ("inventory", "inventory: add index on sku_warehouse"),
    ("auth", "auth: bump session TTL to 12h"),
    ("recommendations", "recs: new embedding model behind flag"),
    ("api-gateway", "gateway: log upstream timing"),
)


def background_events(t0: datetime, rng: random.Random, count: int = 320) -> list[NewEvent]:
    """``count`` events spread over the 26 hours before ``t0``, ending an hour before it."""
    events = [_routine(t0, rng, i) for i in range(count)]
    events += _changes(t0, rng)
    return events


def _routine(t0: datetime, rng: random.Random, i: int) -> NewEvent:
    at = t0 - timedelta(hours=1) - timedelta(seconds=rng.randint(0, 25 * 3600))
    service = rng.choice(SERVICES)
    host = f"{service}-{rng.randint(1, 3)}"
    if rng.random() < 0.12:
        return NewEvent(source=Source.LOGS, kind=EventKind.LOG, severity=Severity.LOW,
                        occurred_at=at, service=service, host=host, environment="production",
                        title=rng.choice(WARNINGS), dedup_key=f"demo:bg:{i}",
                        attributes={"level": "warning"})
    status = 200 if rng.random() < 0.97 else 404
    ms = rng.randint(8, 240)
    return NewEvent(source=Source.LOGS, kind=EventKind.LOG, severity=Severity.INFO,
                    occurred_at=at, service=service, host=host, environment="production",
                    title=f"GET {ROUTES[service]} {status} in {ms}ms", dedup_key=f"demo:bg:{i}",
                    attributes={"http.status_code": status, "duration_ms": ms,
                                "request_id": f"req-{rng.getrandbits(48):012x}"})


def _changes(t0: datetime, rng: random.Random) -> list[NewEvent]:
    events = []
    for n, (service, subject) in enumerate(COMMITS):
        at = t0 - timedelta(hours=3 + n * 4, minutes=rng.randint(0, 59))
        sha = f"{rng.getrandbits(160):040x}"
        events.append(NewEvent(
            source=Source.GIT, kind=EventKind.COMMIT, occurred_at=at, service=service,
            commit_sha=sha, dedup_key=sha, title=subject, environment=None,
            attributes={"author": "dev@example.com", "refs": ["origin/main"],
                        "files": [{"path": f"services/{service}/app.py", "added": 12,
                                   "deleted": 3}]}))
        run = 4700 + n
        events.append(NewEvent(
            source=Source.CI, kind=EventKind.DEPLOY, severity=Severity.LOW,
            occurred_at=at + timedelta(minutes=14), service=service, commit_sha=sha,
            environment="production", dedup_key=f"deploy:{service}:production:{run}",
            title=f"Deployed {service} {sha[:7]} to production",
            attributes={"deployment_id": 900 + n, "environment": "production"}))
    events.append(NewEvent(
        source=Source.METRICS, kind=EventKind.ANOMALY, severity=Severity.LOW,
        occurred_at=t0 - timedelta(hours=9), service="search", dedup_key="demo:bg:anomaly",
        title="search throughput dropped 35% (z=-3.2) for 6 minutes",
        attributes={"metric_type": "throughput", "z": -3.2, "episode_end":
                    (t0 - timedelta(hours=9) + timedelta(minutes=6)).isoformat()}))
    return events
