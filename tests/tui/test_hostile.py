"""Hostile text through every view: nothing from the data reaches the terminal as a
control sequence, and nothing in it is read as markup."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from storage import Store
from tests.tui.conftest import make_app, settle
from tests.tui.hostile import CORPUS, EVIL_MARKERS, PAYLOAD, seed_hostile
from tests.tui.on_top import screen_as
from tests.tui.ptyrun import PtyApp
from workbench.sanitize import sanitize, sanitize_line
from workbench.tui.safe import safe_text
from workbench.tui.screens.health import HealthScreen
from workbench.tui.screens.investigation import InvestigationScreen
from workbench.tui.screens.investigations import InvestigationsScreen

CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_sanitize_leaves_no_control_characters(name: str) -> None:
    """Each corpus entry comes out printable (tab and newline aside)."""
    out = sanitize(CORPUS[name])
    assert not CONTROL.search(out), repr(out)
    assert "\x1b" not in sanitize_line(CORPUS[name])


def test_bare_cr_and_backspace_cannot_overwrite() -> None:
    """The overwritten text stays visible next to what would have overwritten it."""
    assert sanitize("innocent\rEVIL") == "innocent\\x0dEVIL"
    assert "rm -rf" in sanitize(CORPUS["backspace"])
    assert sanitize("a\r\nb") == "a\nb"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec=None, exclude_categories=())))
def test_fuzz_sanitize_and_render(value: str) -> None:
    """Any string (controls, surrogates, markup) sanitises and renders without error."""
    out = sanitize(value)
    assert not CONTROL.search(out)
    console = Console(file=open("/dev/null", "w"), width=80, color_system="truecolor")  # noqa: SIM115
    segments = list(console.render(safe_text(value)))
    assert all("\x1b" not in s.text for s in segments)
    assert not any(s.style and (s.style.link or s.style.meta) for s in segments)


async def test_markup_in_data_is_literal_in_every_view(tmp_path: Path) -> None:
    """[link=…], [@click=app.quit], [b] and unbalanced tags render as text, crash nothing."""
    store = Store.open(tmp_path / "h.db")
    seed_hostile(store)
    app = make_app(store)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot, lambda: bool(screen_as(app, InvestigationsScreen).rows.rows))
        screens = [app.export_screenshot()]
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, InvestigationScreen)
                     and bool(app.screen.pane.rows.rows))
        screens.append(app.export_screenshot())
        await pilot.press("enter")
        await settle(pilot, lambda: getattr(app.screen, "context", None) is not None)
        screens.append(app.export_screenshot())
        await pilot.press("p")
        await settle(pilot)
        screens.append(app.export_screenshot())
        await pilot.press("escape", "H")
        await settle(pilot, lambda: isinstance(app.screen, HealthScreen)
                     and bool(app.screen.letters.rows))
        await pilot.press("tab", "enter")
        await settle(pilot)
        screens.append(app.export_screenshot())
        assert app.is_running  # [@click=app.quit] did not quit
    store.close()
    joined = "".join(screens)
    assert "@click=app.quit" in joined
    assert "[/x]" in joined or "[/x]" in joined.replace("&#91;", "[")
    assert "evil.example" in joined
    assert "<a " not in joined  # no hyperlink came from the data


def _drive(app: PtyApp) -> None:
    app.quiet(expect=20)
    app.press("enter")  # investigation: detail + timeline
    app.press("tab", "tab")  # details pane, back to the timeline
    app.press("O", "escape")  # the owner question, prefilled with the hostile owner
    app.press("enter")  # event detail
    app.press("t", "escape")  # the tags question, prefilled with hostile tags
    app.press(*["pagedown"] * 4)  # body, stack trace, attributes
    app.press("p")  # pivot menu lists trace id, commit, service
    app.press("escape", "c", "escape", "escape", "escape")
    app.press("H")  # connector health
    app.press("enter", "enter")  # the DLQ entry with its payload
    app.press(*["pagedown"] * 3)


@pytest.mark.slow
def test_no_escape_from_data_reaches_a_real_terminal(tmp_path: Path) -> None:
    """Through a pty: 0 OSC title/link/clipboard, CSI clear/move, DCS, BEL, C1 bytes."""
    db = tmp_path / "h.db"
    store = Store.open(db)
    seed_hostile(store)
    store.close()
    app = PtyApp(db)
    try:
        _drive(app)
    finally:
        status = app.close()
    # Textual's own pointer-shape sequence (OSC 22 … BEL) is ours, not the data's.
    raw = re.sub(rb"\x1b\]22;[a-z-]*\x07", b"", bytes(app.output))
    assert status == 0, raw[-2000:]
    # (the JSON view shows "\\u001b]0;PWNEDTITLE" as literal text, which is fine)
    assert not re.search(rb"\x1b\][^\x07\x1b]*PWNED", raw)
    found = {m for m in EVIL_MARKERS if m in raw}
    assert not found, found
    text = raw.decode("utf-8", errors="replace")
    assert not re.search("[\x80-\x9f]", text), "C1 control reached the terminal"
    assert "\rEVIL" not in text and "\x08" not in text
    assert "\u202e" not in text and "\u2066" not in text
    assert "[@click" in text and "osc52_clipboard" in text  # the data was shown, as text
    assert PAYLOAD  # the corpus is not empty
