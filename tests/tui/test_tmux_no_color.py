"""Severity under ``NO_COLOR``: the real ``workbench demo`` in tmux at 80x24, its pane
captured with escape codes and read cell by cell.

Textual's monochrome filter turns each colour into a grey of the same luminance, so
the red of high and critical came out as grey 237 on the 234 background: nearly
invisible, and the worst events the hardest to see. Under ``NO_COLOR`` every severity
must be legible (its text stands out from its own background) and high and critical
must carry an attribute of their own (critical reverse, high underline), told apart
from each other and from the ranks below without a colour. Other meaningful colours
(source badges, commit shas, errors) drop their colour too: an event's page and its
preceding commit are legible in every character.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tui.test_wire import Terminal

pytestmark = [pytest.mark.tmux, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")]

SOCKET = f"wbnocolor-{uuid.uuid4().hex[:8]}"
BOLD, UNDERLINE, REVERSE = "1", "4", "7"
Cell = tuple[str, frozenset[str], str, str]


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", "-L", SOCKET, "-f", "/dev/null", *args], check=True,
                          capture_output=True, text=True).stdout


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[str]:
    """``NO_COLOR=1 workbench demo`` in a private tmux server at 80x24."""
    name = f"wb-{uuid.uuid4().hex[:8]}"
    command = f"{sys.executable} -m workbench --db {tmp_path / 'demo.db'} --no-api demo"
    _tmux("new-session", "-d", "-s", name, "-x", "80", "-y", "24",
          f"NO_COLOR=1 TERM=xterm-256color TEXTUAL_ANIMATIONS=none {command}")
    _tmux("set-option", "-s", "escape-time", "10")
    try:
        yield name
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-session", "-t", name], capture_output=True)


@pytest.fixture(scope="module", autouse=True)
def _server() -> Iterator[None]:
    """One private tmux server for the module (a server killed between tests may still be
    going away when the next test starts one on the same socket)."""
    yield
    subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)


def wait_for(name: str, text: str, timeout: float = 30.0) -> list[list[Cell]]:
    """The pane, cell by cell (``capture-pane -e``), once its text contains ``text``."""
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _tmux("capture-pane", "-p", "-t", name)
        if text in screen:
            return cells(_tmux("capture-pane", "-e", "-p", "-t", name))
        time.sleep(0.1)  # polling tmux for a condition
    raise AssertionError(f"{text!r} never appeared; last screen:\n{screen}")


def cells(captured: str) -> list[list[Cell]]:
    """Each line of a ``capture-pane -e`` dump as (char, SGR attributes, fg, bg) cells."""
    terminal = Terminal()
    terminal.play(captured)
    rows: list[list[Cell]] = [[] for _ in range(terminal.row + 1)]
    for (row, _col), cell in sorted(terminal.cells.items()):
        rows[row].append(cell)
    return rows[:-1] if rows and not rows[-1] else rows  # the dump ends with a newline


def line(row: list[Cell]) -> str:
    return "".join(cell[0] for cell in row)


def run_of(row: list[Cell], word: str) -> list[Cell]:
    """The cells of the first occurrence of ``word`` in ``row``."""
    start = line(row).index(word)
    return row[start:start + len(word)]


def rgb(colour: str, default: tuple[int, int, int]) -> tuple[int, int, int]:
    """An SGR colour (``38;5;N`` / ``48;5;N`` / ``38;2;R;G;B``) as RGB, xterm's palette."""
    if not colour:
        return default
    parts = [int(p) for p in colour.split(";")[1:]]
    if parts[0] == 2:
        return parts[1], parts[2], parts[3]
    n = parts[1]
    if n >= 232:
        grey = 8 + 10 * (n - 232)
        return grey, grey, grey
    if n >= 16:
        steps = (0, 95, 135, 175, 215, 255)
        n -= 16
        return steps[n // 36], steps[(n // 6) % 6], steps[n % 6]
    base = [(0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205),
            (0, 205, 205), (229, 229, 229), (127, 127, 127), (255, 0, 0), (0, 255, 0),
            (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255)]
    return base[n]


def contrast(cell: Cell) -> float:
    """WCAG contrast ratio of a cell's text against its own background (reverse
    swaps them; an unset colour is the terminal's, taken as light on black)."""
    _char, attrs, fg, bg = cell
    text, back = rgb(fg, (229, 229, 229)), rgb(bg, (0, 0, 0))
    if REVERSE in attrs:
        text, back = back, text

    def luminance(colour: tuple[int, int, int]) -> float:
        linear = [c / 255 / 12.92 if c <= 10 else ((c / 255 + 0.055) / 1.055) ** 2.4
                  for c in colour]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(text), luminance(back)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def attributes(run: list[Cell]) -> frozenset[str]:
    """The attributes every cell of ``run`` carries (one style for the run)."""
    found = {cell[1] & {BOLD, UNDERLINE, REVERSE} for cell in run}
    assert len(found) == 1, run
    return found.pop()


def assert_legible(run: list[Cell], what: str) -> None:
    worst = min((cell for cell in run if cell[0] != " "), key=contrast)
    assert contrast(worst) >= 4.5, f"{what}: contrast {contrast(worst):.2f} ({worst})"


MARK = {"CRIT": REVERSE, "HIGH": UNDERLINE}


def test_every_severity_is_legible_and_high_ones_marked_without_colour(demo: str) -> None:
    screen = wait_for(demo, "Checkout payments failing")
    listed = next(row for row in screen if "Checkout payments failing" in line(row))
    crit = run_of(listed, "CRIT")
    assert_legible(crit, "list CRIT")
    assert REVERSE in attributes(crit)

    _tmux("send-keys", "-t", demo, "Enter")
    screen = wait_for(demo, "linked events")
    seen: dict[str, frozenset[str]] = {}
    for row in screen:
        text = line(row)
        label = next((s for s in ("CRIT", "HIGH", "MED ", "LOW ", "info") if
                      f" {s} " in text[9:20]), None)
        if label is None:
            continue
        badge = run_of(row, label.strip())
        assert_legible(badge, f"{label} badge in {text!r}")
        marks = attributes(badge)
        assert seen.setdefault(label, marks) == marks, label  # one look per severity
        if label.strip() in MARK:
            assert MARK[label.strip()] in marks, (label, marks)
            title = row[text.index(label) + 5 + 13:min(len(text.rstrip()), 79)]
            assert_legible(title, f"{label} title in {text!r}")
            assert MARK[label.strip()] in attributes(title), text
    assert {"CRIT", "HIGH", "MED "} <= set(seen), seen
    for lower in set(seen) - {"CRIT", "HIGH"}:  # no rank below borrows their marks
        assert not {REVERSE, UNDERLINE} & seen[lower], (lower, seen)
    assert REVERSE not in seen["HIGH"]


def assert_pane_legible(screen: list[list[Cell]], what: str) -> None:
    """Every character of the pane's content (above the footer, left of the
    scrollbar) stands out from its background."""
    for row in screen[:-1]:
        assert_legible([cell for cell in row[:-2] if cell[0] != " "] or [("x", frozenset(),
                        "", "")], f"{what}: {line(row)!r}")


def test_an_event_and_its_commit_are_legible_without_colour(demo: str) -> None:
    """The error's text and the preceding commit (its badge and sha were magenta, greyed
    to the background like red)."""
    wait_for(demo, "Checkout payments failing")
    _tmux("send-keys", "-t", demo, "Enter")
    wait_for(demo, "linked events")
    _tmux("send-keys", "-t", demo, "e", "Enter")
    assert_pane_legible(wait_for(demo, "Traceback"), "event")
    _tmux("send-keys", "-t", demo, "c")
    screen = wait_for(demo, "kind              commit")
    assert line(screen[0]).lstrip().startswith("git")
    assert_pane_legible(screen, "commit")
