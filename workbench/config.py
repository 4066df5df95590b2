"""The config file: TOML, validated by pydantic, every problem reported with its key path.

Where it is: ``--config``, else ``$WORKBENCH_CONFIG``, else ``config.toml`` in the
user's config directory. A missing default file means "all defaults, no
connectors"; a missing file that was asked for by name is an error.

Tables: ``[store]`` (``url``), ``[api]`` (:class:`~workbench.settings.api.ApiSettings`),
``[tui]`` (:class:`~workbench.settings.tui.TuiSettings`), ``[grouping]``
(:class:`~workbench.grouping.GroupingSettings`), ``[suspects]``
(:class:`~workbench.suspect_settings.SuspectSettings`), ``[leases]``
(:class:`~connectors.leasing.LeaseSettings`), ``[telemetry]``
(:class:`~workbench.telemetry.settings.TelemetrySettings`), ``[redaction]``
(:class:`~workbench.settings.redaction.RedactionSettings`), ``[retention]``
(:class:`~workbench.settings.retention.RetentionSettings`), ``[search]``
(:class:`~workbench.settings.search.SearchSettings`), ``[teams]``
(:class:`~workbench.settings.access.TeamsSettings`), ``[access]``
(:class:`~workbench.settings.access.AccessSettings`) and ``[[connectors]]``, each
validated by the model its ``kind`` names in :mod:`connectors.registry`. Secrets are
references (:class:`~connectors.secrets.SecretRef`), never values; :func:`redacted`
is the only dump of a config meant for people to read.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, ValidationError

from connectors.base import ConnectorConfig
from connectors.dlq import IMPORT_CONNECTOR
from connectors.leasing import LeaseSettings
from connectors.registry import UnknownKindError, entry
from connectors.secrets import SecretRef, redact, secret_from
from workbench.grouping import GroupingSettings
from workbench.settings.access import AccessSettings, TeamsSettings
from workbench.settings.api import ApiSettings
from workbench.settings.redaction import RedactionSettings
from workbench.settings.retention import RetentionSettings
from workbench.settings.search import SearchSettings
from workbench.settings.tui import TuiSettings
from workbench.suspect_settings import SuspectSettings
from workbench.telemetry.settings import TelemetrySettings

__all__ = ["Config", "ConfigError", "SecretRef", "StoreSettings", "config_path",
           "load_config", "parse_config", "redacted", "secret_from"]

ENV_VAR = "WORKBENCH_CONFIG"


class ConfigError(ValueError):
    """The config file is unreadable or invalid; ``problems`` lists each with its key path."""

    def __init__(self, path: Path | None, problems: Sequence[str]) -> None:
        where = str(path) if path is not None else "config"
        super().__init__(f"{where}: " + "; ".join(problems))
        self.path = path
        self.problems = list(problems)


class StoreSettings(BaseModel):
    """The ``[store]`` table."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = None
    """A SQLite file path or a postgresql:// URL (``--db`` and ``$WORKBENCH_DB`` win)."""
    pool_size: int = Field(default=5, ge=1, le=100)
    """PostgreSQL: connections kept open per instance (plus as many again in bursts)."""
    statement_timeout_seconds: float = Field(default=60.0, ge=0)
    """PostgreSQL: abort any statement running longer than this (0: no limit)."""

    def engine_options(self) -> dict[str, Any]:
        """Keyword arguments for ``Store.open`` (PostgreSQL only; SQLite ignores them)."""
        return {"pool_size": self.pool_size,
                "statement_timeout_ms": int(self.statement_timeout_seconds * 1000)}


