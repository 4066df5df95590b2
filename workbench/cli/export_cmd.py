"""``workbench export events|bundle ID`` and ``workbench import bundle FILE``.

``export events`` writes an investigation's timeline as JSON Lines (the format
``workbench ingest`` reads back) or as CSV in Timesketch's import columns;
``export bundle`` writes the investigation with its events, links, notes and
verdicts as one checksummed file that ``import bundle`` loads into another store
(idempotently: twice is once). Output goes to stdout unless ``--output`` names a file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import IO

from workbench.cli.main import CliError, cli_actor, load_config, open_store


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = sub.add_parser("export", help="export an investigation's timeline or a bundle")
    what = export.add_subparsers(dest="what", metavar="WHAT", required=True)
    events = what.add_parser("events", help="the linked events as JSONL (import format) or "
                                            "Timesketch CSV")
    events.add_argument("investigation_id", type=int, metavar="ID")
    events.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    events.add_argument("--raw", action="store_true",
                        help="CSV cells as stored: no escapes, no formula guard "
                             "(refused when stdout is a terminal)")
    events.add_argument("--output", "-o", type=Path, default=None, metavar="FILE")
    events.set_defaults(handler=_events)
    bundle = what.add_parser("bundle", help="the investigation as one file for another store")
    bundle.add_argument("investigation_id", type=int, metavar="ID")
    bundle.add_argument("--output", "-o", type=Path, default=None, metavar="FILE")
    bundle.set_defaults(handler=_bundle)
    load = sub.add_parser("import", help="load an investigation bundle into this store")
    load_what = load.add_subparsers(dest="what", metavar="WHAT", required=True)
    load_bundle = load_what.add_parser("bundle", help="a file written by `export bundle`")
    load_bundle.add_argument("file", type=Path, metavar="FILE")
    load_bundle.set_defaults(handler=_import)


def _sink(path: Path | None) -> IO[bytes]:
    if path is None:
        return sys.stdout.buffer
    try:
        return path.open("wb")
    except OSError as exc:
        raise CliError(f"{path}: cannot write: {exc.strerror or exc}") from exc


def _events(args: argparse.Namespace) -> int:
    from storage import NotFoundError
    from workbench.export.timeline import export_chunks

    if args.raw and args.output is None and sys.stdout.isatty():
        raise CliError("--raw output would reach the terminal unescaped; use --output FILE "
                       "or a pipe")
    store = open_store(args, read_only=True)
    try:
        chunks = export_chunks(store, args.investigation_id, args.format, raw=args.raw)
        sink = _sink(args.output)
        try:
            for chunk in chunks:
                sink.write(chunk)
        finally:
            sink.flush()
            if args.output is not None:
                sink.close()
    except NotFoundError as exc:
        raise CliError(str(exc)) from exc
    finally:
        store.close()
    return 0


def _bundle(args: argparse.Namespace) -> int:
    from storage import NotFoundError
    from workbench.export.bundle import build_bundle
    from workbench.export.save import record_bundle_export

    store = open_store(args)
    try:
        built = build_bundle(store, args.investigation_id, settings=load_config(args).suspects)
        with store.write() as session:
            record_bundle_export(session, actor=cli_actor(), via="cli",
                                 investigation_id=args.investigation_id, built=built)
    except NotFoundError as exc:
        raise CliError(str(exc)) from exc
    finally:
        store.close()
    sink = _sink(args.output)
    sink.write(built.document)
    sink.flush()
    if args.output is not None:
        sink.close()
        sys.stderr.write(f"investigation {args.investigation_id}: {built.counts['events']} "
                         f"events, {built.counts['links']} links, {built.counts['verdicts']} "
                         f"verdicts -> {args.output} (sha256 {built.sha256})\n")
    return 0


def _import(args: argparse.Namespace) -> int:
    from workbench.export.load import BundleError, import_bundle
    from workbench.sanitize import sanitize_line

    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise CliError(f"{args.file}: cannot read: {exc.strerror or exc}") from exc
    store = open_store(args)
    try:
        result = import_bundle(store, data, actor=cli_actor(), via="cli")
    except BundleError as exc:
        raise CliError(f"{args.file}: {exc}") from exc
    finally:
        store.close()
    verb = "created" if result.created else "already here; merged into"
    sys.stdout.write(f"{args.file}: {verb} investigation {result.investigation_id}: "
                     f"{result.events_stored} events stored ({result.events_present} already "
                     f"present), {result.links_added} links and {result.verdicts_added} "
                     f"verdicts added, {len(result.conflicts)} conflicts\n")
    for conflict in result.conflicts:
        sys.stdout.write(f"  conflict: {sanitize_line(conflict)}\n")
    return 1 if result.conflicts else 0
