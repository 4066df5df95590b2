"""Cached token checks: revocation through the API applies on the very next request;
one made by another process (the CLI) within the cache's time bound."""

from __future__ import annotations

import time

import httpx
import pytest

from storage import Store, tokens
from tests.api.conftest import Api, start_api, stop_api
from tests.api.test_investigations import _problem
from workbench.api.token_cache import TokenCache
from workbench.settings.api import ApiSettings

PATHS = ("/api/events", "/api/events/1", "/api/investigations")
"""The hot Starlette routes (SQLite) and a FastAPI one: both authenticate."""


def _statuses(api: Api, token: str) -> list[int]:
    headers = {"Authorization": f"Bearer {token}"}
    return [httpx.get(api.url + p, headers=headers).status_code for p in PATHS]


def test_revoked_through_the_api_is_refused_on_the_next_request(api: Api) -> None:
    token = api.tokens["viewer"]
    for _ in range(3):  # now certainly cached
        assert _statuses(api, token) == [200, 404, 200]
    assert api.client("admin").delete("/api/tokens/test-viewer").status_code == 204
    for path in PATHS:  # immediately, no wait
        _problem(httpx.get(api.url + path, headers={"Authorization": f"Bearer {token}"}),
                 401, "unauthorized")


@pytest.mark.parametrize("ttl", [0.5])
def test_revoked_by_another_process_is_refused_within_the_bound(store: Store,
                                                                 ttl: float) -> None:
    api = start_api(store, ApiSettings(port=0, token_cache_seconds=ttl))
    try:
        token = api.tokens["viewer"]
        assert _statuses(api, token) == [200, 404, 200]
        with api.store.write() as session:  # what `workbench token revoke` does
            tokens.revoke_token(session=session, name="test-viewer")
        revoked = time.monotonic()
        while _statuses(api, token) != [401, 401, 401]:
            assert time.monotonic() - revoked < ttl + 2.0, "still accepted past the bound"
            time.sleep(0.02)
    finally:
        stop_api(api)


def test_a_new_token_works_at_once_and_failures_are_not_cached(api: Api) -> None:
    admin = api.client("admin")
    bogus = "iwb_" + "a" * 43 + "_00000000"
    _problem(httpx.get(api.url + "/api/events", headers={"Authorization": f"Bearer {bogus}"}),
             401, "unauthorized")
    secret = admin.post("/api/tokens", json={"name": "fresh", "role": "viewer"}).json()["token"]
    assert _statuses(api, secret) == [200, 404, 200]


class Clock:
    """A settable clock for the cache's unit tests."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_cache_expires_after_ttl() -> None:
    clock = Clock()
    cache = TokenCache(5.0, clock=clock)
    cache.put("h", (1, "n", "viewer", None, 1), cache.generation)
    clock.now += 4.9
    assert cache.get("h") == (1, "n", "viewer", None, 1)
    clock.now += 0.2
    assert cache.get("h") is None


def test_a_lookup_that_began_before_a_clear_is_not_stored() -> None:
    cache = TokenCache(5.0, clock=Clock())
    began = cache.generation
    cache.clear()  # a revocation committed while the lookup was in flight
    cache.put("h", (1, "n", "viewer", None, 1), began)
    assert cache.get("h") is None


def test_cache_is_bounded_and_off_at_zero() -> None:
    cache = TokenCache(5.0, size=2, clock=Clock())
    for n in range(3):
        cache.put(f"h{n}", (n, "n", "viewer", None, 1), cache.generation)
    assert cache.get("h0") is None and cache.get("h2") is not None
    off = TokenCache(0.0, clock=Clock())
    off.put("h", (1, "n", "viewer", None, 1), off.generation)
    assert off.get("h") is None


def test_an_entry_stamped_before_another_commit_is_looked_up_again() -> None:
    cache = TokenCache(5.0, clock=Clock())
    cache.put("h", (1, "n", "viewer", None, 1), cache.generation, stamp=7)
    assert cache.get("h", 7) == (1, "n", "viewer", None, 1)
    assert cache.get("h", 8) is None  # data_version moved: someone else committed
