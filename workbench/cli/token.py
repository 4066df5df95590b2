"""``workbench token``: create (the secret is printed once), list and revoke API tokens."""

from __future__ import annotations

import argparse
import sys

from workbench.cli.main import CliError, cli_actor, open_store

ROLES = ("viewer", "responder", "admin")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``token create|list|revoke``."""
    parser: argparse.ArgumentParser = sub.add_parser("token", help="manage REST API tokens")
    actions = parser.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a token and print it (shown only once)")
    create.add_argument("--name", required=True, help="who or what the token is for")
    create.add_argument("--role", required=True, choices=ROLES,
                        help="viewer reads; responder also writes; admin also manages "
                             "connectors and tokens")
    create.add_argument("--team", help="the team inside the tenant ([teams]); a viewer "
                                       "sees only its investigations when [access] "
                                       "viewers_see = \"own_team\"")
    create.set_defaults(handler=_create)
    listing = actions.add_parser("list", help="list tokens (never their secrets)")
    listing.set_defaults(handler=_list)
    revoke = actions.add_parser("revoke", help="revoke a token by name")
    revoke.add_argument("name")
    revoke.set_defaults(handler=_revoke)


def _create(args: argparse.Namespace) -> int:
    from storage import audit, tokens

    store = open_store(args)
    try:
        with store.write() as session:
            info, secret = tokens.create_token(session=session, name=args.name, role=args.role,
                                               team=args.team or None)
            audit.record(session=session, actor=cli_actor(), action="token.create",
                         target=f"token:{info.name}", detail={"role": info.role},
                         after={"name": info.name, "role": info.role, "team": info.team})
    except (tokens.TokenExistsError, ValueError) as exc:
        raise CliError(str(exc)) from exc
    finally:
        store.close()
    team = f", team {info.team}" if info.team else ""
    sys.stderr.write(f"token {info.name!r} ({info.role}{team}) created; it is shown once, "
                     "store it now:\n")
    sys.stdout.write(secret + "\n")
    return 0


def _list(args: argparse.Namespace) -> int:
    from storage import tokens

    store = open_store(args)
    try:
        with store.read() as session:
            found = tokens.list_tokens(session=session)
    finally:
        store.close()
    sys.stdout.write(f"{'NAME':<24} {'ROLE':<10} {'TEAM':<16} {'CREATED':<20} "
                     f"{'LAST USED':<20} STATE\n")
    for t in found:
        state = "revoked" if t.revoked_at else "active"
        used = t.last_used_at.strftime("%Y-%m-%d %H:%M:%S") if t.last_used_at else "-"
        sys.stdout.write(f"{t.name:<24} {t.role:<10} {t.team or '-':<16} "
                         f"{t.created_at.strftime('%Y-%m-%d %H:%M:%S'):<20} {used:<20} {state}\n")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from storage import NotFoundError, audit, tokens

    store = open_store(args)
    try:
        with store.write() as session:
            tokens.revoke_token(session=session, name=args.name)
            audit.record(session=session, actor=cli_actor(), action="token.revoke",
                         target=f"token:{args.name}")
    except NotFoundError as exc:
        raise CliError(str(exc)) from exc
    finally:
        store.close()
    sys.stdout.write(f"token {args.name!r} revoked\n")
    return 0
