"""``[tui] tenant``: the TUI lists only that tenant's investigations (pilot, real store
on each engine). The tenant is entered by the start path the ``workbench`` command
runs (``workbench.cli.tui._identity``); without it, the same store shows the default
tenant's investigations and not acme's, so the check can fail."""

from __future__ import annotations

from storage import NewInvestigation, Store, tenants, visibility
from tests.tui.conftest import make_app, seed, settle
from tests.tui.on_top import screen_as
from workbench.cli.tui import _identity
from workbench.config import Config
from workbench.settings.tui import TuiSettings
from workbench.tui.screens.investigations import InvestigationsScreen
from workbench.tui.widgets.steady import Steady

ACME_TITLE = "acme: billing queue stuck"


async def _titles(store: Store, config: Config) -> tuple[list[str], str]:
    """The titles listed, and the list's status line."""
    app = make_app(store, identity=_identity(config, store), settings=config.tui)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = screen_as(app, InvestigationsScreen)
        await settle(pilot, lambda: bool(screen.rows.rows))
        status = str(screen.query_one("#list-status", Steady).render())
        return [row.title for row in screen.rows.rows], status


async def test_tui_tenant_shows_only_that_tenants_investigations(store: Store) -> None:
    seed(store)                                                  # the default tenant's demo
    with store.write() as session:
        acme = tenants.create_tenant(session=session, name="acme").id
    with visibility.seeing(visibility.Visibility(tenant_id=acme)):
        store.create_investigation(NewInvestigation(title=ACME_TITLE, services=("billing",)))
    mine, status = await _titles(store, Config())
    assert mine and ACME_TITLE not in mine
    assert status.startswith("Investigations  ")  # a single tenant never sees the concept
    theirs, status = await _titles(store, Config(tui=TuiSettings(tenant="acme")))
    assert theirs == [ACME_TITLE]
    assert status.startswith("Investigations · acme  "), status  # which organisation this is
