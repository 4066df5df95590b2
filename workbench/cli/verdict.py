"""``workbench suspect ID EVENT confirm|rule-out|clear``: a verdict on a suspect change.

The same store function as ``PUT /api/investigations/{id}/suspects/{event}/verdict``,
audited in the same transaction (actor ``cli:<OS user>``, ``via: cli``).
"""

from __future__ import annotations

import argparse
import sys

from workbench.cli.main import CliError, cli_actor, open_store

ACTIONS = {"confirm": "confirmed", "rule-out": "ruled_out", "clear": None}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "suspect", help="confirm a suspect change as the cause, rule it out, or clear the verdict")
    parser.add_argument("investigation_id", type=int, metavar="ID")
    parser.add_argument("event_id", type=int, metavar="EVENT")
    parser.add_argument("action", choices=tuple(ACTIONS))
    parser.add_argument("--note", default=None, help="why (kept with the verdict)")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from storage import NotFoundError, verdicts
    from workbench.sanitize import sanitize_line

    actor = cli_actor()
    store = open_store(args)
    try:
        verdict = ACTIONS[args.action]
        with store.write() as session:
            change = verdicts.decide(
                session=session, investigation_id=args.investigation_id,
                event_id=args.event_id, verdict=verdicts.Verdict(verdict) if verdict else None,
                actor=actor, via="cli", note=args.note)
    except (NotFoundError, verdicts.NotAChangeError) as exc:
        raise CliError(str(exc)) from exc
    finally:
        store.close()
    root = change.investigation.root_cause
    sys.stdout.write(f"investigation {args.investigation_id}, event {args.event_id}: "
                     f"{verdict or 'verdict cleared'}; root cause: "
                     f"{sanitize_line(root) if root else '-'}\n")
    return 0
