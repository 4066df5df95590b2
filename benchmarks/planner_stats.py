"""Measure again the SQLite planner statistics the store ships (storage.planner_stats).

    .venv/bin/python -m benchmarks.planner_stats [--events 100000]

Runs ``ANALYZE`` on a copy of the benchmark store (``benchmarks.store_data``, built
through the store's ingest path and cached), prints its ``sqlite_stat1`` rows for the
``event`` table as the ``EVENT_STATS`` literal, and says whether they differ from the
shipped ones. Paste the literal into ``storage/planner_stats.py`` after adding or
changing an index on ``event``.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

from benchmarks.store_data import query_db
from storage import planner_stats


def measure(events: int) -> dict[str, str]:
    """The ``event`` rows of ``ANALYZE`` on a copy of the ``events``-event store."""
    source = query_db(events, say=lambda line: sys.stderr.write(line + "\n"))
    with tempfile.TemporaryDirectory(prefix="planner-stats-") as work:
        copy = Path(work) / "copy.db"
        shutil.copyfile(source, copy)
        conn = sqlite3.connect(copy)
        try:
            conn.execute("ANALYZE")
            rows = conn.execute("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = ? ORDER BY idx",
                                (planner_stats.TABLE,)).fetchall()
        finally:
            conn.close()
    return {str(idx): str(stat) for idx, stat in rows}


def main() -> None:
    parser = argparse.ArgumentParser(prog="planner_stats", description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    measured = measure(parser.parse_args().events)
    lines = ["EVENT_STATS: dict[str, str] = {",
             *(f'    "{idx}": "{stat}",' for idx, stat in measured.items()), "}",
             "same as shipped" if measured == planner_stats.EVENT_STATS
             else "DIFFERENT from storage/planner_stats.py"]
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
