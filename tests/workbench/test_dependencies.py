"""Where errors point: peer resolution and following errors through services (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.error_direction import ErrorGroup, ErrorGroups
from workbench.dependencies import PeerResolver, direction, point

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
KNOWN = ["payments", "checkout", "ledger-svc", "orders-api", "gateway"]
RESOLVE = PeerResolver(KNOWN, {"10.0.3.17": "ledger-svc", "*.pay.example.com": "payments"})


@pytest.mark.parametrize(("key", "value", "service"), [
    ("peer.service", "payments", "payments"),
    ("peer.service", "Payments", "payments"),
    ("server.address", "payments.svc.cluster.local", "payments"),
    ("upstream", "checkout:8080", "checkout"),
    ("http.url", "api.pay.example.com", "payments"),  # hosts pattern
    ("server.address", "10.0.3.17", "ledger-svc"),     # opaque host, from the config
    ("rpc.service", "ledger.v1.LedgerService", "ledger-svc"),
    ("rpc.service", "shop.PaymentService", "payments"),
    ("peer.service", "orders", "orders-api"),
    ("db.system", "postgresql", "postgresql"),         # unknown: shown as named
    ("server.address", "10.9.9.9", "10.9.9.9"),
])
def test_peer_values_resolve_to_services(key: str, value: str, service: str) -> None:
    assert RESOLVE(key, value) == service


def _group(service: str, count: int, minutes: float = 0, *, trace_end: str | None = None,
           peer: str | None = None, mention: str | None = None) -> ErrorGroup:
    return ErrorGroup(service, trace_end, peer, mention, count, T0 + timedelta(minutes=minutes))


def test_the_deepest_evidence_wins_and_own_service_is_the_fallback() -> None:
    names = {n: n for n in KNOWN}
    assert point(_group("checkout", 1, trace_end="ledger-svc", peer="peer.service=payments"),
                 RESOLVE, names) == ("ledger-svc", "trace")
    assert point(_group("checkout", 1, trace_end="checkout", peer="peer.service=payments"),
                 RESOLVE, names) == ("payments", "peer")
    assert point(_group("checkout", 1, peer="server.address=checkout", mention="payments"),
                 RESOLVE, names) == ("payments", "text")
    assert point(_group("checkout", 1), RESOLVE, names) == ("checkout", "own")


def test_errors_are_followed_through_a_service_that_fails_onward() -> None:
    groups = ErrorGroups((
        _group("gateway", 10, 1, peer="upstream=checkout:8080"),
        _group("checkout", 30, 0, mention="payments"),
        _group("checkout", 10, 2),
    ), total=50, examined=50)
    found = direction(groups, RESOLVE, {n: n for n in KNOWN})
    payments, checkout = found.targets
    assert payments.service == "payments" and payments.count == pytest.approx(37.5)
    assert payments.via == pytest.approx({"text": 30, "via checkout": 7.5})
    assert checkout.count == pytest.approx(12.5) and checkout.first_at == T0 + timedelta(minutes=1)
    assert found.relative("checkout") == pytest.approx(12.5 / 37.5)
    assert found.reporters == {"gateway": 10, "checkout": 40}
    assert payments.explain(50) == \
        "38 of 50 errors point at payments (30 logs name it, 8 via checkout)"


def test_a_loop_of_services_pointing_at_each_other_terminates() -> None:
    groups = ErrorGroups((_group("checkout", 5, mention="payments"),
                          _group("payments", 5, mention="checkout")), total=10, examined=10)
    found = direction(groups, RESOLVE, {n: n for n in KNOWN})
    assert sum(t.count for t in found.targets) == pytest.approx(10)
