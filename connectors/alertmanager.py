"""Alertmanager: webhook payload v4 (push) and ``GET /api/v2/alerts`` (pull).

Alertmanager retries a webhook until it gets a 2xx, and resends firing alerts every
``repeat_interval``: the dedup key ``alertmanager:<fingerprint>:<status>:<startsAt>``
makes every resend of the same state store nothing, while a new firing of the same
alert (a new ``startsAt``) and its resolution are new events. The pull connector
uses the same keys, so an alert seen both ways is stored once.

One story per alert episode, whatever the path and order (``storage.stories``): the
firing event names its resolution's key (``concluded_by``), the resolution names the
firing's (``concludes``), so the firing event is marked resolved whichever arrives
first. Alertmanager drops a resolved alert from ``/api/v2/alerts`` at once but sends
the resolved webhook only after ``group_interval``: the pull connector then stores
an *inferred* resolution (labels, service and annotations of the alert as last seen,
the poll window in which it vanished) marked ``provisional``, which the webhook's
real one -- with its ``endsAt`` -- replaces in place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

import httpx
import orjson
from pydantic import Field

from connectors.base import Batch, ConnectorConfig
from connectors.dlq import parse_records
from connectors.errors import PoisonRecordError
from connectors.http import Limits, fetch_json
from storage.models import EventKind, NewEvent, Severity, Source, utcnow

ZERO_TIME = "0001-01-01T00:00:00Z"
SEVERITIES = {
    "critical": Severity.CRITICAL, "page": Severity.CRITICAL, "error": Severity.HIGH,
    "high": Severity.HIGH, "major": Severity.HIGH, "warning": Severity.MEDIUM,
    "warn": Severity.MEDIUM, "medium": Severity.MEDIUM, "minor": Severity.LOW,
    "low": Severity.LOW, "info": Severity.INFO, "informational": Severity.INFO,
    "none": Severity.INFO,
}


class UnsupportedPayloadError(PoisonRecordError):
    """A webhook body that is not Alertmanager's version 4 shape."""


