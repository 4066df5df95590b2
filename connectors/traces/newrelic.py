"""New Relic pull: NRQL over ``Span`` through NerdGraph (``POST /graphql``).

Each poll runs ``SELECT * FROM Span [WHERE <where>] SINCE <ms> UNTIL <ms> LIMIT <n>``
as ``actor { account(id) { nrql(query) { results } } }`` with the account id and the
query as GraphQL variables (never spliced into the document). NRQL has no cursor: a
window that returns a full page (``LIMIT MAX`` is 5,000 rows) may have been cut, so it
is split in two and each half asked again, oldest first, until every window answers
under the limit; a one-millisecond window that is still full is taken as it is and
named in the poll's warnings (health).

A row is a flat object of the span's attributes, named as New Relic's mapping of
OTLP spans names them: ``trace.id``, ``id``, ``parent.id``, ``name``, ``timestamp``
(unix ms), ``duration.ms``, ``service.name`` (agents: ``entity.name``/``appName``),
``otel.status_code``/``otel.status_description`` (agents: ``error.class``/
``error.message``). Ids are the W3C hex ids OTLP carries, so a trace reaching the
store through OTLP and through New Relic has one dedup key.

NerdGraph answers 200 with an ``errors`` list when a query fails; a timeout there is
transient (retried), anything else permanent. Region ``us`` or ``eu`` picks the
endpoint; ``url`` overrides it (a proxy, a test server). The user key is a secret
reference sent as ``API-Key``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar, Literal

import httpx
from pydantic import Field, model_validator

from connectors.errors import PermanentSourceError, TransientSourceError
from connectors.http import Limits, fetch_json
from connectors.secrets import SecretRef
from connectors.traces.model import Span, pad_hex_id, resource_fields
from connectors.traces.pull import Page, SpanSearchConfig, SpanSearchConnector, nested

ENDPOINTS = {"us": "https://api.newrelic.com/graphql", "eu": "https://api.eu.newrelic.com/graphql"}
QUERY = ("query($account: Int!, $nrql: Nrql!) { actor { account(id: $account) "
         "{ nrql(query: $nrql, timeout: 60) { results } } } }")
MAX_LIMIT = 5000


class NewRelicTracesConfig(SpanSearchConfig):
    """``[[connectors]] kind = "newrelic_traces"``."""

    kind: Literal["newrelic_traces"] = "newrelic_traces"
    account_id: int | SecretRef
    """The account number, or a reference to it (``"env:NEW_RELIC_ACCOUNT_ID"``)."""
    user_key: SecretRef
    region: Literal["us", "eu"] = "us"
    url: str = ""
    """NerdGraph endpoint; empty means the region's."""
    where: str = Field(default="", max_length=4000)
    """An NRQL condition on spans (``service.name = 'checkout'``); empty is every span."""
    limit: int = Field(default=MAX_LIMIT, ge=1, le=MAX_LIMIT)

    @model_validator(mode="after")
    def _region_url(self) -> NewRelicTracesConfig:
        if not self.url:
            self.url = ENDPOINTS[self.region]
        return self


class NerdGraphError(PermanentSourceError):
    """NerdGraph refused the query (its ``errors`` list, not an HTTP status)."""


class NerdGraphTimeout(TransientSourceError):
    """NerdGraph gave up on the query in time; asking again may work."""


