"""Teams inside a tenant: the ``[teams]`` map gives a new investigation its team, from
every creator (grouper auto-open, TUI, API -- the API in tests/api/test_auth.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage import (
    EventKind,
    InvestigationQuery,
    NewEvent,
    NewInvestigation,
    Severity,
    Source,
    Store,
)
from workbench.config import ConfigError, parse_config
from workbench.grouping import GroupingRules, group_all
from workbench.settings.access import AccessSettings, owning_team, with_team
from workbench.tui.data import Repo

OWNERS = {"payments-api": "payments", "ledger": "payments", "search": "search"}


def test_the_first_owned_service_decides_and_a_given_team_wins() -> None:
    assert owning_team(["checkout", "ledger", "search"], OWNERS) == "payments"
    assert owning_team(["checkout"], OWNERS) is None
    new = NewInvestigation(title="x", services=("search",))
    assert with_team(new, OWNERS).team == "search"
    assert with_team(new.model_copy(update={"team": "sre"}), OWNERS).team == "sre"
    assert with_team(new, {}).team is None


def test_config_tables_are_validated() -> None:
    config = parse_config('[teams]\npayments = ["payments-api", "ledger"]\n'
                          '[access]\nviewers_see = "own_team"\n')
    assert config.teams.owners() == {"payments-api": "payments", "ledger": "payments"}
    assert config.access.visibility("viewer", "payments").teams == frozenset({"payments"})
    assert config.access.visibility("viewer", None).teams == frozenset()
    assert not config.access.visibility("responder", "payments").restricted
    assert not AccessSettings().visibility("viewer", "payments").restricted
    with pytest.raises(ConfigError, match="owned by both 'a' and 'b'"):
        parse_config('[teams]\na = ["x"]\nb = ["x"]\n')
    with pytest.raises(ConfigError, match="access.viewers_see"):
        parse_config('[access]\nviewers_see = "everyone"\n')


def test_an_auto_opened_investigation_takes_its_services_team(store: Store) -> None:
    store.ingest([NewEvent(source=Source.METRICS, kind=EventKind.ALERT,
                           severity=Severity.CRITICAL, service="ledger", title="lag",
                           occurred_at=datetime(2026, 11, 28, tzinfo=UTC), dedup_key="a1")])
    assert group_all(store, GroupingRules(auto_open=True, owners=OWNERS)).opened == 1
    [inv] = store.list_investigations(InvestigationQuery()).items
    assert inv.team == "payments"


def test_an_investigation_created_in_the_tui_takes_its_services_team(store: Store) -> None:
    store.ingest([NewEvent(source=Source.LOGS, kind=EventKind.LOG, service="search",
                           title="500s", occurred_at=datetime(2026, 11, 28, tzinfo=UTC))])
    repo = Repo(store, actor="tui:alex")
    repo.owners = OWNERS
    assert repo.create("search errors", [1], author="alex").team == "search"
