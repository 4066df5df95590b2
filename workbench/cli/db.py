"""``workbench db``: schema migrations."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from workbench.cli.main import CliError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("db", help="manage the store's schema")
    actions = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    upgrade = actions.add_parser("upgrade", help="apply migrations up to REVISION (default: head)")
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.set_defaults(handler=_upgrade)
    current = actions.add_parser("current", help="print the store's revision and the newest known")
    current.set_defaults(handler=_current)


def _engine(args: argparse.Namespace) -> Any:
    from storage.engine import StoreConfigError, make_engine

    try:
        return make_engine(args.db)
    except StoreConfigError as exc:
        raise CliError(str(exc)) from exc


def _upgrade(args: argparse.Namespace) -> int:
    from storage import migrate

    engine = _engine(args)
    before = migrate.current_revision(engine)
    migrate.upgrade(engine, args.revision)
    after = migrate.current_revision(engine)
    sys.stdout.write(f"store at {engine.url.render_as_string(hide_password=True)}: "
                     f"{before or 'empty'} -> {after}\n")
    return 0


def _current(args: argparse.Namespace) -> int:
    from storage import migrate

    engine = _engine(args)
    sys.stdout.write(f"current: {migrate.current_revision(engine) or 'empty'}\n"
                     f"head:    {migrate.head_revision()}\n")
    return 0
