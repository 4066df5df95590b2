"""``workbench audit list|verify``: read the audit log and check its hash chain."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

from workbench.cli.main import open_store


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``audit list|verify``."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "audit", help="read the audit log and verify its hash chain")
    actions = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="entries, newest first")
    listing.add_argument("--actor", help="a token name, cli:<user>, tui:<user>, grouping ...")
    listing.add_argument("--action", help="an action or its prefix (investigation.)")
    listing.add_argument("--target", help="investigation:12, dead_letter:3, token:ci ...")
    listing.add_argument("--since", type=_when, help="ISO 8601 time with a zone")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(handler=_list)
    verify = actions.add_parser("verify", help="walk the hash chain; exit 1 at the first "
                                               "edited, deleted or reordered row")
    verify.set_defaults(handler=_verify)


def _when(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from exc
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{value!r} has no zone (add Z or +HH:MM)")
    return parsed


def _list(args: argparse.Namespace) -> int:
    import orjson

    from storage import audit
    from workbench.sanitize import json_safe, sanitize_line

    store = open_store(args, read_only=True)
    try:
        with store.read() as session:
            entries = audit.list_entries(session=session, limit=args.limit, actor=args.actor,
                                         action=args.action, target=args.target,
                                         since=args.since)
    finally:
        store.close()
    for entry in entries:
        if args.json:
            sys.stdout.write(json_safe(orjson.dumps(entry.model_dump(mode="json"))).decode()
                             + "\n")
            continue
        change = ""
        if entry.before is not None or entry.after is not None:
            change = f"  {_short(entry.before)} -> {_short(entry.after)}"
        line = (f"{entry.id:>6}  {entry.at:%Y-%m-%d %H:%M:%S}Z  {entry.actor:<20} "
                f"{entry.action:<22} {entry.target or '-'}{change}")
        sys.stdout.write(sanitize_line(line, limit=400) + "\n")
    return 0


def _short(value: Any) -> str:
    import orjson

    text = "-" if value is None else orjson.dumps(value).decode()
    return text if len(text) <= 80 else text[:77] + "..."


def _verify(args: argparse.Namespace) -> int:
    from storage import audit

    store = open_store(args, read_only=True)
    try:
        with store.read() as session:
            verdict = audit.verify(session=session)
    finally:
        store.close()
    if verdict.ok:
        sys.stdout.write(f"audit chain ok: {verdict.rows} row(s); head {verdict.head}\n")
        return 0
    sys.stdout.write(f"audit chain broken at row {verdict.broken_at}: {verdict.reason} "
                     f"({verdict.rows} row(s) before it hold)\n")
    return 1
