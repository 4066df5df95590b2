"""Smoke tier of the TUI benchmark: it runs end to end at 1k events and reports figures.

No thresholds (CI machines vary); the 1M tier is run by hand:
``python -m benchmarks.bench_tui --events 1000000``.
"""

from __future__ import annotations

import pytest

from benchmarks import bench_tui


@pytest.mark.slow
@pytest.mark.timeout(900)  # ~170 s alone on a loaded 2-core machine; 300 s was too close
def test_bench_tui_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    report = bench_tui.main(["--smoke"])
    out = capsys.readouterr().out
    assert "ratio_big_vs_bare" in out and "bytes_per_keystroke_cursor_move" in out
    assert report["cold_start"]["first_paint_s"]["big"] > 0
    start = report["start"]["seconds"]  # the real command in a pty: Enter, then the suspect
    assert start["suspect"] > start["first_screen"] > 0 and start["bare"] > 0
    pty = report["pty"]
    assert pty["full_redraw_bytes"] > pty["bytes_per_keystroke_cursor_move"] > 0
    assert pty["key_to_first_byte_ms_median"] > 0
    for size in ("small", "big"):  # a big investigation: half of the events linked
        figures = report["investigation"][size]
        assert figures["open_s"] > 0 and figures["rss_after_open_mib"] > 0
        assert figures["new_link_shown_s"] is not None  # a new link reached the screen


def test_child_memory_is_the_childs_own() -> None:
    """A child of a big parent reports its own peak, not the parent's (ru_maxrss would)."""
    import subprocess
    import sys

    ballast = bytearray(200 * 1024 * 1024)  # the parent's peak: at least 200 MiB
    ballast[::4096] = b"x" * len(ballast[::4096])  # touched, so resident
    code = "from benchmarks.bench_tui import peak_rss_kib; print(peak_rss_kib())"
    child = int(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                               text=True).stdout)
    assert bench_tui.peak_rss_kib() > 200 * 1024 > 4 * child
