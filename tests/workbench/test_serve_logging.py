"""`serve` logs at INFO without narrating every outgoing request of a polling connector."""

from __future__ import annotations

import subprocess
import sys

_PROBE = (
    "import argparse, logging; "
    "from workbench.cli.serve import _configure_logging; "
    "_configure_logging(argparse.Namespace("
    "log_file=None, log_level={level!r}, log_format='text')); "
    "names = ('httpx', 'httpcore', 'alembic', 'workbench'); "
    "print(*(logging.getLogger(n).getEffectiveLevel() for n in names))"
)


def _levels(level: str) -> list[int]:
    out = subprocess.run([sys.executable, "-c", _PROBE.format(level=level)],
                         capture_output=True, text=True, check=True).stdout
    return [int(x) for x in out.split()]


def test_info_keeps_library_chatter_to_warnings() -> None:
    httpx, httpcore, alembic, own = _levels("INFO")
    assert (httpx, httpcore, alembic) == (30, 30, 30)
    assert own == 20


def test_debug_keeps_every_request() -> None:
    assert _levels("DEBUG") == [10, 10, 10, 10]
