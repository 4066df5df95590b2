"""``workbench purge`` (retention) and ``workbench erase`` (a data subject's identifier)."""

from __future__ import annotations

import argparse
import sys

from workbench.cli.main import CliError, cli_actor, load_config, open_store


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``purge`` and ``erase``."""
    purge = sub.add_parser("purge", help="delete events older than [retention] allows "
                                         "(events linked to an investigation are kept)")
    purge.add_argument("--dry-run", action="store_true", help="count, change nothing")
    purge.add_argument("--older-than-days", type=float, default=None, metavar="DAYS",
                       help="this age for every source instead of [retention]")
    purge.set_defaults(handler=_purge)
    erase = sub.add_parser("erase", help="remove a person's identifier (e-mail, user id) "
                                         "from every event and dead letter")
    erase.add_argument("--match", required=True, metavar="TEXT",
                       help="the identifier (case-insensitive, at least 4 characters)")
    erase.add_argument("--dry-run", action="store_true", help="report, change nothing")
    erase.set_defaults(handler=_erase)


def _purge(args: argparse.Namespace) -> int:
    from storage.models import utcnow
    from storage.retention import purge

    settings = load_config(args).retention
    if args.older_than_days is not None and args.older_than_days <= 0:
        raise CliError("--older-than-days must be positive")
    if args.older_than_days is None and not settings.enabled:
        raise CliError("no retention is configured: set [retention] days (or per source), "
                       "or pass --older-than-days")
    cutoffs = settings.cutoffs(utcnow(), days=args.older_than_days)
    store = open_store(args)
    try:
        report = purge(store, cutoffs, batch=settings.batch, dry_run=args.dry_run,
                       actor=cli_actor())
    finally:
        store.close()
    verb = "would delete" if args.dry_run else "deleted"
    for source, cutoff in sorted(cutoffs.items()):
        sys.stdout.write(f"{source:<8} before {cutoff:%Y-%m-%d %H:%M}Z: {verb} "
                         f"{report.deleted.get(source, 0)}, kept "
                         f"{report.kept_linked.get(source, 0)} linked to investigations\n")
    sys.stdout.write(f"{verb} {report.total} event(s)"
                     + (f" in {report.batches} batch(es)\n" if not args.dry_run else "\n"))
    return 0


def _erase(args: argparse.Namespace) -> int:
    from storage.retention import erase

    store = open_store(args)
    try:
        report = erase(store, args.match, dry_run=args.dry_run, actor=cli_actor())
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    finally:
        store.close()
    verb = "would" if args.dry_run else ""
    lines = [(f"events deleted{' (would be)' if verb else ''}", report.events_deleted),
             (f"events redacted in place (linked to an investigation)"
              f"{' (would be)' if verb else ''}", report.events_redacted),
             (f"dead letters deleted{' (would be)' if verb else ''}", report.letters_deleted)]
    for what, ids in lines:
        shown = ", ".join(str(i) for i in ids[:50]) + (" ..." if len(ids) > 50 else "")
        sys.stdout.write(f"{what}: {len(ids)}{': ' + shown if ids else ''}\n")
    return 0
