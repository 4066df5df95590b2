"""Shared by the connector commands: the config, the runtime's builders, plain-text tables."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from workbench.cli.main import CliError, load_config

if TYPE_CHECKING:
    from connectors.base import Connector, ConnectorConfig
    from connectors.dlq import Parsers
    from workbench.config import Config
    from workbench.runtime import RuntimeOptions


def config_or_exit(args: argparse.Namespace) -> Config:
    """The validated config (a :class:`CliError` lists what is wrong)."""
    config: Config = load_config(args)
    return config


def runtime_options(args: argparse.Namespace, *, read_only: bool = False) -> RuntimeOptions:
    """Which services run beside the TUI or in ``serve``, from the root options
    ``--no-api``, ``--no-connectors`` and ``--read-only`` (or ``read_only``)."""
    from workbench.runtime import RuntimeOptions

    return RuntimeOptions(connectors=not getattr(args, "no_connectors", False),
                          api=not getattr(args, "no_api", False),
                          read_only=read_only or bool(getattr(args, "read_only", False)))


def build_connectors(config: Config, names: Sequence[str] = (), *, enabled_only: bool = True
                     ) -> tuple[list[tuple[Connector, ConnectorConfig]], dict[str, str]]:
    """:func:`workbench.runtime.build.build_connectors`; an unknown name is a :class:`CliError`."""
    from workbench.runtime.build import UnknownConnectorError
    from workbench.runtime.build import build_connectors as build

    try:
        return build(config, names, enabled_only=enabled_only)
    except UnknownConnectorError as exc:
        raise CliError(str(exc)) from exc


def parsers(config: Config) -> Parsers:
    """Every configured connector's DLQ parser (:func:`workbench.runtime.build.parsers`)."""
    from workbench.runtime.build import parsers as every

    return every(config)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain, aligned text table; every cell is sanitised (data is untrusted)."""
    from workbench.sanitize import sanitize_line

    cells = [[sanitize_line("" if v is None else v, limit=80) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [all(_is_number(r[i]) for r in cells) and bool(cells) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w)
                 for v, w, num in zip(values, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), *(line(r) for r in cells)]) + "\n"


def _is_number(value: str) -> bool:
    return value.lstrip("-").isdigit()


def ago(value: Any, now: Any) -> str:
    """``12s ago`` style age of a datetime (or ISO string); ``-`` if unknown."""
    from datetime import datetime

    if value is None:
        return "-"
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    seconds = max(0, int((now - when).total_seconds()))
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"
