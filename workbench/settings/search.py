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
    """Index pages (~4 KB) written per step, each step then finishing the term it is in:
    it holds the write lock while it writes them (1M events, 2 cores: 7 ms at the
    median, 31 ms at p90, 178 ms for a step through a common word), and writers wait."""
    merge_pause_seconds: float = Field(default=0.25, ge=0, le=60)
    """Pause after each step. What slows ingest is mostly the write rate (every merged
    page goes through the WAL, and the commit that crosses the checkpoint size copies it
    back): 64 pages every 0.05 s tripled ingest p99 at 1M events, 16 every 0.25 s (a
    round over a 1M-event index: ~190 steps, about a minute) stayed within 2x."""