class NewRelicTracesConnector(SpanSearchConnector):
    """Polls New Relic spans with NRQL and reports span errors and slow traces."""

    kind: ClassVar[str] = "newrelic_traces"
    config: NewRelicTracesConfig

    def __init__(self, config: NewRelicTracesConfig, client: httpx.AsyncClient, *,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(config, clock=clock, decode=newrelic_span)
        self._client = client
        self._limits = Limits(max_bytes=config.max_response_bytes,
                              timeout=config.timeout_seconds)

    def nrql(self, start_ms: int, end_ms: int) -> str:
        where = f"WHERE {self.config.where} " if self.config.where.strip() else ""
        return f"SELECT * FROM Span {where}SINCE {start_ms} UNTIL {end_ms} " \
            f"LIMIT {self.config.limit}"

    async def pages(self, start_ms: int, end_ms: int) -> AsyncIterator[Page]:
        key = await asyncio.to_thread(self.config.user_key.resolve)
        account = await self._account()
        windows = [(start_ms, end_ms)]
        while windows:
            since, until = windows.pop()
            rows = await self._query(key, account, since, until)
            if len(rows) >= self.config.limit and until - since > 1:
                middle = (since + until) // 2
                windows.extend([(middle, until), (since, middle)])   # older half first
                continue
            cut = len(rows) >= self.config.limit
            yield Page(rows, until, warning=f"{len(rows)} spans in the millisecond at {since}: "
                       "NRQL's limit may have cut some" if cut else None)

    async def _account(self) -> int:
        account = self.config.account_id
        if isinstance(account, int):
            value = account
        else:
            text = (await asyncio.to_thread(account.resolve)).strip()
            if not text.isdigit():
                raise PermanentSourceError(f"configured as {account.reference}, but that is "
                                           "not an account number")
            value = int(text)
        if value <= 0:
            raise PermanentSourceError("account_id must be a positive account number")
        return value

    async def _query(self, key: str, account: int, since: int, until: int) -> list[Any]:
        body = await fetch_json(
            self._client, self.config.url, method="POST", limits=self._limits,
            headers={"API-Key": key, "Accept": "application/json"},
            json={"query": QUERY, "variables": {"account": account,
                                                "nrql": self.nrql(since, until)}})
        data = body.data if isinstance(body.data, dict) else {}
        errors = data.get("errors")
        results = nested(data, "data.actor.account.nrql.results")
        if errors and not isinstance(results, list):
            messages = "; ".join(str(e.get("message", e))[:300] if isinstance(e, dict) else
                                 str(e)[:300] for e in errors[:3])
            if "timed out" in messages.lower() or "timeout" in messages.lower():
                raise NerdGraphTimeout(f"NerdGraph: {messages}")
            raise NerdGraphError(f"NerdGraph: {messages}")
        if not isinstance(results, list):
            raise NerdGraphError("NerdGraph's reply has no data.actor.account.nrql.results")
        return results


def newrelic_span(row: dict[str, Any]) -> Span:
    """One NRQL ``Span`` row as a :class:`Span`."""
    stamp = row["timestamp"]
    start_ns = stamp * 1_000_000 if isinstance(stamp, int) else round(float(stamp) * 1_000_000)
    duration_ms = row.get("duration.ms")
    if not isinstance(duration_ms, int | float):
        seconds = row.get("duration")
        duration_ms = float(seconds) * 1000 if isinstance(seconds, int | float) else 0.0
    parent = row.get("parent.id")
    environment, version = resource_fields(row)
    span = Span(
        trace_id=pad_hex_id(str(row["trace.id"]), 16, "trace.id"),
        span_id=pad_hex_id(str(row["id"]), 8, "id"),
        parent_id=pad_hex_id(str(parent), 8, "parent.id") if parent else None,
        service=str(row.get("service.name") or row.get("entity.name") or row.get("appName")
                    or "unknown_service")[:256],
        name=str(row.get("name") or ""),
        start_ns=start_ns, end_ns=start_ns + int(max(duration_ms, 0.0) * 1_000_000),
        environment=environment, version=version)
    failed = str(row.get("otel.status_code", "")).upper() == "ERROR" or \
        bool(row.get("error.class")) or row.get("error") in (True, "true")
    if failed:
        message = str(row.get("otel.status_description") or row.get("error.message") or "")
        span.error = True
        span.status_message = message[:2000]
        span.attributes = {k: v for k, v in row.items() if not k.startswith("error.")}
        span.exceptions = [{"type": str(row.get("error.class") or row.get("exception.type") or ""),
                            "message": message,
                            "stacktrace": str(row.get("exception.stacktrace") or "")[:20_000]}]
    return span
