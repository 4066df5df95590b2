"""Configuration of the git connector."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from connectors.base import ConnectorConfig


class GitConfig(ConnectorConfig):
    """One or more local repositories read with the git command line.

    ``refs`` empty means every branch, tag and remote-tracking branch. ``services``
    maps a service name to path globs (``*`` also matches ``/``); a commit's service is
    the one whose globs match most of its changed paths (ties: first listed).
    """

    kind: Literal["git"] = "git"
    repositories: Annotated[list[Path], Field(min_length=1)]
    refs: list[str] = Field(default_factory=list)
    services: dict[str, list[str]] = Field(default_factory=dict)
    environment: str | None = None
    git_binary: str = "git"
    max_commits_per_poll: Annotated[int, Field(ge=1, le=100_000)] = 2_000
    max_paths_per_commit: Annotated[int, Field(ge=0, le=100_000)] = 500
    """Changed paths kept in the event's attributes (the counts always cover all)."""
