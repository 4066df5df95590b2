"""``workbench config init|check|show``: write, validate and print the config file."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from workbench.cli.main import CliError

SAMPLE = """\
# Investigation workbench configuration (TOML).
# Validate with `workbench config check`; print it (secrets masked) with
# `workbench config show`. Secrets are never written here: name an environment
# variable (token_env = "NAME", or token = "env:NAME"), a file ("file:/path") or a
# field of a Vault secret ("vault:secret/data/workbench#github_token", read with
# VAULT_ADDR and VAULT_TOKEN or VAULT_ROLE_ID/VAULT_SECRET_ID) instead.

[store]
# A SQLite file path or a postgresql:// URL. --db and $WORKBENCH_DB take precedence.
# url = "postgresql://workbench@db.internal/workbench"

[api]
# The REST API, served by `workbench serve` and beside the TUI.
enabled = true
host = "127.0.0.1"   # keep it on loopback on a shared bastion host
port = 8765

[tui]
# Remap a binding by its id: keymap = { "app.quit" = "q,ctrl+c" }
keymap = {}
# Times shown in "UTC", "local" (this machine's zone) or an IANA name; Z toggles.
display_zone = "UTC"

[grouping]
# Link new events to open investigations: same trace id, same alert fingerprint,
# or same service at min_severity or above within window_minutes of the latest
# linked event. Every link records the rule that made it.
enabled = true
interval_seconds = 5
window_minutes = 30
min_severity = "medium"
auto_open = false              # open an investigation for an unmatched severe alert
auto_open_severity = "critical"
auto_open_count = 1            # open at the N-th such alert of a service ...
auto_open_window_minutes = 10  # ... within this many minutes

[suspects]
# Rank the changes before an investigation's impact by where its errors point.
lookback_minutes = 360
# Points of the score's parts (the defaults, and why: workbench/suspect_settings.py):
# weights = { evidence = 3.0, onset = 3.0, sha = 1.5, time = 2.0, superseded = 1.5 }

[suspects.dependencies]
# Calls that telemetry does not show: service -> services it calls.
# checkout = ["payments", "inventory"]

[suspects.hosts]
# Peer addresses and URL hosts that are not service names -> service (fnmatch patterns).
# "10.0.3.17" = "payments"
# "*.ledger.internal" = "ledger"

[telemetry]
# Traces of the workbench's own work over OTLP/HTTP (docs/telemetry.md). The standard
# OTEL_* variables win over this table (OTEL_TRACES_EXPORTER=otlp turns tracing on).
enabled = false
# endpoint = "http://localhost:4318"
# sample_ratio = 0.1

[search]
# SQLite: `workbench serve` merges the full-text index's segments (one instance at a
# time, under a lease), in short steps; fewer segments make searches cheaper.
# PostgreSQL needs none of this.
merge = true
merge_interval_minutes = 60
merge_pages = 16            # index pages (~4 KB) per step, each its own short transaction
merge_pause_seconds = 0.25  # after each step, so ingest gets in

# One [[connectors]] table per source. Common keys: name (unique), kind, enabled,
# interval_seconds (pause between polls), timeout_seconds (per poll attempt),
# clock_offset_seconds (added to every time the source gives: 90 for a clock 90 s
# slow), clock_skew_warn_seconds (health warns past it, default 300, 0: never), and
# the optional [connectors.retry] / [connectors.breaker] tables shown below.

# [[connectors]]
# kind = "git"
# name = "app-repo"
# repositories = ["/srv/git/app"]
# refs = []                          # empty: every branch and tag
# interval_seconds = 60
# services = { checkout = ["services/checkout/*"], payments = ["services/payments/*"] }

# [[connectors]]
# kind = "logs"
# name = "app-logs"
# paths = ["/var/log/app/*.log"]
# format = "jsonl"                   # jsonl, logfmt, regex, plain, journald
# timezone = "UTC"                   # assumed for timestamps without a zone
# time_format = "%y/%m/%d %H:%M:%S"  # strptime-style, for times that are not ISO (Spark)
# zone_abbreviations = { IST = "+05:30" }  # ambiguous abbreviations (IST, CST, AST)
# on_unmatched = "store"             # regex/plain lines the pattern misses: store or dlq
# interval_seconds = 2

# [[connectors]]
# kind = "datadog_traces"            # Datadog APM: span errors and slow traces
# name = "dd-apm"
# site = "datadoghq.eu"              # datadoghq.com (default), us5.datadoghq.com, ...
# api_key = "env:DD_API_KEY"
# app_key = "vault:secret/data/workbench#dd_app_key"
# query = "env:prod"                 # span search syntax; "*" is every indexed span
# rules = { thresholds_ms = { checkout = 800 } }   # else the 99th percentile per operation
# interval_seconds = 60

