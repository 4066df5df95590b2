"""``workbench report ID``: an investigation as Markdown or JSON, for tickets and chat."""

from __future__ import annotations

import argparse
import sys

from workbench.cli.main import CliError, open_store


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "report", help="print an investigation (fields, suspects, timeline) as Markdown or JSON")
    parser.add_argument("investigation_id", type=int, metavar="ID")
    parser.add_argument("--format", choices=("markdown", "json", "postmortem"),
                        default="markdown",
                        help="postmortem: a draft with the usual sections, filled from the store")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from storage import NotFoundError
    from workbench.cli.main import load_config
    from workbench.report import json_report, markdown_report

    settings = load_config(args).suspects
    store = open_store(args)
    try:
        if args.format == "postmortem":
            from workbench.export.postmortem import postmortem

            sys.stdout.write(postmortem(store, args.investigation_id, settings=settings))
        elif args.format == "json":
            sys.stdout.buffer.write(json_report(store, args.investigation_id,
                                                settings=settings) + b"\n")
        else:
            sys.stdout.write(markdown_report(store, args.investigation_id, settings=settings))
    except NotFoundError as exc:
        raise CliError(str(exc)) from exc
    finally:
        store.close()
    return 0
