"""``workbench connectors``: the health table and DLQ sizes, read from the store.

Health is what the last runner (``serve``, the TUI, ``sync``) persisted, so this
works from another process; DLQ sizes are counted now. Configured connectors that
never ran are listed too.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from workbench.cli.main import CliError, load_config, open_store
from workbench.cli.runtime import ago, table

HEADERS = ("connector", "kind", "status", "breaker", "last success", "last error", "received",
           "stored", "dlq", "updated")


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "connectors", help="connector health and DLQ sizes (from the store)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print one row per connector known to the config or the store."""
    from storage.connector_health import load_health
    from storage.dead_letters import count_pending
    from storage.models import utcnow

    configured = _configured(args)
    store = open_store(args)
    try:
        with store.read() as session:
            health = load_health(session=session)
            pending = count_pending(session=session)
    finally:
        store.close()
    names = sorted(set(configured) | set(health) | set(pending))
    rows = [_row(n, configured.get(n), health.get(n), pending.get(n, 0)) for n in names]
    if args.json:
        import orjson

        sys.stdout.write(orjson.dumps([dict(zip(HEADERS, r, strict=True)) for r in rows],
                                      option=orjson.OPT_INDENT_2, default=str).decode() + "\n")
        return 0
    now = utcnow()
    shown = [(*r[:4], ago(r[4], now), r[5], *r[6:9], ago(r[9], now)) for r in rows]
    sys.stdout.write(table(HEADERS, shown) if rows else "no connectors configured or seen\n")
    return 0


def _configured(args: argparse.Namespace) -> dict[str, str]:
    """``name -> kind`` from the config; a broken config only warns (the store still answers)."""
    try:
        config = load_config(args)
    except CliError as exc:
        sys.stderr.write(f"workbench: warning: {exc}\n")
        return {}
    return {c.name: c.kind + ("" if c.enabled else " (disabled)") for c in config.connectors}


def _row(name: str, kind: str | None, health: tuple[dict[str, Any], Any] | None,
         dlq: int) -> tuple[Any, ...]:
    snap, updated = health if health is not None else ({}, None)
    error = snap.get("last_error")
    if error and snap.get("last_error_class"):
        error = f"{snap['last_error_class']}: {error}"
    status = snap.get("status", "never run" if health is None else "?")
    return (name, kind or snap.get("kind", "?"), status, snap.get("breaker_state", "-"),
            snap.get("last_success_at"), error or "-", snap.get("received", 0),
            snap.get("stored", 0), dlq, updated)
