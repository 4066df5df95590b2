"""``workbench demo``: load the demo incident, then open the product on it."""

from __future__ import annotations

import argparse
import importlib
import sys

from workbench.cli.main import open_store


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "demo", help="load a realistic demo incident into the store and open it")
    parser.add_argument("--no-ui", action="store_true",
                        help="only load the store (for scripts); print nothing but a summary")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from workbench.demo import load_demo

    store = open_store(args)
    try:
        result = load_demo(store)
    finally:
        store.close()
    sys.stdout.write(f"demo loaded: {result.stored} events stored, {result.already_present} "
                     f"already present; investigation #{result.investigation_id}\n")
    if args.no_ui:
        return 0
    try:
        tui = importlib.import_module("workbench.cli.tui")
    except ModuleNotFoundError:
        return _print_summary(args, result.investigation_id)
    status: int = tui.run(args)
    return status


def _print_summary(args: argparse.Namespace, investigation_id: int) -> int:
    """Without the TUI installed: print the demo investigation as Markdown."""
    from workbench.report import markdown_report

    store = open_store(args)
    try:
        sys.stdout.write(markdown_report(store, investigation_id))
    finally:
        store.close()
    return 0
