"""Which connector kinds exist: ``kind -> (config model, factory)``.

Entries name their classes as ``"module:attribute"`` strings and are imported only
when used, so validating a config with a git connector never imports the HTTP
stack, and a kind whose module is broken fails with a clear error only when used.
Add a kind by adding one :class:`Entry` to :data:`KINDS`.

Push receivers (webhooks, OTLP) are registered the same way, in :data:`RECEIVERS`:
one :class:`Receiver` per source, and that table is what the API's receiver routes,
their ``[api.receivers]`` secret settings, the health table and DLQ replay read.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

from connectors.base import Connector, ConnectorConfig
from connectors.clock import with_offset

Factory = Callable[[Any], Connector]


class UnknownKindError(LookupError):
    """No connector kind of that name is registered."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One connector kind: its config model and a factory ``config -> Connector``."""

    kind: str
    config: str
    factory: str
    description: str = ""

    def config_model(self) -> type[ConnectorConfig]:
        """The pydantic model that validates a ``[[connectors]]`` entry of this kind."""
        return cast(type[ConnectorConfig], _resolve(self.config))

    def build(self, config: ConnectorConfig) -> Connector:
        """A connector instance for ``config``."""
        factory = cast(Factory, _resolve(self.factory))
        return factory(config)


def _with_client(target: str, config: Any) -> Connector:
    """Network connectors get their own client; the supervisor closes it on shutdown."""
    import httpx

    client = httpx.AsyncClient(timeout=config.timeout_seconds)
    connector = _resolve(target)(config, client)
    connector.aclose = client.aclose
    return cast(Connector, connector)


_prometheus = partial(_with_client, "connectors.metrics.prometheus:PrometheusConnector")
_alertmanager = partial(_with_client, "connectors.alertmanager:AlertmanagerConnector")
_jaeger = partial(_with_client, "connectors.traces.jaeger:JaegerConnector")
_github_actions = partial(_with_client, "connectors.ci.github:GitHubActionsConnector")
_gitlab = partial(_with_client, "connectors.ci.gitlab:GitLabConnector")
_datadog = partial(_with_client, "connectors.metrics.datadog_connector:DatadogConnector")
_datadog_traces = partial(_with_client,
                          "connectors.traces.datadog_spans:DatadogTracesConnector")
_newrelic_traces = partial(_with_client, "connectors.traces.newrelic:NewRelicTracesConnector")


KINDS: dict[str, Entry] = {
    entry.kind: entry
    for entry in (
        Entry("git", "connectors.git.config:GitConfig", "connectors.git.connector:GitConnector",
              "local git repositories through the git command line"),
        Entry("logs", "connectors.logs.config:LogsConfig",
              "connectors.logs.connector:LogsConnector",
              "log files and globs: JSON Lines, journald JSON, logfmt, regex/plain text"),
        Entry("prometheus", "connectors.metrics.prometheus:PrometheusConfig",
              "connectors.registry:_prometheus", "anomalies in Prometheus query results"),
        Entry("alertmanager", "connectors.alertmanager:AlertmanagerConfig",
              "connectors.registry:_alertmanager", "active alerts from Alertmanager's API v2"),
        Entry("jaeger", "connectors.traces.jaeger:JaegerConfig", "connectors.registry:_jaeger",
              "span errors and slow traces from the Jaeger query API"),
        Entry("github_actions", "connectors.ci.github:GitHubActionsConfig",
              "connectors.registry:_github_actions", "GitHub Actions workflow runs and jobs"),
        Entry("gitlab", "connectors.ci.gitlab:GitLabConfig", "connectors.registry:_gitlab",
              "GitLab pipelines"),
        Entry("datadog", "connectors.metrics.datadog_connector:DatadogConfig",
              "connectors.registry:_datadog", "anomalies in Datadog metric query results"),
        Entry("datadog_traces", "connectors.traces.datadog_spans:DatadogTracesConfig",
              "connectors.registry:_datadog_traces",
              "span errors and slow traces from Datadog APM's span search"),
        Entry("newrelic_traces", "connectors.traces.newrelic:NewRelicTracesConfig",
              "connectors.registry:_newrelic_traces",
              "span errors and slow traces from New Relic (NRQL over Span)"),
    )
}


@dataclass(frozen=True, slots=True)
class Receiver:
    """One push receiver: the name its events and dead letters are filed under, its
    kind (health table), the API path it listens on, the record parser (as a
    ``"module:attribute"`` string, imported when used) and the ``[api.receivers]``
    field holding the secret it cannot work without (``None``: it falls back to API
    tokens, so it always accepts deliveries from an authorised sender)."""

    name: str
    kind: str
    path: str
    parser_ref: str
    required_secret: str | None = None
    description: str = ""

    def parser(self) -> Callable[[bytes], Any]:
        """``raw record -> event | events | None`` (what the route and DLQ replay run)."""
        return cast(Callable[[bytes], Any], _resolve(self.parser_ref))


RECEIVERS: dict[str, Receiver] = {
    receiver.name: receiver
    for receiver in (
        Receiver("github-webhook", "github", "/api/webhooks/github",
                 "connectors.ci.github_events:parse_webhook", "github_secret",
                 "GitHub webhooks (X-Hub-Signature-256)"),
        Receiver("gitlab-webhook", "gitlab", "/api/webhooks/gitlab",
                 "connectors.ci.gitlab_hooks:parse_hook", "gitlab_token",
                 "GitLab Pipeline/Job/Deployment Hooks (X-Gitlab-Token)"),
        Receiver("alertmanager-webhook", "alertmanager", "/api/webhooks/alertmanager",
                 "connectors.alertmanager:parse_alert", None, "Alertmanager webhook (v4)"),
        Receiver("otlp", "otlp", "/v1/traces", "connectors.traces.otlp:replay_span", None,
                 "OTLP/HTTP trace export"),
    )
}
"""Push receivers by name; they run in every instance (idempotent), not under leases."""


def entry(kind: str) -> Entry:
    """The entry for ``kind``; :class:`UnknownKindError` lists the known kinds."""
    try:
        return KINDS[kind]
    except KeyError:
        known = ", ".join(sorted(KINDS)) or "none"
        raise UnknownKindError(f"unknown connector kind {kind!r} (known: {known})") from None


def validate(data: dict[str, Any]) -> ConnectorConfig:
    """Validate one ``[[connectors]]`` table with the model its ``kind`` names."""
    return entry(str(data.get("kind"))).config_model().model_validate(data)


def build(config: ConnectorConfig) -> Connector:
    """The connector for a validated config (its times corrected by the config's
    ``clock_offset_seconds``, if any)."""
    return with_offset(entry(config.kind).build(config), config.clock_offset_seconds)


def _resolve(target: str) -> Any:
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)