def split_webhook(body: bytes) -> list[bytes]:
    """One record per alert of a v4 webhook body, each carrying the group context."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise UnsupportedPayloadError(f"body is not JSON: {exc}", payload=body) from exc
    if not isinstance(payload, dict) or str(payload.get("version")) != "4":
        raise UnsupportedPayloadError("not an Alertmanager webhook payload version 4",
                                      payload=body)
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        raise UnsupportedPayloadError("webhook payload has no alerts list", payload=body)
    context = {k: payload.get(k) for k in ("receiver", "groupKey", "externalURL")}
    return [orjson.dumps({"alert": alert, "context": context}) for alert in alerts]


def parse_alert(raw: bytes) -> NewEvent:
    """One alert record (``{"alert": ..., "context": ...}`` or a bare alert) -> event."""
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise PoisonRecordError(f"alert record is not JSON: {exc}", payload=raw) from exc
    alert = record.get("alert", record) if isinstance(record, dict) else None
    if not isinstance(alert, dict) or not isinstance(alert.get("labels"), dict):
        raise PoisonRecordError("alert without a labels object", payload=raw)
    context = record.get("context") or {}
    return _event(alert, context, _status(alert))


def _status(alert: dict[str, Any]) -> str:
    status = alert.get("status")
    if isinstance(status, dict):     # API v2: {"state": "active" | "suppressed" | ...}
        return "firing"
    if status in ("firing", "resolved"):
        return str(status)
    raise ValueError(f"alert status {status!r} is neither firing nor resolved")


def _event(alert: dict[str, Any], context: dict[str, Any], status: str) -> NewEvent:
    labels: dict[str, str] = {str(k): str(v) for k, v in alert["labels"].items()}
    annotations = {str(k): str(v) for k, v in (alert.get("annotations") or {}).items()}
    starts_at = str(alert.get("startsAt") or "")
    ends_at = alert.get("endsAt")
    firing = status == "firing"
    when = _time(starts_at) if firing or not ends_at or ends_at == ZERO_TIME else _time(ends_at)
    name = labels.get("alertname", "alert")
    summary = annotations.get("summary") or annotations.get("description") or ""
    fingerprint = str(alert.get("fingerprint") or _fingerprint(labels))
    severity = SEVERITIES.get(labels.get("severity", "").lower(), Severity.MEDIUM)
    story = {"concluded_by": alert_key(fingerprint, "resolved", starts_at)} if firing else \
        {"concludes": alert_key(fingerprint, "firing", starts_at)}
    return NewEvent(
        source=Source.METRICS, kind=EventKind.ALERT,
        severity=severity if firing else Severity.INFO, occurred_at=when,
        title=f"{'FIRING' if firing else 'RESOLVED'}: {name}"
              + (f" - {summary}" if summary else ""),
        body=annotations.get("description", ""),
        service=labels.get("service") or labels.get("job"),
        environment=labels.get("env") or labels.get("environment"),
        host=labels.get("instance"), url=alert.get("generatorURL") or None,
        attributes={"status": status, "labels": labels, "annotations": annotations,
                    "starts_at": starts_at, "ends_at": ends_at, "fingerprint": fingerprint,
                    **story, **{k: v for k, v in context.items() if v is not None}},
        dedup_key=alert_key(fingerprint, status, starts_at),
    )


def alert_key(fingerprint: str, status: str, starts_at: str) -> str:
    """The dedup key of one state of one alert episode (both paths use it)."""
    return f"alertmanager:{fingerprint}:{status}:{_key_time(starts_at)}"


def episode_key(fingerprint: str, starts_at: str) -> str:
    """One firing episode of one alert: its fingerprint and ``startsAt`` (as in dedup keys)."""
    return f"{fingerprint}@{_key_time(starts_at)}"


def _key_time(starts_at: str) -> str:
    """``startsAt`` at millisecond precision, for dedup keys.

    The webhook sends Go's RFC 3339 with nanoseconds, API v2 sends milliseconds:
    the same alert must get the same key from both.
    """
    try:
        return _time(starts_at).isoformat(timespec="milliseconds")
    except ValueError:
        return starts_at


def _time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"bad alert timestamp {value!r}") from exc
    if parsed.tzinfo is None:
        raise ValueError(f"alert timestamp {value!r} has no zone")
    return parsed.astimezone(UTC)


def _fingerprint(labels: dict[str, str]) -> str:
    """Older senders omit ``fingerprint``: derive a stable one from the label set."""
    return hashlib.sha256(orjson.dumps(labels, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


class AlertmanagerConfig(ConnectorConfig):
    """``[[connectors]] kind = "alertmanager"`` (pull of ``/api/v2/alerts``)."""

    kind: Literal["alertmanager"] = "alertmanager"
    url: str = Field(min_length=1)
    include_silenced: bool = False
    max_response_bytes: int = Field(default=16 * 1024 * 1024, gt=0)


class AlertmanagerConnector:
    """Pulls active alerts; an alert that disappears gets an inferred resolution.

    The cursor is JSON ``{"seen": <iso time of the poll>, "active": {<fingerprint|startsAt>:
    <the alert as last seen>}}``: what an inferred resolution needs to carry the
    alert's labels, service and annotations.
    """

    kind: ClassVar[str] = "alertmanager"

    def __init__(self, config: AlertmanagerConfig, client: httpx.AsyncClient, *,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.config = config
        self.name = config.name
        self._client = client
        self._clock = clock

    async def poll(self, cursor: str | None) -> Batch:
        """Active alerts now, plus inferred resolutions of those active last time."""
        params = {"active": "true", "silenced": str(self.config.include_silenced).lower(),
                  "inhibited": "false"}
        response = await fetch_json(
            self._client, f"{self.config.url.rstrip('/')}/api/v2/alerts", params=params,
            limits=Limits(max_bytes=self.config.max_response_bytes,
                          timeout=self.config.timeout_seconds))
        now = self._clock()
        if not isinstance(response.data, list):
            raise PoisonRecordError("/api/v2/alerts did not return a list",
                                    payload=orjson.dumps(response.data)[:65536])
        raws = [orjson.dumps(a) for a in response.data]
        parsed = parse_records(self.name, raws, parse_alert)
        active = {_active_key(e): _remembered(e) for e in parsed.events}
        seen, before = _load(cursor)
        resolved = [inferred_resolution(alert, last_seen=seen, now=now)
                    for key, alert in before.items() if key not in active]
        return Batch(events=[*parsed.events, *resolved], dead_letters=parsed.dead_letters,
                     cursor=orjson.dumps({"seen": now.isoformat(), "active": active},
                                         option=orjson.OPT_SORT_KEYS).decode())

    def parse(self, raw: bytes) -> NewEvent:
        """One alert (API v2 or webhook record) -> event."""
        return parse_alert(raw)


def _active_key(event: NewEvent) -> str:
    return f"{event.attributes['fingerprint']}|{event.attributes['starts_at']}"


def _remembered(event: NewEvent) -> dict[str, Any]:
    """What an inferred resolution of this alert needs, in the alert's own shape.

    Only the summary of the annotations: the cursor is rewritten on every poll, and
    descriptions can be long (the webhook's real resolution brings them all).
    """
    attributes = event.attributes
    summary = attributes["annotations"].get("summary")
    return {"labels": attributes["labels"],
            "annotations": {"summary": summary} if summary else {},
            "startsAt": attributes["starts_at"], "fingerprint": attributes["fingerprint"],
            "generatorURL": event.url}


def inferred_resolution(alert: dict[str, Any], *, last_seen: str | None, now: datetime
                        ) -> NewEvent:
    """A resolution inferred because the alert left ``/api/v2/alerts`` between polls.

    It is dated at the poll that noticed (the latest it can have been), states the
    window, and is provisional: the webhook's resolution, with the real ``endsAt``,
    replaces it.
    """
    event = _event({**alert, "endsAt": None}, {}, "resolved")
    name = event.attributes["labels"].get("alertname", "alert")
    return event.model_copy(update={
        "occurred_at": now,
        "title": f"RESOLVED (inferred): {name} is no longer active",
        "attributes": {**event.attributes, "inferred": True, "provisional": True,
                       "resolved_between": [last_seen, now.isoformat()]},
    })


def _load(cursor: str | None) -> tuple[str | None, dict[str, dict[str, Any]]]:
    """The last poll's time and active alerts (older list cursors: keys only)."""
    if not cursor:
        return None, {}
    try:
        state = orjson.loads(cursor)
    except orjson.JSONDecodeError:
        return None, {}
    if isinstance(state, list):
        return None, {str(k): _bare(str(k)) for k in state}
    if not isinstance(state, dict) or not isinstance(state.get("active"), dict):
        return None, {}
    seen = state.get("seen")
    return (str(seen) if seen else None), {
        str(k): v for k, v in state["active"].items() if isinstance(v, dict)}


def _bare(key: str) -> dict[str, Any]:
    fingerprint, _, starts_at = key.partition("|")
    return {"labels": {}, "annotations": {}, "startsAt": starts_at, "fingerprint": fingerprint}
