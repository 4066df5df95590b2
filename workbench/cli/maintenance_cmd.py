"""``workbench maintenance add|list|remove``: planned changes that mute grouping.

During a window, alerts of its service (and environment, if given) are stored and
marked but neither group nor auto-open. Adding and removing are audited.
"""

from __future__ import annotations

import argparse
import sys

from workbench.cli.main import CliError, cli_actor, load_config, open_store
from workbench.cli.when import parse_when


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("maintenance", help="maintenance windows: alerts in them neither "
                                                "group nor auto-open")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="plan a window")
    add.add_argument("--service", default=None, help="the service (default: every service)")
    add.add_argument("--environment", default=None)
    add.add_argument("--from", dest="start", type=parse_when, required=True, metavar="TIME",
                     help="ISO 8601 with a zone, now, or e.g. +30m")
    add.add_argument("--to", dest="end", type=parse_when, required=True, metavar="TIME")
    add.add_argument("--name", default=None, help="default: SERVICE-START")
    add.add_argument("--reason", default=None)
    add.set_defaults(handler=_add)
    listing = actions.add_parser("list", help="windows (stored and configured) and what each "
                                              "suppressed")
    listing.add_argument("--all", action="store_true", help="include windows that have ended")
    listing.set_defaults(handler=_list)
    remove = actions.add_parser("remove", help="delete a stored window")
    remove.add_argument("window_id", type=int, metavar="ID")
    remove.set_defaults(handler=_remove)


def _add(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from storage import audit
    from storage.maintenance import DuplicateWindowError, Window, create_window

    name = args.name or f"{args.service or 'all'}-{args.start:%Y%m%dT%H%M}"
    try:
        window = Window(name=name, service=args.service, environment=args.environment,
                        starts_at=args.start, ends_at=args.end, reason=args.reason)
    except ValidationError as exc:
        raise CliError("; ".join(e["msg"] for e in exc.errors(include_url=False))) from exc
    store = open_store(args)
    try:
        with store.write() as session:
            created = create_window(session=session, window=window, actor=cli_actor())
            audit.record(session=session, actor=cli_actor(), action="maintenance.add",
                         target=f"maintenance:{created.id}",
                         after=created.model_dump(mode="json"), detail={"via": "cli"})
    except DuplicateWindowError as exc:
        raise CliError(str(exc)) from exc
    finally:
        store.close()
    sys.stdout.write(f"maintenance window {created.id} ({created.name}): "
                     f"{created.service or 'every service'} from {created.starts_at.isoformat()} "
                     f"to {created.ends_at.isoformat()}\n")
    return 0


def _list(args: argparse.Namespace) -> int:
    from storage.maintenance import list_windows
    from storage.models import utcnow
    from workbench.sanitize import sanitize_line

    configured = load_config(args).grouping.maintenance
    store = open_store(args, read_only=True)
    try:
        with store.read() as session:
            windows = list_windows(session=session, extra=configured,
                                   active_after=None if args.all else utcnow())
    finally:
        store.close()
    for w in windows:
        where = f"{w.service or 'every service'}{'/' + w.environment if w.environment else ''}"
        origin = f"id {w.id}" if w.id is not None else "config"
        sys.stdout.write(sanitize_line(
            f"{w.name} ({origin}): {where} {w.starts_at:%Y-%m-%d %H:%M} - "
            f"{w.ends_at:%Y-%m-%d %H:%M} UTC, {w.suppressed} alerts suppressed"
            f"{' -- ' + w.reason if w.reason else ''}") + "\n")
    if not windows:
        sys.stdout.write("no maintenance windows\n")
    return 0


def _remove(args: argparse.Namespace) -> int:
    from storage import NotFoundError, audit
    from storage.maintenance import delete_window

    store = open_store(args)
    try:
        with store.write() as session:
            removed = delete_window(session=session, window_id=args.window_id)
            audit.record(session=session, actor=cli_actor(), action="maintenance.remove",
                         target=f"maintenance:{args.window_id}",
                         before=removed.model_dump(mode="json"), detail={"via": "cli"})
    except NotFoundError as exc:
        raise CliError(str(exc)) from exc
    finally:
        store.close()
    sys.stdout.write(f"maintenance window {args.window_id} ({removed.name}) removed\n")
    return 0
