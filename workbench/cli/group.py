"""``workbench group``: run the grouping rules over events stored since the last pass."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from workbench.cli.main import open_store


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "group", help="link new events to open investigations by the grouping rules")
    parser.add_argument("--window-minutes", type=int, default=30, metavar="N",
                        help="service-window rule: minutes around the latest linked event")
    parser.add_argument("--auto-open", action="store_true",
                        help="open an investigation for a critical alert/anomaly that matched none")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from workbench.grouping import GroupingRules, group_all

    rules = GroupingRules(window=timedelta(minutes=args.window_minutes), auto_open=args.auto_open)
    store = open_store(args)
    try:
        result = group_all(store, rules)
    finally:
        store.close()
    sys.stdout.write(f"examined {result.examined} events: {result.linked} linked, "
                     f"{result.opened} investigations opened\n")
    return 0
