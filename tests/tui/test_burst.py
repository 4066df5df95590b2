"""Type-ahead safety through a real pty: every documented flow typed as ONE write.

A fast typist, a paste without bracketed paste, or an SSH link that delivers keys
together all look like this to the app: the keys after the one that opens a prompt,
filter box or chooser arrive before it has opened. They must land in it, in order,
and nothing may be written that was not confirmed with ``ctrl+y``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from storage import Store
from storage.models import EventKind
from storage.queries import EventQuery
from tests.tui.conftest import seed
from tests.tui.ptyrun import PtyApp

pytestmark = pytest.mark.slow

CTRL_U, CTRL_Y, ESC, DOWN = "\x15", "\x19", "\x1b", "\x1b[B"


@pytest.fixture
def incident(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    db = tmp_path / "burst.db"
    store = Store.open(db)
    inv = seed(store)
    store.close()
    yield db, inv


def burst(app: PtyApp, keys: str) -> None:
    """All of ``keys`` in one write, then wait until the app is idle."""
    app.press(keys)


State = tuple[str, str, str | None, list[str], int]


def _state(db: Path, inv_id: int) -> State:
    store = Store.open(db)
    try:
        inv = store.get_investigation(inv_id)
        linked = store.investigation_events(inv_id)
        notes = sorted(le.event.title for le in linked if le.event.kind is EventKind.NOTE)
        return inv.status.value, inv.severity.value, inv.owner, notes, len(linked)
    finally:
        store.close()


def _wait_state(db: Path, inv_id: int, until: Callable[[State], bool]) -> State:
    """The state once ``until`` holds (a write runs in a thread after the keys)."""
    deadline = time.monotonic() + 20
    while True:
        state = _state(db, inv_id)
        if until(state) or time.monotonic() > deadline:
            return state
        time.sleep(0.1)  # polling the store for a condition


def _tagged(db: Path, tag: str, timeout: float = 20.0) -> list[int]:
    """Ids of the events carrying ``tag``, once there are any (or ``[]`` at the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        store = Store.open(db)
        try:
            tagged = [e.id for e in store.list_events(EventQuery(tag=tag)).items]
        finally:
            store.close()
        if tagged or time.monotonic() > deadline:
            return tagged
        time.sleep(0.1)  # polling the store for a condition


def test_every_flow_typed_as_one_burst(incident: tuple[Path, int]) -> None:
    """Filter, note, ``:`` command, owner land where they were typed; status, severity
    and unlink with text typed after them write nothing; ``ctrl+y`` writes."""
    db, inv_id = incident
    status, severity, _, notes, linked = _state(db, inv_id)
    app = PtyApp(db)
    try:
        app.wait_for(b"Investigations")
        burst(app, "\rfsev:critical\r")  # open the incident and filter its timeline
        burst(app, "arolled back 9f3c2e1\r")  # a note
        burst(app, ":note pool size raised to 20\r")  # a note through the : line
        burst(app, f"O{CTRL_U}sam\r")  # the owner
        burst(app, "sresolved\r" + ESC)  # status chooser: text and Enter do not write
        burst(app, "vinfo\r" + ESC)  # severity chooser: same
        burst(app, "uyes\r" + ESC)  # unlink: y is not a yes
        burst(app, ":resolve\ryes\r" + ESC)  # a typed command that writes asks too
        burst(app, ":sev info\r\r" + ESC)
        burst(app, ":status resolved\r:q\r" + ESC)
        burst(app, ESC)  # back to the list (Esc then a key in one write would be Alt+key)
        burst(app, "/status:resolved\r")  # the list's filter box
        burst(app, f"/{CTRL_U}status:investigating\r")  # filter again
        burst(app, "\r")  # open the incident (once the list has reloaded: data, not keys)
        burst(app, f"v{DOWN}{CTRL_Y}")  # an explicit confirmation writes, burst or not
        final = _wait_state(db, inv_id, lambda s: s[1] != severity)
    finally:
        app.close()
    assert final[1] != severity  # the one confirmed write
    assert final[0] == status  # never resolved by "resolved" or "status:resolved"
    assert final[2] == "sam"
    assert sorted(set(final[3]) - set(notes)) == ["pool size raised to 20",
                                                  "rolled back 9f3c2e1"]
    assert final[4] == linked + 2  # the two notes; nothing unlinked


def test_search_and_steps_typed_as_one_burst(incident: tuple[Path, int]) -> None:
    """``⏎/PoolTimeout⏎nnN`` then ``t`` tags the row the cursor reached: the second match
    (none of the letters went to the screen: no chooser opened, nothing else written),
    although it is typed before the list has its rows and every read is slow."""
    db, inv_id = incident
    store = Store.open(db)
    try:
        linked = sorted((le.event for le in store.investigation_events(inv_id)),
                        key=lambda e: (e.occurred_at, e.id))
    finally:
        store.close()
    hits = [e.id for e in linked if "PoolTimeout" in e.title]
    assert len(hits) >= 3
    before = _state(db, inv_id)
    # A busy store: the list and each timeline page arrive a second late.
    app = PtyApp(db, slow={"events": 1.0, "investigations": 1.0})
    try:
        app.wait_for(b"STATUS", settle=False)  # the list is drawn, its rows are not in yet
        # Open the incident and search its timeline in the same write: the Enter waits
        # for the list's rows, the search for the first page of the screen Enter opened.
        burst(app, f"\r/PoolTimeout\rnnNt{CTRL_U}second\r")
        tagged = _tagged(db, "second")
    finally:
        app.close()
    assert tagged == [hits[1]]
    assert _state(db, inv_id) == before


def test_enter_after_a_filter_waits_for_the_reloaded_list(incident: tuple[Path, int]) -> None:
    """``/status:resolved⏎⏎`` pasted as one write: the second Enter opens the first
    RESOLVED investigation -- the list the filter reloaded -- not the row the list showed
    while it was still reloading; the note typed after it lands there too."""
    from storage.models import InvestigationStatus, NewInvestigation

    db, inv_id = incident
    store = Store.open(db)
    try:
        store.set_status(store.create_investigation(NewInvestigation(
            title="an older one")).id, InvestigationStatus.RESOLVED)
        done = store.create_investigation(NewInvestigation(title="Disk full on db-1"))
        store.set_status(done.id, InvestigationStatus.RESOLVED)
    finally:
        store.close()
    app = PtyApp(db, slow={"investigations": 0.4})  # a busy store: the reload takes a while
    try:
        app.wait_for(b"Investigations")
        burst(app, f"/{CTRL_U}status:resolved\r\raafter the filter\r")
        got = _wait_state(db, done.id, lambda s: bool(s[3]))
    finally:
        app.close()
    assert got[3] == ["after the filter"]
    assert "after the filter" not in _state(db, inv_id)[3]


def test_keys_typed_at_start_wait_for_the_restored_timeline(
        incident: tuple[Path, int], tmp_path: Path) -> None:
    """A reopened TUI goes back to the user's investigation and timeline cursor. Keys
    typed at launch (``ee`` then a tag) act on the timeline that restore brings, from the
    restored cursor -- not on the list behind it, nor on the timeline while its first
    page is still being read."""
    from storage import user_state
    from workbench.tui.fmt import ERROR_RANK

    db, inv_id = incident
    store = Store.open(db)
    try:
        linked = sorted((le.event for le in store.investigation_events(inv_id)),
                        key=lambda e: (e.occurred_at, e.id))
        start = 3  # the saved cursor
        errors = [e.id for e in linked[start + 1:] if e.severity.rank >= ERROR_RANK]
        with store.write() as session:
            user_state.save_view(session=session, user="alice", state={
                "screen": "investigation", "investigation_id": inv_id,
                "timeline_filter": "", "timeline_cursor": linked[start].id})
    finally:
        store.close()
    config = tmp_path / "alice.toml"
    config.write_text('[tui]\nuser = "alice"\n[grouping]\nenabled = false\n')
    # A busy store: the saved place is read well after the list's rows are in (the old
    # gate let the keys go to the list then), each timeline page takes a while; all of
    # it within the gate's 3 s watchdog.
    app = PtyApp(db, "--config", str(config),
                 slow={"events": 0.6, "UserData.load_view": 1.8})
    try:
        app.wait_for(b"palette", settle=False)  # a first screen is drawn (the footer)
        burst(app, f"eet{CTRL_U}restored\r")
        tagged = _tagged(db, "restored")
    finally:
        app.close()
    assert tagged == [errors[1]]

