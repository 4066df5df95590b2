"""``workbench`` with no subcommand: the TUI. Textual is imported only here, lazily.

While the TUI owns the terminal nothing else may write to it, so logging goes to
a file in the user's log directory before the app starts.
"""

from __future__ import annotations

import argparse
import importlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage import Store
    from workbench.tui.app import WorkbenchApp

log = logging.getLogger(__name__)


def register_root(parser: argparse.ArgumentParser) -> None:
    """Top-level options that only the TUI uses."""
    parser.add_argument("--read-only", action="store_true", default=False,
                        help="open the TUI without any action that writes "
                             "(for someone shadowing the on-call)")
    parser.add_argument("--no-api", action="store_true", default=False,
                        help="do not serve the REST API beside the TUI")


def run(args: argparse.Namespace) -> int:
    """Open the store and run the TUI until the user quits."""
    from workbench.cli.main import open_store

    store = open_store(args)
    tui_settings, api_settings = _settings(args)
    _log_to_file()
    from workbench.tui.app import WorkbenchApp

    services: list[Any] = []
    if api_settings is not None and api_settings.enabled and not getattr(args, "no_api", False):
        services.append(ApiService(store, api_settings))
    app = WorkbenchApp(store, settings=tui_settings,
                       read_only=bool(getattr(args, "read_only", False)), services=services)
    try:
        app.run()
    finally:
        store.close()
    return int(app.return_code or 0)


def _settings(args: argparse.Namespace) -> tuple[Any, Any]:
    """([tui], [api]) from the config file when a config module exists, else defaults."""
    from workbench.api.settings import ApiSettings
    from workbench.tui.settings import TuiSettings

    try:
        config = importlib.import_module("workbench.config")
    except ModuleNotFoundError:
        return TuiSettings(), ApiSettings()
    loader = getattr(config, "load_config", None) or getattr(config, "load", None)
    if loader is None:
        return TuiSettings(), ApiSettings()
    loaded = loader(getattr(args, "config", None))
    return getattr(loaded, "tui", TuiSettings()), getattr(loaded, "api", ApiSettings())


def _log_to_file() -> None:
    from platformdirs import user_log_dir

    directory = Path(user_log_dir("workbench", appauthor=False))
    directory.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.FileHandler(directory / "tui.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)


class ApiService:
    """The REST API in a side thread for as long as the TUI runs (FastAPI imported here)."""

    def __init__(self, store: Store, settings: Any) -> None:
        self.store, self.settings = store, settings
        self.server: Any = None

    def start(self, app: WorkbenchApp) -> None:
        """Start serving in a thread worker (binding can take a moment)."""
        app.run_worker(lambda: self._start(app), thread=True, group="api",
                       exit_on_error=False)

    def _start(self, app: WorkbenchApp) -> None:
        try:
            from workbench.api.app import create_app
            from workbench.api.server import ApiServer

            self.server = ApiServer(create_app(store=self.store, settings=self.settings),
                                    self.settings).start()
            log.info("REST API on %s", self.server.url)
        except Exception as exc:  # the TUI stays usable without the API
            log.exception("REST API did not start")
            app.notify(f"REST API not started: {exc.__class__.__name__}: {exc}",
                       severity="warning", timeout=10)

    def stop(self) -> None:
        """Ask uvicorn to finish."""
        if self.server is not None:
            self.server.stop()
