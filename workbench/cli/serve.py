"""``workbench serve``: the runtime (connectors, grouping, the REST API) headless, until a signal.

What runs is :class:`workbench.runtime.Runtime`, the same service layer the TUI
starts; this module only parses options, sets up logging and signals, and waits.
A service that cannot start stops ``serve`` (the TUI, instead, reports it).

SIGINT and SIGTERM set one stop event; a second signal is left to the default
handler only after shutdown began (so a stuck shutdown can still be interrupted).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.cli.main import CliError, open_store
from workbench.cli.runtime import config_or_exit, runtime_options
from workbench.telemetry.logs import formatter as log_formatter
from workbench.telemetry.setup import start as start_telemetry

if TYPE_CHECKING:
    from storage import Store
    from workbench.config import Config
    from workbench.runtime import RuntimeOptions

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "serve", help="run the connectors (and the API) without the TUI until SIGINT/SIGTERM")
    parser.add_argument("--log-file", type=Path, metavar="PATH",
                        help="write logs here instead of stderr")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--log-format", default="text", choices=["text", "json"],
                        help="json: one object per line, with trace_id/span_id when tracing")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Serve until a signal; exit 0 after a clean shutdown."""
    _configure_logging(args)
    config = config_or_exit(args)
    options = runtime_options(args)
    store = open_store(args, read_only=options.read_only)
    telemetry = start_telemetry(config.telemetry, engine=store.engine)
    from workbench.api.server import ApiServerError
    from workbench.config_tenants import UnknownTenantError

    try:
        asyncio.run(_serve(config, store, options))
    except UnknownTenantError as exc:  # a config error only the store can see
        raise CliError(f"{exc} (see `workbench config check --store`)") from exc
    except ApiServerError as exc:  # the port taken, an address not this host's
        raise CliError(str(exc)) from exc
    finally:
        if telemetry is not None:
            telemetry.shutdown()  # flush the last spans before the process ends
        store.close()
    sys.stdout.write("workbench serve: stopped cleanly\n")
    sys.stdout.flush()
    return 0


async def _serve(config: Config, store: Store, options: RuntimeOptions) -> None:
    from workbench.runtime import build_runtime

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    _install_signals(loop, stop)
    runtime = build_runtime(config, store, options)
    async with runtime.running():
        freeze_start_up_heap()
        sys.stdout.write("workbench serve: ready (" + "; ".join(runtime.notes) + ")\n")
        sys.stdout.flush()
        await stop.wait()
        log.info("shutting down")


def freeze_start_up_heap() -> int:
    """Keep what start-up built out of the cyclic collector's full passes; return how many.

    Modules, the app and its routes, models, config and pools live as long as the
    process (~140k objects). A full collection scans all of them; the allocation churn
    of traced requests (spans waiting for export) triggers one every few thousand
    requests, ~90 ms each on the benchmark machine (10-40 us a request at 10-100%
    sampling). Frozen, they are skipped: ~2 ms. Garbage of start-up is collected first;
    a frozen object that later becomes cyclic garbage is not reclaimed (bounded by the
    start-up heap). ``serve`` only: the TUI's widgets come and go.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def _install_signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    def on_signal(signum: int) -> None:
        log.info("received %s", signal.Signals(signum).name)
        stop.set()
        # A second signal during a stuck shutdown gets the default behaviour.
        with contextlib.suppress(Exception):
            loop.remove_signal_handler(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)


def _configure_logging(args: argparse.Namespace) -> None:
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    if args.log_file:
        from storage.engine import create_private_file

        create_private_file(args.log_file)  # 0600: logs name users, hosts and errors
    handler: logging.Handler = (logging.FileHandler(args.log_file) if args.log_file
                                else logging.StreamHandler(sys.stderr))
    handler.setFormatter(log_formatter(args.log_format))
    root.addHandler(handler)
    root.setLevel(args.log_level)
    # Alembic narrates every plugin it loads, and httpx every request a polling
    # connector makes, at INFO; only their problems matter here (DEBUG keeps them).
    quiet = root.level if root.level <= logging.DEBUG else max(logging.WARNING, root.level)
    for chatty in ("alembic", "httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(quiet)