class _Settings(BaseModel):
    """The tables other than ``[[connectors]]`` (one list, for both models below)."""

    model_config = ConfigDict(extra="forbid")

    store: StoreSettings = Field(default_factory=StoreSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    tui: TuiSettings = Field(default_factory=TuiSettings)
    grouping: GroupingSettings = Field(default_factory=GroupingSettings)
    suspects: SuspectSettings = Field(default_factory=SuspectSettings)
    leases: LeaseSettings = Field(default_factory=LeaseSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
    redaction: RedactionSettings = Field(default_factory=RedactionSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)
    teams: TeamsSettings = Field(default_factory=TeamsSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)


class Config(_Settings):
    """A validated config file."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    connectors: list[SerializeAsAny[ConnectorConfig]] = Field(default_factory=list)
    path: Path | None = Field(default=None, exclude=True)
    """Where it was read from (``None``: defaults, no file)."""

    def enabled_connectors(self) -> list[ConnectorConfig]:
        """Connectors with ``enabled = true``."""
        return [c for c in self.connectors if c.enabled]


class _Tables(_Settings):
    """The top level, with connectors still raw (each is validated by its kind)."""

    connectors: list[dict[str, Any]] = Field(default_factory=list)


def default_config_path() -> Path:
    """``config.toml`` in the user's config directory."""
    return Path(platformdirs.user_config_dir("workbench", appauthor=False)) / "config.toml"


def config_path(explicit: str | os.PathLike[str] | None = None) -> tuple[Path, bool]:
    """The path to use and whether it was asked for by name (``--config``/env)."""
    if explicit is not None:
        return Path(explicit).expanduser(), True
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser(), True
    return default_config_path(), False


def load_config(explicit: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the config; :class:`ConfigError` lists every problem."""
    path, named = config_path(explicit)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if named:
            raise ConfigError(path, ["no such file (run `workbench config init`)"]) from None
        return Config()
    except OSError as exc:
        raise ConfigError(path, [f"cannot read: {exc.strerror or exc}"]) from exc
    return parse_config(raw, path=path)


def parse_config(raw: bytes | str, *, path: Path | None = None) -> Config:
    """Validate TOML text; :class:`ConfigError` lists every problem with its key path."""
    text = raw.decode("utf-8", errors="strict") if isinstance(raw, bytes) else raw
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [f"not valid TOML: {exc}"]) from exc
    problems: list[str] = []
    try:
        tables = _Tables.model_validate(data)
    except ValidationError as exc:
        problems.extend(_problems(exc))
        tables = _Tables.model_validate(_known_good(data, exc))
    connectors = _connectors(tables.connectors, problems)
    # Two tenants naming one secret: a delivery signed with it fits both (the values are
    # compared where they can be read: `config check --secrets`, and every delivery).
    problems.extend(tables.api.receivers.shared_secrets(lambda ref: ref.reference))
    if problems:
        raise ConfigError(path, problems)
    settings = {name: getattr(tables, name) for name in _Settings.model_fields}
    return Config(**settings, connectors=connectors, path=path)


def _known_good(data: dict[str, Any], exc: ValidationError) -> dict[str, Any]:
    """``data`` without the top-level tables that failed, so connectors are still checked."""
    bad = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
    good = {k: v for k, v in data.items() if k not in bad and k in _Tables.model_fields}
    return good


def _connectors(raw: list[dict[str, Any]], problems: list[str]) -> list[ConnectorConfig]:
    out: list[ConnectorConfig] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        prefix = f"connectors[{index}]"
        config = _connector(item, prefix, problems)
        if config is None:
            continue
        if config.name == IMPORT_CONNECTOR:
            problems.append(f"{prefix}.name: {IMPORT_CONNECTOR!r} is reserved for bulk import")
        elif config.name in seen:
            problems.append(f"{prefix}.name: duplicate name {config.name!r} "
                            f"(also connectors[{seen[config.name]}])")
        seen.setdefault(config.name, index)
        out.append(config)
    return out


def _connector(item: dict[str, Any], prefix: str, problems: list[str]
               ) -> ConnectorConfig | None:
    kind = item.get("kind")
    if not isinstance(kind, str):
        problems.append(f"{prefix}.kind: field required (the connector type, e.g. \"git\")")
        return None
    try:
        model = entry(kind).config_model()
    except UnknownKindError as exc:
        problems.append(f"{prefix}.kind: {exc}")
        return None
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        problems.extend(_problems(exc, prefix))
        return None


def _problems(exc: ValidationError, prefix: str = "") -> list[str]:
    """One ``key.path: message`` per pydantic error (values are not echoed: secrets)."""
    out = []
    for error in exc.errors(include_url=False, include_input=False):
        path = prefix
        for part in error["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        message = error["msg"]
        if error["type"] == "missing":
            message = "field required"
        elif error["type"] == "extra_forbidden":
            message = "unknown key"
        out.append(f"{path or '(top level)'}: {message[:1].lower()}{message[1:]}")
    return out


def redacted(config: Config) -> dict[str, Any]:
    """The config as plain data with secret values masked and URL passwords hidden."""
    data = config.model_dump(mode="json")
    url = data["store"].get("url")
    if url and "://" in url:
        from sqlalchemy.engine import make_url

        try:
            data["store"]["url"] = make_url(url).render_as_string(hide_password=True)
        except Exception:  # not a URL we can parse: hide it whole rather than leak it
            data["store"]["url"] = "***"
    masked: dict[str, Any] = redact(data)
    return masked
