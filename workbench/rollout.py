"""When each change reached production, and whether a later one replaced it.

- A deploy is live when it happened.
- A commit or pipeline is live from the first deploy of its own sha at or after it;
  else at once when it changes only config files (config is applied without a
  deploy: GitOps, config maps) or when its service has no deploy in the window
  (deploys are not recorded, so we cannot tell); else from the next deploy of its
  service (a deploy ships the history too). Otherwise it is *not deployed before
  impact*.
- A live change is *superseded* by the next live change of the same service
  after it and before impact (it ran clean until then).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

from storage.models import Event, EventKind

CONFIG_SUFFIXES = frozenset({".yaml", ".yml", ".toml", ".ini", ".env", ".properties", ".conf",
                             ".cfg", ".json", ".tfvars", ".hcl"})
"""Files whose change is configuration, not code."""
NOT_CONFIG = frozenset({"package.json", "package-lock.json", "composer.json", "tsconfig.json"})


@dataclass(frozen=True, slots=True)
class Rollout:
    """A change's way to production."""

    live_at: datetime | None
    """When it reached production (``None``: not deployed before impact)."""
    how: str
    """How we know, in words."""
    replaced_by: Event | None = None


def config_only(change: Event) -> bool:
    """A commit whose changed files are all configuration files."""
    files = change.attributes.get("files")
    if change.kind is not EventKind.COMMIT or not isinstance(files, list) or not files:
        return False
    paths = [f.get("path") if isinstance(f, dict) else f for f in files]
    return all(isinstance(p, str) and PurePosixPath(p).suffix.lower() in CONFIG_SUFFIXES
               and PurePosixPath(p).name.lower() not in NOT_CONFIG for p in paths)


def rollouts(changes: Sequence[Event]) -> dict[int, Rollout]:
    """The :class:`Rollout` of every change (changes that never ran already excluded)."""
    deploys: dict[str | None, list[Event]] = {}
    for change in sorted(changes, key=lambda c: (c.occurred_at, c.id)):
        if change.kind is EventKind.DEPLOY:
            deploys.setdefault(change.service, []).append(change)
    first = {c.id: _live(c, deploys.get(c.service, [])) for c in changes}
    live: dict[str | None, list[tuple[datetime, Event]]] = {}
    for change in changes:
        at = first[change.id].live_at
        if at is not None and (change.kind is EventKind.DEPLOY or config_only(change)):
            live.setdefault(change.service, []).append((at, change))
    for items in live.values():
        items.sort(key=lambda item: (item[0], item[1].id))
    return {c.id: _replaced(first[c.id], live.get(c.service, [])) for c in changes}


def _live(change: Event, deploys: list[Event]) -> Rollout:
    if change.kind is EventKind.DEPLOY:
        return Rollout(change.occurred_at, "deployed")
    later = [d for d in deploys if d.occurred_at >= change.occurred_at]
    own = [d for d in later if change.commit_sha and d.commit_sha == change.commit_sha]
    if own:
        return _shipped(own[0])
    if config_only(change):
        return Rollout(change.occurred_at, "config-only change (applied without a deploy)")
    if not deploys:
        return Rollout(change.occurred_at, f"no deploys of {change.service or '?'} recorded")
    if later:
        return _shipped(later[0])
    return Rollout(None, "not deployed before impact")


def _shipped(deploy: Event) -> Rollout:
    return Rollout(deploy.occurred_at, f"shipped by the deploy at {deploy.occurred_at:%H:%M}")


def _replaced(rollout: Rollout, live: list[tuple[datetime, Event]]) -> Rollout:
    if rollout.live_at is None:
        return rollout
    after = next((e for at, e in live if at > rollout.live_at), None)
    return Rollout(rollout.live_at, rollout.how, after)
