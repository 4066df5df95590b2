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
    merge_interval_minutes: float = Field(default=60.0, gt=0)
    merge_pages: int = Field(default=16, ge=1, le=10_000)
    """Index pages (~4 KB) written per step: each step holds the write lock while it
    writes them (1M events, 2 cores: a 64-page step took 12-20 ms at the median, 40-85
    ms at p90), and writers wait for it."""
    merge_pause_seconds: float = Field(default=0.25, ge=0, le=60)
    """Pause after each step. What slows ingest is mostly the write rate (every merged
    page goes through the WAL, and the commit that crosses the checkpoint size copies it
    back): 64 pages every 0.05 s tripled ingest p99 at 1M events, 16 every 0.25 s
    (about 60 pages a second; a round over a 1M-event index about 5 minutes) did not."""
