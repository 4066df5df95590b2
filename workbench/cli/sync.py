"""``workbench sync``: run every enabled connector until it has caught up once (for cron)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from workbench.cli.main import open_store
from workbench.cli.runtime import build_connectors, config_or_exit, table


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "sync", help="poll every enabled connector until caught up, print a summary, exit")
    parser.add_argument("connector", nargs="*", help="only these connectors (default: all)")
    parser.add_argument("--max-polls", type=int, default=100_000, metavar="N",
                        help="give up on a connector that is not caught up after N polls")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Exit 0 if every connector caught up, 1 if any failed."""
    from connectors.supervisor import Supervisor, SyncSummary

    config = config_or_exit(args)
    built, broken = build_connectors(config, args.connector)
    if not built and not broken:
        sys.stderr.write("workbench: no enabled connectors in the config; nothing to do\n")
        return 0
    store = open_store(args)
    try:
        summaries = asyncio.run(Supervisor(store, built, jitter=0.0).sync(args.max_polls))
    finally:
        store.close()
    for name, error in broken.items():
        summaries[name] = SyncSummary(name, errors=1, error=error)
    sys.stdout.write(_summary(summaries))
    return 1 if any(s.failed for s in summaries.values()) else 0


def _summary(summaries: dict[str, Any]) -> str:
    rows = [(s.name, s.received, s.stored, s.deduplicated, s.dead_lettered, s.errors,
             "ok" if not s.failed else f"FAILED: {s.error}")
            for s in sorted(summaries.values(), key=lambda s: s.name)]
    return table(("connector", "received", "stored", "deduplicated", "dead-lettered",
                  "errors", "result"), rows)
