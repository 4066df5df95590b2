"""``workbench`` with no subcommand: the TUI. Textual is imported only here, lazily.

While the TUI owns the terminal nothing else may write to it, so logging goes to
a file in the user's log directory before the app starts.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage import Store
    from workbench.config import Config
    from workbench.identity import Identity
    from workbench.telemetry.setup import Telemetry


def register_root(parser: argparse.ArgumentParser) -> None:
    """Top-level options that only the TUI uses."""
    parser.add_argument("--read-only", action="store_true", default=False,
                        help="open the store read-only: no writes from the TUI, no "
                             "connectors or grouping, an API that only reads "
                             "(for someone shadowing the on-call; also for serve)")
    parser.add_argument("--no-api", action="store_true", default=False,
                        help="do not serve the REST API (beside the TUI, or in serve)")
    parser.add_argument("--no-connectors", action="store_true", default=False,
                        help="do not run the configured connectors (beside the TUI, or "
                             "in serve)")


def run(args: argparse.Namespace) -> int:
    """Open the store and run the TUI with the runtime (connectors, grouping, API) beside it."""
    from workbench.cli.main import load_config, open_store
    from workbench.cli.runtime import runtime_options

    config = load_config(args)
    options = runtime_options(args, read_only=config.tui.read_only)
    read_only = options.read_only
    store = open_store(args, read_only=read_only)
    identity = _identity(config, store)
    _log_to_file()
    from workbench.runtime import build_runtime
    from workbench.tui.app import WorkbenchApp

    app = WorkbenchApp(store, settings=config.tui, read_only=read_only, identity=identity,
                       runtime=build_runtime(config, store, options))
    app.config = config
    app.repo.suspect_settings = config.suspects
    app.repo.owners = config.teams.owners()
    telemetry = _start_telemetry(config, store)
    try:
        app.run()
    finally:
        if telemetry is not None:
            telemetry.shutdown()  # flush the last spans of the connectors and grouping
        store.close()
    return int(app.return_code or 0)


def _identity(config: Config, store: Store) -> Identity:
    """Who this TUI acts as, in its tenant (``[tui] tenant``, else its token's); a
    configured token that is not a live one, or of another tenant, stops the start."""
    import dataclasses

    from storage import tenants, visibility
    from workbench.cli.main import CliError, enter_tenant
    from workbench.identity import IdentityError, tui_identity

    try:
        identity = tui_identity(config.tui, store)
    except IdentityError as exc:
        store.close()
        raise CliError(str(exc)) from exc
    enter_tenant(store, config.tui.tenant)
    if identity.tenant_id is not None:
        if config.tui.tenant is not None and identity.tenant_id != visibility.tenant_id():
            store.close()
            raise CliError(f"[tui] token is not a token of tenant {config.tui.tenant!r}")
        visibility.set_process_default(visibility.in_tenant(identity.tenant_id))
    working = visibility.tenant_id()
    if working == visibility.DEFAULT_TENANT:
        return identity
    with store.read() as session:
        name = tenants.tenant_name(session=session, tenant_id=working)
    return dataclasses.replace(identity, tenant=name)


def _start_telemetry(config: Config, store: Store) -> Telemetry | None:
    """Trace the connectors, grouping and API that run beside the TUI, as ``serve`` does.

    The console exporter would write spans over the screen, so beside the TUI it is
    refused (logged to the TUI's log file); OTLP and the ``[telemetry]`` table work.
    """
    from workbench.telemetry.settings import exporter
    from workbench.telemetry.setup import start

    try:
        chosen = exporter(config.telemetry)
    except ValueError:
        chosen = None  # ``start`` logs why and leaves tracing off
    if chosen == "console":
        logging.getLogger(__name__).warning(
            "tracing off in the TUI: the console exporter would write over the screen "
            "(use OTLP, or the console exporter with `workbench serve`)")
        return None
    return start(config.telemetry, engine=store.engine)


def _log_to_file() -> None:
    from platformdirs import user_log_dir

    directory = Path(user_log_dir("workbench", appauthor=False))
    directory.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    from storage.engine import create_private_file

    create_private_file(directory / "tui.log")
    handler = logging.FileHandler(directory / "tui.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
