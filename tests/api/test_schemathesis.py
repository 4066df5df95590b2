"""The OpenAPI document fuzzed with schemathesis against the real server on loopback.

Fixed seed, bounded examples (CI time). Checks: no 5xx, responses match their
documented schema and content type, and no operation that declares bearer auth
answers 2xx without a token or with a wrong one (``ignored_auth``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
)

from connectors.control import Control
from connectors.supervisor import Supervisor
from storage import NewDeadLetter, Store
from tests.api.conftest import Api, note, start_api, stop_api
from tests.connectors.runtime_fakes import FakeConnector, config, records
from workbench.settings.api import ApiSettings

UNLIMITED = ApiSettings(port=0, rate_limit_per_second=1e6, rate_limit_burst=10**6,
                        auth_failures_per_second=1e6, auth_failures_burst=10**6)
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance,
          ignored_auth]


@pytest.fixture(scope="module")
def supervised(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Control]]:
    """A store and a real supervisor (one connector, "app") on a loop of its own."""
    store = Store.open(Path(tmp_path_factory.mktemp("fuzz")) / "wb.db")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    supervisor = Supervisor(store, [(FakeConnector("app", records("app", 3)), config("app"))])
    asyncio.run_coroutine_threadsafe(supervisor.start(), loop).result(30)
    yield store, Control(supervisor)
    asyncio.run_coroutine_threadsafe(supervisor.stop(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    store.close()


@pytest.fixture(scope="module")
def fuzz_api(supervised: tuple[Store, Control]) -> Iterator[Api]:
    store, control = supervised
    running = start_api(store, UNLIMITED, health=control.supervisor.health, control=control)
    client = running.client("admin")
    client.post("/api/events", json=[note(f"seed {i}", service="api") for i in range(3)])
    for title in ("one", "two"):
        client.post("/api/investigations", json={"title": title})
    store.ingest([], dead_letters_=[NewDeadLetter(connector="app", payload=b"x",
                                                  error_class="E", message="m")])
    yield running
    stop_api(running)


@pytest.fixture(scope="module")
def api_schema(fuzz_api: Api) -> schemathesis.schemas.BaseSchema:
    return schemathesis.openapi.from_url(fuzz_api.url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.slow
@schema.parametrize()
@seed(20261128)
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_openapi_contract(case: schemathesis.Case, fuzz_api: Api) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {fuzz_api.tokens['admin']}"},
                           checks=CHECKS)
