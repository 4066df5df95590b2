"""The ``workbench`` command: subcommands are registered by small modules.

Each module in :data:`COMMANDS` exposes ``register(subparsers)`` and sets a
``handler(args) -> int`` default; heavy imports happen inside handlers so that
``workbench --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from workbench import __version__

if TYPE_CHECKING:
    from storage import Store
    from workbench.config import Config

Handler = Callable[[argparse.Namespace], int]

COMMANDS = (
    "workbench.cli.db",
    "workbench.cli.demo",
    "workbench.cli.ingest",
    "workbench.cli.report",
    "workbench.cli.verdict",
    "workbench.cli.group",
    "workbench.cli.token",
    "workbench.cli.config_cmd",
    "workbench.cli.sync",
    "workbench.cli.connectors_cmd",
    "workbench.cli.dlq",
    "workbench.cli.serve",
    "workbench.cli.audit_cmd",
    "workbench.cli.retention_cmd",
    "workbench.cli.export_cmd",
    "workbench.cli.maintenance_cmd",
    "workbench.cli.patterns_cmd",
    "workbench.cli.similar_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Incident-investigation workbench. With no command, opens the TUI.",
    )
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    add_store_option(parser)
    parser.add_argument(
        "--config", metavar="PATH", default=None,
        help="config file (default: $WORKBENCH_CONFIG, else config.toml in the user config "
             "directory)")
    importlib.import_module("workbench.cli.tui").register_root(parser)  # --read-only etc.
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def add_store_option(parser: argparse.ArgumentParser) -> None:
    """``--db``: a file path or database URL (default: ``$WORKBENCH_DB`` or the data dir)."""
    parser.add_argument(
        "--db", metavar="PATH|URL", default=argparse.SUPPRESS,
        help="store location: a SQLite file path or a postgresql:// URL "
             "(default: $WORKBENCH_DB, else workbench.db in the user data directory)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "db"):
        args.db = None
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        handler = _default_handler()
        if handler is None:
            parser.print_help()
            return 0
    try:
        status = handler(args)
    except KeyboardInterrupt:
        return 130
    except CliError as exc:
        sys.stderr.write(f"workbench: error: {exc}\n")
        return 2
    return status


def _default_handler() -> Handler | None:
    """The TUI when it is installed; ``None`` prints help instead."""
    try:
        module = importlib.import_module("workbench.cli.tui")
    except ModuleNotFoundError:
        return None
    run: Handler | None = getattr(module, "run", None)
    return run


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def load_config(args: argparse.Namespace) -> Config:
    """The config named by ``--config`` (or the default); problems become :class:`CliError`."""
    from workbench.config import ConfigError
    from workbench.config import load_config as load

    try:
        return load(getattr(args, "config", None))
    except ConfigError as exc:
        raise CliError(f"{exc} (see `workbench config check`)") from exc


def _configured_store_url(args: argparse.Namespace) -> str | None:
    """``[store] url`` from the config, unless ``$WORKBENCH_DB`` says otherwise."""
    import os

    if os.environ.get("WORKBENCH_DB"):
        return None
    url: str | None = load_config(args).store.url
    return url


def _engine_options(args: argparse.Namespace) -> dict[str, Any]:
    """``[store]`` pool and timeout settings; defaults if the config cannot be read."""
    from workbench.config import StoreSettings

    try:
        settings: StoreSettings = load_config(args).store
    except CliError:
        settings = StoreSettings()
    return settings.engine_options()


def cli_actor() -> str:
    """Who a command-line change is audited as: ``cli:<OS user>``."""
    from workbench.identity import actor, os_user

    return actor("cli", os_user())


def _redaction(args: argparse.Namespace) -> Any:
    """The ``[redaction]`` policy; the default one (every detector) if the config cannot
    be read, so a broken config never means storing secrets."""
    from workbench.settings.redaction import RedactionSettings

    try:
        settings: RedactionSettings = load_config(args).redaction
    except CliError:
        settings = RedactionSettings()
    return settings.policy()


def open_store(args: argparse.Namespace, *, read_only: bool = False) -> Store:
    """Open the store named by ``--db`` (imported lazily); errors become :class:`CliError`.

    Every command opens its store here, so every ingest it makes is redacted by the
    configured policy (:mod:`storage.redaction`)."""
    from storage import Store
    from storage.engine import StoreConfigError

    location = args.db or _configured_store_url(args)
    try:
        return Store.open(location, read_only=read_only, redaction=_redaction(args),
                          **_engine_options(args))
    except StoreConfigError as exc:
        raise CliError(str(exc)) from exc
    except Exception as exc:  # connection refused, bad credentials, unreadable file
        raise CliError(f"cannot open the store: {exc.__class__.__name__}: {exc}") from exc
