"""The incident's own events: a config change, its deploy, and what broke after it.

The story: at T-52m a commit lowers the checkout service's payment-client pool
from 20 to 4 connections and its timeout to 800 ms. CI builds it and deploys it
to production by T-38m. From T-36m checkout requests start failing with
``PoolTimeout``; latency and error-rate anomalies follow, an alert fires, traces
show the time spent waiting for a connection, and the on-call leaves a note.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from storage.models import EventKind, NewEvent, Severity, Source

SHA = "9f3c2e1b7a5d4c3e8f1a2b3c4d5e6f708192a3b4"
SERVICE = "checkout"
ENV = "production"
HOSTS = ("checkout-7f9c-1", "checkout-7f9c-2", "checkout-7f9c-3")

TRACEBACK = """Traceback (most recent call last):
  File "/srv/checkout/app/handlers/pay.py", line 88, in pay
    auth = await payments.authorize(order, card_token)
  File "/srv/checkout/app/payments/client.py", line 141, in authorize
    async with self._pool.connection(timeout=self._timeout) as conn:
  File "/srv/checkout/lib/pool.py", line 57, in connection
    raise PoolTimeout(f"QueuePool limit of size {self.size} overflow 0 reached")
checkout.lib.pool.PoolTimeout: QueuePool limit of size 4 overflow 0 reached, \
connection timed out, timeout 0.80"""


def _event(**fields: Any) -> NewEvent:
    fields.setdefault("environment", ENV)
    return NewEvent(**fields)


def change_events(t0: datetime) -> list[NewEvent]:
    """The commit, its CI pipeline and the production deploy."""
    def at(minutes: int) -> datetime:
        return t0 - timedelta(minutes=minutes)

    short = SHA[:7]
    return [
        _event(source=Source.GIT, kind=EventKind.COMMIT, severity=Severity.INFO, occurred_at=at(52),
               service=SERVICE, commit_sha=SHA, dedup_key=SHA,
               title="checkout: lower payment client pool to 4 and timeout to 800ms",
               body="Idle connections to the payment gateway were flagged in the cost review.\n"
                    "Pool 20 -> 4, acquire timeout 5s -> 800ms.\n\nReviewed-by: Sam Okafor",
               attributes={"author": "Priya Raman <priya@example.com>", "author_tz": "+05:30",
                           "files": [{"path": "services/checkout/config/payment_client.yaml",
                                      "added": 2, "deleted": 2}],
                           "refs": ["origin/main"], "repository": "shop"}),
        _event(source=Source.CI, kind=EventKind.PIPELINE, severity=Severity.INFO,
               occurred_at=at(50),
               service=SERVICE, commit_sha=SHA, dedup_key="gha:run:4812:in_progress",
               title=f"checkout-ci #4812 started on main ({short})",
               url="https://ci.example.com/shop/actions/runs/4812",
               attributes={"run_id": 4812, "status": "in_progress", "ref": "main"}),
        _event(source=Source.CI, kind=EventKind.PIPELINE, severity=Severity.INFO,
               occurred_at=at(44),
               service=SERVICE, commit_sha=SHA, dedup_key="gha:run:4812:success",
               title=f"checkout-ci #4812 succeeded in 6m02s ({short})",
               url="https://ci.example.com/shop/actions/runs/4812",
               attributes={"run_id": 4812, "status": "completed", "conclusion": "success",
                           "duration_s": 362, "ref": "main"}),
        _event(source=Source.CI, kind=EventKind.DEPLOY, severity=Severity.LOW, occurred_at=at(38),
               service=SERVICE, commit_sha=SHA, dedup_key="deploy:checkout:production:4812",
               title=f"Deployed checkout {short} to production",
               url="https://ci.example.com/shop/deployments/991",
               attributes={"deployment_id": 991, "environment": ENV, "strategy": "rolling",
                           "previous_sha": "1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a79808172"}),
    ]


def error_logs(t0: datetime, rng: random.Random) -> list[NewEvent]:
    """A burst of PoolTimeout errors with stack traces, and 502s at the gateway."""
    events: list[NewEvent] = []
    for i in range(36):
        at = t0 - timedelta(minutes=36) + timedelta(seconds=i * 50 + rng.randint(0, 20))
        request = f"req-{rng.getrandbits(48):012x}"
        trace = f"{rng.getrandbits(128):032x}"
        events.append(_event(
            source=Source.LOGS, kind=EventKind.LOG, severity=Severity.HIGH, occurred_at=at,
            service=SERVICE, host=HOSTS[i % 3], trace_id=trace, dedup_key=f"demo:log:checkout:{i}",
            title="payment authorization failed: PoolTimeout: QueuePool limit of size 4 "
                  "overflow 0 reached",
            body=TRACEBACK,
            attributes={"request_id": request, "error.type": "PoolTimeout",
                        "http.route": "/api/checkout/pay", "http.status_code": 500,
                        "service.version": SHA[:7], "logger": "checkout.payments"}))
        if i % 3 == 0:
            events.append(_event(
                source=Source.LOGS, kind=EventKind.LOG, severity=Severity.MEDIUM,
                occurred_at=at + timedelta(milliseconds=850), service="api-gateway",
                host="edge-2", trace_id=trace, dedup_key=f"demo:log:gateway:{i}",
                title="upstream checkout returned 502 for POST /api/checkout/pay",
                attributes={"request_id": request, "upstream": "checkout:8080",
                            "http.status_code": 502, "upstream_time_ms": 812}))
    return events


def signal_events(t0: datetime) -> list[NewEvent]:
    """Metric anomalies, the alert, slow and failing traces, and the on-call's note."""
    def at(minutes: int) -> datetime:
        return t0 - timedelta(minutes=minutes)

    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    return [
        _event(source=Source.METRICS, kind=EventKind.ANOMALY, severity=Severity.HIGH,
               occurred_at=at(34), service=SERVICE, dedup_key="demo:anomaly:latency",
               title="checkout p99 latency 4.1s (baseline 310ms, z=8.4)",
               url="http://prometheus.example.com/graph?g0.expr=histogram_quantile(0.99%2C"
                   "rate(http_request_duration_seconds_bucket%7Bservice%3D%22checkout%22%7D%5B5m%5D))",
               attributes={"metric_type": "latency", "value": 4.1, "baseline_mean": 0.31,
                           "baseline_std": 0.45, "z": 8.4, "episode_start": at(34).isoformat(),
                           "episode_peak": at(21).isoformat(), "episode_end": None,
                           "labels": {"service": SERVICE, "quantile": "0.99"}}),
        _event(source=Source.METRICS, kind=EventKind.ANOMALY, severity=Severity.HIGH,
               occurred_at=at(33), service=SERVICE, dedup_key="demo:anomaly:errors",
               title="checkout 5xx rate 12.4% (baseline 0.2%, z=11.0)",
               attributes={"metric_type": "error_rate", "value": 0.124, "baseline_mean": 0.002,
                           "baseline_std": 0.011, "z": 11.0, "labels": {"service": SERVICE}}),
        _event(source=Source.METRICS, kind=EventKind.ALERT, severity=Severity.CRITICAL,
               occurred_at=at(32), service=SERVICE,
               dedup_key=f"am:3a1f9c0d2b7e4f51:firing:{at(32).isoformat()}",
               title="CheckoutHighErrorRate firing: checkout 5xx above 5% for 2m",
               url="http://alertmanager.example.com/#/alerts?receiver=workbench",
               attributes={"alertname": "CheckoutHighErrorRate", "fingerprint": "3a1f9c0d2b7e4f51",
                           "status": "firing", "labels": {"severity": "critical",
                                                          "service": SERVICE, "team": "payments"}}),
        _event(source=Source.TRACES, kind=EventKind.SLOW_TRACE, severity=Severity.MEDIUM,
               occurred_at=at(30), service=SERVICE, trace_id=trace, span_id="00f067aa0ba902b7",
               dedup_key=f"trace:{trace}:slow",
               title="POST /api/checkout/pay took 4.82s (p99 0.41s)",
               attributes={"operation": "POST /api/checkout/pay", "duration_ms": 4820,
                           "critical_path": [
                               {"service": SERVICE, "span": "POST /api/checkout/pay",
                                "self_ms": 35},
                               {"service": SERVICE, "span": "payments.authorize", "self_ms": 12},
                               {"service": SERVICE, "span": "pool.acquire", "self_ms": 4761},
                               {"service": "payments-gateway", "span": "POST /v2/authorize",
                                "self_ms": 12}]}),
        _event(source=Source.TRACES, kind=EventKind.SPAN_ERROR, severity=Severity.HIGH,
               occurred_at=at(29), service=SERVICE, trace_id=trace, span_id="b7ad6b7169203331",
               dedup_key=f"trace:{trace}:b7ad6b7169203331:error",
               title="payments.authorize: PoolTimeout", body=TRACEBACK,
               attributes={"operation": "payments.authorize", "exception.type": "PoolTimeout",
                           "exception.message": "QueuePool limit of size 4 overflow 0 reached",
                           "duration_ms": 801}),
        _event(source=Source.MANUAL, kind=EventKind.NOTE, severity=Severity.INFO,
               occurred_at=at(24), service=SERVICE, dedup_key="demo:note:1",
               title="Paged payments. Errors began ~2 min after the 9f3c2e1 deploy; "
                     "considering rollback.",
               attributes={"author": "alex (on-call)"}),
    ]
