"""The TUI's start-up stays lean (issue 11): when the first list is on the screen of
``workbench`` on a SQLite store, nothing has loaded the REST API (FastAPI, uvicorn),
the connectors' machinery, numpy, SQLAlchemy's PostgreSQL dialect or the OpenTelemetry
SDK; the services beside the UI start after it, and the PostgreSQL dialect and the SDK
(tracing off) never load at all.

The real entry point runs headless in a fresh interpreter, with a logs connector and
the API configured, so the second snapshot proves the probe sees those imports."""

from __future__ import annotations

from pathlib import Path

from storage import Store
from tests.import_probe import run_probe
from tests.tui.conftest import seed

DEFERRED = ("fastapi", "starlette", "uvicorn", "numpy", "httpx", "workbench.api",
            "connectors.supervisor", "connectors.logs.connector", "connectors.logs.parse")
"""Not loaded when the first list shows (a configured connector's config model is: the
config is read before the UI starts)."""
NEVER = ("sqlalchemy.dialects.postgresql", "opentelemetry.sdk", "opentelemetry.exporter",
         "alembic", "psycopg")
"""Not loaded at all on a current SQLite store with tracing off."""

STARTUP_PROBE = """
from workbench.runtime.core import Runtime
from workbench.tui.app import WorkbenchApp
from workbench.cli.main import main
names = tuple(sys.argv[1].split(","))
seen, apps = {}, []
run, shown, start = WorkbenchApp.run, WorkbenchApp.list_shown, Runtime.start

def list_shown(self):
    seen.setdefault("list", loaded(*names))
    apps.append(self)
    shown(self)

async def started(self, on_error=None):
    await start(self, on_error)
    seen["services"] = loaded(*names)
    apps[0].exit()

WorkbenchApp.list_shown = list_shown
WorkbenchApp.run = lambda self: run(self, headless=True, size=(80, 24))
Runtime.start = started
status = main(["--db", sys.argv[2], "--config", sys.argv[3]])
print(json.dumps([status, seen]))
"""


def test_first_list_before_the_services_imports(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "wb.db")
    seed(store)
    store.close()
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.log").write_text('{"ts": "2026-11-28T13:00:00Z", "msg": "hello"}\n')
    config = tmp_path / "config.toml"
    config.write_text(f'[api]\nport = 0\n\n[[connectors]]\nkind = "logs"\nname = "app"\n'
                      f'paths = ["{logs}/*.log"]\n')
    home = {"HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_CACHE_HOME": str(tmp_path / "cache"), "WORKBENCH_DB": ""}
    status, seen = run_probe(STARTUP_PROBE, ",".join(DEFERRED + NEVER),
                             str(tmp_path / "wb.db"), str(config), environ=home)
    assert status == 0
    assert seen["list"] == [], "loaded before the first list was shown"
    later = {m.split(".")[0] for m in seen["services"]}
    assert {"fastapi", "uvicorn", "numpy", "connectors"} <= later  # the probe sees them
    assert not [m for m in seen["services"] if m.startswith(NEVER)]
