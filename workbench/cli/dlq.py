"""``workbench dlq list|show|replay|discard``: the dead-letter queue from the command line."""

from __future__ import annotations

import argparse
import sys

from workbench.cli.main import CliError, cli_actor, open_store
from workbench.cli.runtime import config_or_exit, parsers, table


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("dlq", help="inspect, replay or discard "
                                                     "records that could not be stored")
    actions = parser.add_subparsers(dest="dlq_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="entries, newest first")
    listing.add_argument("--connector", help="only this connector's entries")
    listing.add_argument("--status", choices=["pending", "replayed", "discarded", "all"],
                         default="pending")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(handler=_list)
    show = actions.add_parser("show", help="one entry with its payload")
    show.add_argument("id", type=int)
    show.set_defaults(handler=_show)
    replay = actions.add_parser("replay", help="re-parse with the current parser and store")
    replay.add_argument("ids", type=int, nargs="*", metavar="ID")
    replay.add_argument("--all", action="store_true", help="every pending entry")
    replay.add_argument("--connector", help="with --all: only this connector's entries")
    replay.set_defaults(handler=_replay)
    discard = actions.add_parser("discard", help="give up on entries (kept for audit)")
    discard.add_argument("ids", type=int, nargs="+", metavar="ID")
    discard.set_defaults(handler=_discard)


def _list(args: argparse.Namespace) -> int:
    from connectors import dlq
    from storage.models import DeadLetterStatus

    status = None if args.status == "all" else DeadLetterStatus(args.status)
    store = open_store(args)
    try:
        page = dlq.list_letters(store, connector=args.connector, status=status,
                                limit=args.limit)
    finally:
        store.close()
    rows = [(x.id, x.connector, x.status.value, x.attempts, x.error_class, x.message,
             x.last_seen.isoformat(timespec="seconds")) for x in page.items]
    sys.stdout.write(table(("id", "connector", "status", "attempts", "error", "message",
                            "last seen"), rows))
    if page.next_cursor:
        sys.stdout.write(f"(more: raise --limit above {args.limit})\n")
    return 0


def _show(args: argparse.Namespace) -> int:
    from connectors import dlq
    from storage.events import NotFoundError
    from workbench.sanitize import sanitize

    store = open_store(args)
    try:
        letter = dlq.inspect(store, args.id)
    except NotFoundError as exc:
        raise CliError(str(exc)) from exc
    finally:
        store.close()
    fields = letter.model_dump(exclude={"payload"})
    for key, value in fields.items():
        sys.stdout.write(f"{key}: {sanitize(value)}\n")
    payload = letter.payload.decode("utf-8", errors="backslashreplace")
    sys.stdout.write(f"payload ({len(letter.payload)} bytes):\n{sanitize(payload)}\n")
    return 0


def _replay(args: argparse.Namespace) -> int:
    from connectors import dlq
    from connectors.dlq import ReplayStatus, UnknownParserError
    from storage.events import NotFoundError

    if bool(args.ids) == bool(args.all):
        raise CliError("give entry ids or --all")
    known = parsers(config_or_exit(args))
    store = open_store(args)
    who = cli_actor()
    try:
        if args.all:
            outcomes = dlq.replay_all(store, known, connector=args.connector, by=who)
        else:
            outcomes = [dlq.replay(store, i, known, by=who) for i in args.ids]
    except (NotFoundError, UnknownParserError) as exc:
        raise CliError(str(exc)) from exc
    finally:
        store.close()
    rows = [(o.letter_id, o.status.value, "yes" if o.stored else "no", o.error or "")
            for o in outcomes]
    sys.stdout.write(table(("id", "result", "new event", "error"), rows))
    return 1 if any(o.status is ReplayStatus.FAILED for o in outcomes) else 0


def _discard(args: argparse.Namespace) -> int:
    from connectors import dlq
    from storage.events import NotFoundError

    store = open_store(args)
    try:
        for letter_id in args.ids:
            letter = dlq.discard(store, letter_id, by=cli_actor())
            sys.stdout.write(f"{letter.id}: {letter.status.value}\n")
    except NotFoundError as exc:
        raise CliError(str(exc)) from exc
    finally:
        store.close()
    return 0
