"""``workbench group``: run the grouping rules over events stored since the last pass."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from workbench.cli.main import open_store

if TYPE_CHECKING:
    from storage import Store
    from workbench.grouping import GroupingResult, GroupingRules


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "group", help="link new events to open investigations by the grouping rules")
    parser.add_argument("--window-minutes", type=int, default=30, metavar="N",
                        help="service-window rule: minutes around the latest linked event")
    parser.add_argument("--auto-open", action="store_true",
                        help="open an investigation for a critical alert/anomaly that matched none")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from workbench.cli.main import CliError, load_config
    from workbench.grouping import GroupingRules

    try:
        owners = load_config(args).teams.owners()
    except CliError:
        owners = {}
    rules = GroupingRules(window=timedelta(minutes=args.window_minutes), auto_open=args.auto_open,
                          owners=owners)
    store = open_store(args)
    try:
        result = _group(store, rules)
    finally:
        store.close()
    if result is None:
        sys.stdout.write("grouping runs in another instance (see `workbench connectors`); "
                         "nothing done\n")
        return 0
    sys.stdout.write(f"examined {result.examined} events: {result.linked} linked, "
                     f"{result.opened} investigations opened\n")
    return 0


def _group(store: Store, rules: GroupingRules) -> GroupingResult | None:
    """Every pending batch under the ``grouping`` lease (renewed per batch, released after);
    ``None`` if a running instance holds it."""
    from storage.leases import Holder, claim, release
    from workbench.grouping import LEASE, GroupingResult, group_once

    holder, ttl = Holder.this_process(), timedelta(seconds=30)
    total = GroupingResult(0, 0, 0)
    try:
        while True:
            with store.write() as session:
                grant = claim(session=session, names=[LEASE], holder=holder, ttl=ttl).get(LEASE)
            if grant is None:
                return None if total.examined == 0 else total
            result = group_once(store, rules, grant=grant)
            if not result.examined:
                return total
            total = GroupingResult(total.examined + result.examined,
                                   total.linked + result.linked, total.opened + result.opened)
    finally:
        with store.write() as session:
            release(session=session, names=[LEASE], holder=holder)
