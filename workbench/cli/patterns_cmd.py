"""``workbench patterns mine|since ID|lines PATTERN``: log patterns, and what changed in them.

``mine`` mines the log events stored since the last run (as the ``patterns`` service
of ``serve`` and the TUI does continuously); ``since ID`` lists the patterns new or
surging since the investigation's top suspect change, with counts before and after;
``lines PATTERN`` prints a pattern's lines (the pivot from a pattern to its events).
"""

from __future__ import annotations

import argparse
import sys

from workbench.cli.main import CliError, load_config, open_store
from workbench.cli.when import parse_when


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("patterns", help="log patterns: mine them, see which are new or "
                                             "surging since the suspect change")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("mine", help="mine the log events stored since the last run"
                       ).set_defaults(handler=_mine)
    since = actions.add_parser("since", help="patterns new or surging since the top suspect "
                                             "change of an investigation")
    since.add_argument("investigation_id", type=int, metavar="ID")
    since.set_defaults(handler=_since)
    lines = actions.add_parser("lines", help="the newest lines of a pattern")
    lines.add_argument("pattern_id", type=int, metavar="PATTERN")
    lines.add_argument("--since", type=parse_when, default=None, metavar="TIME")
    lines.add_argument("--until", type=parse_when, default=None, metavar="TIME")
    lines.add_argument("--limit", type=int, default=50)
    lines.set_defaults(handler=_lines)


def _mine(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from storage.leases import Holder, claim, release
    from workbench.patterns.mine import LEASE, mine_all

    store = open_store(args)
    holder = Holder.this_process()
    try:
        with store.write() as session:
            grant = claim(session=session, names=[LEASE], holder=holder,
                          ttl=timedelta(minutes=5)).get(LEASE)
        if grant is None:
            sys.stdout.write("mining runs in another instance; nothing done\n")
            return 0
        result = mine_all(store, grant=grant)
        with store.write() as session:
            release(session=session, names=[LEASE], holder=holder)
    finally:
        store.close()
    sys.stdout.write(f"examined {result.examined} events: {result.mined} log lines mined, "
                     f"{result.created} new patterns\n")
    return 0


def _since(args: argparse.Namespace) -> int:
    from storage import NotFoundError
    from storage.investigations import get_investigation
    from workbench.patterns.shifts import pattern_shifts
    from workbench.sanitize import sanitize_line

    store = open_store(args, read_only=True)
    try:
        with store.read() as session:
            inv = get_investigation(session=session, investigation_id=args.investigation_id)
            found = pattern_shifts(session, inv, settings=load_config(args).suspects)
    except NotFoundError as exc:
        raise CliError(str(exc)) from exc
    finally:
        store.close()
    sys.stdout.write(sanitize_line(f"since {found.pivot_reason} at "
                                   f"{found.pivot.isoformat() if found.pivot else '-'}") + "\n")
    for s in found.shifts:
        sys.stdout.write(sanitize_line(
            f"{s.status:<8} #{s.pattern.id} {s.before:>6} -> {s.after:<6} "
            f"first seen {s.pattern.first_seen:%Y-%m-%d %H:%M} "
            f"[{s.pattern.service or '-'}] {s.pattern.template}", limit=300) + "\n")
    if not found.shifts:
        sys.stdout.write("no pattern is new or surging (run `workbench patterns mine` first?)\n")
    return 0


def _lines(args: argparse.Namespace) -> int:
    from storage import NotFoundError
    from storage.events import get_events
    from storage.patterns import get_pattern, pattern_event_ids
    from workbench.sanitize import sanitize_line

    store = open_store(args, read_only=True)
    try:
        with store.read() as session:
            pattern = get_pattern(session=session, pattern_id=args.pattern_id)
            ids = pattern_event_ids(session=session, pattern_id=pattern.id, start=args.since,
                                    end=args.until, limit=args.limit)
            events = get_events(session=session, ids=ids)
    except NotFoundError as exc:
        raise CliError(str(exc)) from exc
    finally:
        store.close()
    sys.stdout.write(sanitize_line(f"#{pattern.id} [{pattern.service or '-'}] "
                                   f"{pattern.template}") + "\n")
    for e in events:
        sys.stdout.write(f"{e.id:>8} {e.occurred_at:%Y-%m-%d %H:%M:%S} "
                         f"{sanitize_line(e.title)}\n")
    return 0
