"""``workbench group``: run the grouping rules over events stored since the last pass."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import TYPE_CHECKING

from workbench.cli.main import CliError, open_store

if TYPE_CHECKING:
    from storage import Store
    from workbench.grouping import GroupingResult, GroupingRules


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "group", help="link new events to open investigations by the grouping rules")
    parser.add_argument("--window-minutes", type=int, default=None, metavar="N",
                        help="service-window rule: minutes around the latest linked event "
                             "(default: [grouping] window_minutes)")
    parser.add_argument("--auto-open", action="store_true",
                        help="open an investigation for a critical alert/anomaly that matched "
                             "none (also: [grouping] auto_open)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print what would be linked and opened, and why; change nothing")
    parser.add_argument("--since", default=None, metavar="TIME",
                        help="--dry-run: examine every event since TIME (ISO 8601 or e.g. 2h), "
                             "not only those after the last pass")
    parser.add_argument("--json", action="store_true", help="--dry-run: print JSON")
    parser.set_defaults(handler=_run)


def rules_from(args: argparse.Namespace) -> GroupingRules:
    """``[grouping]`` from the config, with this command's flags on top."""
    from dataclasses import replace

    from workbench.cli.main import load_config

    config = load_config(args)
    rules: GroupingRules = config.grouping.rules(config.teams.owners())
    if args.window_minutes is not None:
        rules = replace(rules, window=timedelta(minutes=args.window_minutes))
    return replace(rules, auto_open=True) if args.auto_open else rules


def _run(args: argparse.Namespace) -> int:
    rules = rules_from(args)
    if args.dry_run:
        from workbench.cli.group_preview import run_preview

        return run_preview(args, rules)
    if args.since is not None or args.json:
        raise CliError("--since and --json go with --dry-run")
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
