"""``workbench connectors``: the health table and DLQ sizes, read from the store.

Health is what the last runner (``serve``, the TUI, ``sync``) persisted, so this
works from another process; DLQ sizes are counted now. Configured connectors that
never ran are listed too. On a shared store, ``held by`` names the instance
(host:pid) polling each connector, ``since`` when it took over and ``lease age``
how long ago it last renewed; ``NOBODY`` means no instance polls it. Below the table,
what each connector's last poll skipped without failing (a git ref whose objects are
missing, an unreadable path) — the poll succeeded, so nothing else would say so.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from workbench.cli.main import CliError, load_config, open_store
from workbench.cli.runtime import ago, table

if TYPE_CHECKING:
    from connectors.status import ConnectorStatus

HEADERS = ("connector", "kind", "status", "breaker", "last success", "last error", "received",
           "stored", "dlq", "updated", "held by", "since", "lease age")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "connectors", help="connector health and DLQ sizes (from the store)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print one row per connector known to the config or the store."""
    from connectors.status import collect_statuses
    from storage.models import utcnow

    configured = _configured(args)
    store = open_store(args)
    try:
        with store.read() as session:
            known = {s.name: s for s in collect_statuses(session=session)}
    finally:
        store.close()
    names = sorted(set(configured) | set(known))
    rows = [_row(n, configured.get(n), known.get(n)) for n in names]
    warnings = {n: _warnings(known.get(n)) for n in names}
    if args.json:
        import orjson

        from workbench.sanitize import json_safe

        sys.stdout.write(json_safe(orjson.dumps(
            [{**dict(zip(HEADERS, r, strict=True)), "warnings": warnings[r[0]]} for r in rows],
            option=orjson.OPT_INDENT_2, default=str)).decode() + "\n")
        return 0
    now = utcnow()
    shown = [(*r[:4], ago(r[4], now), r[5], *r[6:9], ago(r[9], now), r[10], ago(r[11], now),
              "-" if r[12] is None else f"{r[12]:.0f}s") for r in rows]
    sys.stdout.write(table(HEADERS, shown) if rows else "no connectors configured or seen\n")
    sys.stdout.write(_warning_lines(warnings))
    return 0


def _warnings(status: ConnectorStatus | None) -> list[str]:
    return list(status.health.get("warnings") or ()) if status is not None else []


def _warning_lines(warnings: dict[str, list[str]]) -> str:
    """The skipped-work block under the table (empty when nothing was skipped)."""
    from workbench.sanitize import sanitize_line

    lines = [f"  {sanitize_line(name, limit=80)}: {sanitize_line(w, limit=300)}"
             for name, items in warnings.items() for w in items]
    return "\nwarnings (skipped by the last poll):\n" + "\n".join(lines) + "\n" if lines else ""


def _configured(args: argparse.Namespace) -> dict[str, str]:
    """``name -> kind`` of the config's connectors in the tenant the command works in
    (another tenant's would show as never run here); a broken config only warns (the
    store still answers)."""
    from storage.tenant_context import DEFAULT_TENANT_NAME

    try:
        config = load_config(args)
    except CliError as exc:
        sys.stderr.write(f"workbench: warning: {exc}\n")
        return {}
    tenant = getattr(args, "tenant", None) or DEFAULT_TENANT_NAME
    return {c.name: c.kind + ("" if c.enabled else " (disabled)") for c in config.connectors
            if (c.tenant or DEFAULT_TENANT_NAME) == tenant}


def _row(name: str, kind: str | None, status: ConnectorStatus | None) -> tuple[Any, ...]:
    snap = status.health if status is not None else {}
    updated, dlq = (status.updated_at, status.dlq_size) if status is not None else (None, 0)
    error = snap.get("last_error")
    if error and snap.get("last_error_class"):
        error = f"{snap['last_error_class']}: {error}"
    state = snap.get("status", "never run" if not snap else "?")
    return (name, kind or snap.get("kind", "?"), state, snap.get("breaker_state", "-"),
            snap.get("last_success_at"), error or "-", snap.get("received", 0),
            snap.get("stored", 0), dlq, updated, *_lease(status))


def _lease(status: ConnectorStatus | None) -> tuple[str, Any, float | None]:
    """``held by`` (host:pid, or NOBODY when the lease lapsed), since, lease age."""
    lease = status.lease if status is not None else None
    if lease is None:
        return "-", None, None
    holder = f"{lease.host}:{lease.pid}" if lease.held else "NOBODY"
    return holder, lease.since if lease.held else None, lease.age_seconds
