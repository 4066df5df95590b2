"""Teams inside a tenant: the ``[teams]`` ownership map and the ``[access]`` table.

``[teams]`` maps each team to the services it owns::

    [teams]
    payments = ["payments-api", "ledger"]
    search = ["search"]

An investigation created without a team (by the grouper's auto-open, the API, the
TUI) takes the team of the first of its services that has an owner
(:func:`owning_team`, the one definition every creator calls). ``[access]
viewers_see = "own_team"`` then limits a viewer token to the investigations of its
own team (:meth:`AccessSettings.visibility`; enforced by the store, see
:mod:`storage.visibility`); responders and admins see every investigation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, RootModel, model_validator

from storage.models import NewInvestigation
from storage.visibility import DEFAULT_TENANT, EVERYTHING, Visibility


class TeamsSettings(RootModel[dict[str, list[str]]]):
    """``team -> services it owns``; a service has at most one owner."""

    root: dict[str, list[str]] = {}

    @model_validator(mode="after")
    def _one_owner(self) -> TeamsSettings:
        seen: dict[str, str] = {}
        for team, services in self.root.items():
            if not team.strip():
                raise ValueError("a team name must not be empty")
            for service in services:
                if service in seen and seen[service] != team:
                    raise ValueError(f"service {service!r} is owned by both "
                                     f"{seen[service]!r} and {team!r}")
                seen[service] = team
        return self

    def owners(self) -> dict[str, str]:
        """``service -> team``."""
        return {service: team for team, services in self.root.items() for service in services}


def owning_team(services: Iterable[str], owners: Mapping[str, str]) -> str | None:
    """The team of the first of ``services`` that has an owner, if any."""
    return next((owners[s] for s in services if s in owners), None)


def with_team(new: NewInvestigation, owners: Mapping[str, str]) -> NewInvestigation:
    """``new`` with its team set from the ownership map, unless it names one already."""
    if new.team is not None or not owners:
        return new
    team = owning_team(new.services, owners)
    return new if team is None else new.model_copy(update={"team": team})


class AccessSettings(BaseModel):
    """The ``[access]`` table: what each role may see."""

    model_config = ConfigDict(extra="forbid")

    viewers_see: Literal["all", "own_team"] = "all"
    """``own_team``: a viewer token sees only the investigations of its team (one
    without a team sees none); ``all``: every investigation."""

    def visibility(self, role: str, team: str | None,
                   tenant_id: int = DEFAULT_TENANT) -> Visibility:
        """What a caller with ``role`` and ``team`` in tenant ``tenant_id`` may see."""
        if role != "viewer" or self.viewers_see == "all":
            return EVERYTHING if tenant_id == DEFAULT_TENANT else Visibility(tenant_id=tenant_id)
        return Visibility(frozenset() if team is None else frozenset({team}), tenant_id)
