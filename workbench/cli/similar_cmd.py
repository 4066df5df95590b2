"""``workbench similar ID``: past resolved investigations that look like this one."""

from __future__ import annotations

import argparse
import sys

from workbench.cli.main import CliError, open_store


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("similar", help="seen before: past resolved investigations like "
                                            "this one, with the reasons and what fixed them")
    parser.add_argument("investigation_id", type=int, metavar="ID")
    parser.add_argument("--limit", type=int, default=5)
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from storage import NotFoundError
    from storage.investigations import get_investigation
    from workbench.sanitize import sanitize_line
    from workbench.similar import seen_before

    store = open_store(args, read_only=True)
    try:
        with store.read() as session:
            inv = get_investigation(session=session, investigation_id=args.investigation_id)
            matches = seen_before(session, inv, limit=args.limit)
    except NotFoundError as exc:
        raise CliError(str(exc)) from exc
    finally:
        store.close()
    for m in matches:
        past = m.investigation
        when = f"{past.resolved_at:%Y-%m-%d}" if past.resolved_at else "-"
        sys.stdout.write(sanitize_line(f"#{past.id} [{m.score:.2f}] {past.title} "
                                       f"(resolved {when})") + "\n")
        for reason in m.reasons:
            sys.stdout.write(f"    {sanitize_line(reason)}\n")
        if past.root_cause:
            sys.stdout.write(f"    root cause: {sanitize_line(past.root_cause)}\n")
        for note in m.notes:
            sys.stdout.write(f"    note: {sanitize_line(note)}\n")
    if not matches:
        sys.stdout.write("nothing like it among the resolved investigations\n")
    return 0
