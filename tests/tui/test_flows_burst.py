"""Every documented flow (help screen, README, docs/tui.md) typed as ONE write into the
real ``workbench`` on a pty at 80x24 against the demo store: the store's bytes change
only for a flow that was confirmed with ``ctrl+y`` (or that is text the user typed into
a prompt and sent with Enter: a note, a tag), and nothing else.

One app runs every flow in turn (starting each from the investigation list), so the
whole walk costs one start-up; the digest is taken after each flow has settled. It is a
digest of the store's rows, not its file: where the user is and what they have seen
(``user_view``, ``user_seen``) is saved as they move, by design (issue 12), and is not a
write anyone confirms.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import Store
from tests.tui.conftest import seed
from tests.tui.ptyrun import PtyApp

pytestmark = pytest.mark.slow

CTRL_P, CTRL_U, CTRL_Y, ESC, TAB = "\x10", "\x15", "\x19", "\x1b", "\t"
UI_STATE = frozenset({"user_view", "user_seen"})
"""Tables of the user's place and seen marks (saved as they move: not evidence)."""


def _digest(db: Path) -> str:
    """Every row of every table but :data:`UI_STATE`, read through SQLite read-only."""
    digest = hashlib.sha256()
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for table in tables:
            if table in UI_STATE:
                continue
            digest.update(table.encode() + b"\0")
            for row in sorted(repr(r) for r in conn.execute(f'SELECT * FROM "{table}"')):
                digest.update(row.encode() + b"\0")
    return digest.hexdigest()

READS = (
    # (what the docs call it, the keys as one write, text the flow must have drawn)
    ("triage: open, suspects, first error, commit before it", f"\r{TAB}{TAB}e\rc",
     b"commit sha"),
    ("link marked: chooser without ctrl+y", "\rmmL\r", b"marked"),
    ("event pane: g/G, preceding change", "\rge\rGgc", b"Traceback"),
    ("search the timeline, step through matches", "\r/PoolTimeout\rnnN", b"/PoolTimeout"),
    ("search that reads like a write", "\r/status:resolved\r", b"/status:resolved"),
    ("filter the timeline with f and &", f"\rfsev:critical\r&{CTRL_U}\r", b"sev:critical"),
    ("window around the impact, then linked", "\rww", b"linked events"),
    ("details and back", "\rdd", b"MTTR"),
    ("status chooser: typed text and Enter do not write", "\rsresolved\r", b"Status (now"),
    ("severity chooser: letters and Enter do not write", "\rvinfo\r", b"Severity"),
    ("unlink: y and Enter do not confirm", "\ruyes\r", b"Unlink event"),
    (":resolve typed", "\r:resolve\ryes\r", b"to resolved?"),
    (":status resolved typed", "\r:status resolved\r\r", b"to resolved?"),
    (":sev info typed", "\r:sev info\r\r", b"to info?"),
    ("palette: investigation resolve", f"\r{CTRL_P}resolve\r\r", b"to resolved?"),
    ("all events: G oldest, g newest, open, pivot", "AGg\rp", b"Every event with the same"),
    ("health: inspect a dead letter, replay/discard unconfirmed", "H\t\rRyXy",
     b"Replay dead letter"),
    ("health: pause unconfirmed", "HPy\r", b"Pause connector"),
    ("help", "?jk", b"Triage in three keys"),
)
"""Flows that must not write: each is followed by Esc presses back to the list. The
user's place and timeline filters are kept when they come back (issue 12), so flows that
need the investigation's default view run before the flows that filter or search it."""

WRITES = (
    ("status with ctrl+y (to open: it stays in the list)", f"\rs{CTRL_Y}"),
    (":sev info with ctrl+y", f"\r:sev info\r{CTRL_Y}"),
    ("a note (typed text sent with Enter)", "\raa note typed in a burst\r"),
    ("tag the current event (typed text sent with Enter)", f"\rt{CTRL_U}burst\r"),
)
"""Flows that write, each exactly once."""


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """The demo store, and a config without grouping: its lease renewal writes a row
    every few seconds, which would hide what the keys wrote (the read-only test covers
    grouping being off there)."""
    db = tmp_path / "flows.db"
    store = Store.open(db)
    seed(store)
    store.close()
    config = tmp_path / "config.toml"
    config.write_text("[grouping]\nenabled = false\n")
    yield db, config


def _back_to_list(app: PtyApp) -> None:
    """Esc twice (closes a dialog, a prompt or a filter box; one write each: an Esc and a
    key in one write read as Alt+key), then ``:ls`` pops every screen above the list."""
    for _ in range(2):
        os.write(app.master, ESC.encode())
        time.sleep(0.15)  # spacing keystrokes longer than the escape delay
    start = len(app.output)
    os.write(app.master, b":ls\r")
    app.wait_for(b"Investigations", since=start, timeout=15)


def _plain(output: bytes) -> str:
    """The output without CSI sequences, for a failure message."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output.decode(errors="replace"))


def _changed(db: Path, before: str, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while (now := _digest(db)) == before and time.monotonic() < deadline:
        time.sleep(0.1)  # polling the store file for a condition (a write runs in a thread)
    return now


def test_every_documented_flow_as_one_burst(demo: tuple[Path, Path]) -> None:
    """Reads leave the store's bytes as they were; each confirmed write changes them."""
    db, config = demo
    app = PtyApp(db, "--config", str(config))
    wrote: list[str] = []
    kept: list[str] = []
    lost: list[str] = []
    try:
        app.wait_for(b"Investigations")
        idle = _digest(db)
        app.quiet(idle=1.0)
        assert _digest(db) == idle, "the TUI wrote something on its own"
        for name, keys, drawn in READS:
            before, start = _digest(db), len(app.output)
            app.press(keys)
            try:
                app.wait_for(drawn, timeout=15, since=start)
            except AssertionError:
                lost.append(f"{name}: ...{_plain(bytes(app.output[start:]))[-600:]}")
            if _digest(db) != before:
                wrote.append(name)
            _back_to_list(app)
        for name, keys in WRITES:
            before = _digest(db)
            app.press(keys)
            if _changed(db, before) == before:
                kept.append(name)
            _back_to_list(app)
    finally:
        app.close()
    assert wrote == [], f"flows that wrote without ctrl+y: {wrote}"
    assert kept == [], f"confirmed writes that did not happen: {kept}"
    assert lost == [], "flows that did not draw their screen:\n" + "\n".join(lost)
