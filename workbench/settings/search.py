"""The ``[search]`` table: upkeep of the SQLite full-text index."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SearchSettings(BaseModel):
    """``[search]``: on SQLite, ``workbench serve`` merges the full-text index's segments
    every ``merge_interval_minutes`` (one instance, under the ``fts-merge`` lease), in
    steps of ``merge_pages`` pages, each its own short write transaction.

    Every ingest batch adds a segment; a search reads each one, so fewer segments make
    searches cheaper (benchmarks/README.md, FTS merge). PostgreSQL needs none of this.
    """

    model_config = ConfigDict(extra="forbid")

    merge: bool = True
    merge_interval_minutes: float = Field(default=30.0, gt=0)
    merge_pages: int = Field(default=64, ge=1, le=10_000)
    """Index pages (~4 KB) written per step: each step holds the write lock while it
    writes them (measured at 100k events: about 20 ms for 64 pages on 2 cores), and
    writers wait for it."""
    merge_pause_seconds: float = Field(default=0.05, ge=0, le=60)
    """Pause between steps, so waiting writers (connectors, the API) get in."""
