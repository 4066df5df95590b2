"""``workbench tenant``: create and list tenants (an admin's command, on the host).

A single-user install never needs it: everything is in the ``default`` tenant. With
more than one, tokens (``token create --tenant``), connectors (``tenant = "..."`` in
a connector's table), TUI users (``[tui] tenant``) and any command (``--tenant``)
each work inside one tenant and see nothing of another.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from workbench.cli.main import CliError, cli_actor, open_store


def register(sub: Any) -> None:
    """Add ``tenant create|list``."""
    parser: argparse.ArgumentParser = sub.add_parser("tenant", help="manage tenants")
    actions = parser.add_subparsers(dest="tenant_command", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="add a tenant")
    create.add_argument("name")
    create.set_defaults(handler=_create)
    listing = actions.add_parser("list", help="list tenants")
    listing.set_defaults(handler=_list)


def _create(args: argparse.Namespace) -> int:
    """Add a tenant, audited in the default tenant's chain (tenants are the deployment's,
    which the default tenant administers), in the same transaction."""
    from storage import audit, tenants, visibility

    store = open_store(args)
    try:
        with visibility.seeing(visibility.EVERYTHING), store.write() as session:
            made = tenants.create_tenant(session=session, name=args.name)
            audit.record(session=session, actor=cli_actor(), action="tenant.create",
                         target=f"tenant:{made.name}", after={"id": made.id, "name": made.name})
    except (tenants.TenantExistsError, ValueError) as exc:
        raise CliError(str(exc)) from exc
    finally:
        store.close()
    sys.stdout.write(f"tenant {made.name!r} created (id {made.id}); give it tokens with "
                     f"`workbench token create --tenant {made.name} ...`\n")
    return 0


def _list(args: argparse.Namespace) -> int:
    from storage import tenants

    store = open_store(args)
    try:
        with store.read() as session:
            found = tenants.list_tenants(session=session)
    finally:
        store.close()
    sys.stdout.write(f"{'ID':<6} {'NAME':<32} CREATED\n")
    for t in found:
        sys.stdout.write(f"{t.id:<6} {t.name:<32} {t.created_at.strftime('%Y-%m-%d %H:%M:%S')}\n")
    return 0