# [[connectors]]
# kind = "newrelic_traces"           # New Relic: NRQL over Span through NerdGraph
# name = "nr"
# account_id = 1234567
# user_key = "env:NEW_RELIC_USER_KEY"
# region = "eu"                      # us (default) or eu
# where = "service.name IN ('checkout', 'payments')"
# interval_seconds = 60
#
# [connectors.retry]
# max_attempts = 4                   # calls per poll, the first included
# budget_seconds = 60                # total time for one poll's attempts and waits
# base_seconds = 0.5                 # full-jitter backoff: attempt n waits up to base*2^(n-1)
# max_wait_seconds = 30
#
# [connectors.breaker]
# failure_rate_threshold = 0.5       # open when failures/calls >= this ...
# minimum_calls = 5                  # ... over at least this many calls
# window_seconds = 300               # in this sliding window
# cooldown_seconds = 60              # then allow probe calls
# probe_permits = 1
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "config", help="write, check or show the config file")
    actions = parser.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    init = actions.add_parser("init", help="write a commented sample config")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(handler=_init)
    check = actions.add_parser("check", help="validate; print every problem with its key path")
    check.add_argument("--secrets", action="store_true",
                       help="also check that every secret reference resolves, and that no "
                            "two tenants' receivers share a secret")
    check.add_argument("--store", action="store_true",
                       help="also check that every tenant the config names exists in the "
                            "store (--db)")
    check.set_defaults(handler=_check)
    show = actions.add_parser("show", help="print the effective config (secrets masked)")
    show.set_defaults(handler=_show)
    path = actions.add_parser("path", help="print which config file is used")
    path.set_defaults(handler=_path)


def _init(args: argparse.Namespace) -> int:
    from workbench.config import config_path

    path, _ = config_path(args.config)
    if path.exists() and not args.force:
        raise CliError(f"{path} exists; use --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written owner-only: it names where secrets live, and users add things to it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(SAMPLE)
    sys.stdout.write(f"wrote {path}\n")
    return 0


def _check(args: argparse.Namespace) -> int:
    from workbench.config import ConfigError, config_path, load_config

    path, _ = config_path(args.config)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        sys.stdout.write(f"{exc.path or path}: {len(exc.problems)} problem(s)\n")
        for problem in exc.problems:
            sys.stdout.write(f"  {problem}\n")
        return 1
    problems = _secret_problems(config) if args.secrets else []
    problems += _store_problems(config, args) if args.store else []
    for problem in problems:
        sys.stdout.write(f"  {problem}\n")
    if problems:
        return 1
    where = config.path or f"{path} (absent: defaults)"
    sys.stdout.write(f"{where}: ok, {len(config.connectors)} connector(s)\n")
    return 0


def _secret_problems(config: Any) -> list[str]:
    """Every secret reference in the config -- connectors and ``[api.receivers]`` alike --
    that does not resolve now (values never shown)."""
    from connectors.errors import ConnectorError
    from connectors.secrets import SecretRef, secret_references

    def value(ref: SecretRef) -> str | None:
        try:
            return ref.resolve()
        except ConnectorError:
            return None  # reported above as unresolvable

    unresolved = [f"{where}: {why}" for where, ref in secret_references(config)
                  if (why := ref.check()) is not None]
    shared: list[str] = config.api.receivers.shared_secrets(value)
    return unresolved + shared


def _store_problems(config: Any, args: argparse.Namespace) -> list[str]:
    """Every tenant the config names that the store (opened read-only) does not have."""
    from sqlalchemy.exc import SQLAlchemyError

    from workbench.cli.main import open_store
    from workbench.config_tenants import tenant_references, unknown_tenants

    store = open_store(args, read_only=True)
    try:
        return unknown_tenants(store, tenant_references(config))
    except SQLAlchemyError as exc:  # no schema (a store never opened for writing)
        cause = getattr(exc, "orig", None) or exc
        raise CliError(f"cannot read the store's tenants: {type(cause).__name__}: "
                       f"{str(cause).splitlines()[0]}") from exc
    finally:
        store.close()


def _show(args: argparse.Namespace) -> int:
    import orjson

    from workbench.cli.main import load_config
    from workbench.config import redacted

    data = redacted(load_config(args))
    from workbench.sanitize import json_safe

    sys.stdout.write(json_safe(orjson.dumps(data, option=orjson.OPT_INDENT_2)).decode() + "\n")
    return 0


def _path(args: argparse.Namespace) -> int:
    from workbench.config import config_path

    path, named = config_path(args.config)
    state = "exists" if Path(path).exists() else "absent"
    how = ", chosen by --config/$WORKBENCH_CONFIG" if named else ""
    sys.stdout.write(f"{path} ({state}{how})\n")
    return 0
