"""``workbench.tui.wire``: style changes only, the same cells in the same styles.

The property test renders random runs the way Textual does (Rich's ``Style.render``: a
full style and a reset per run), between cursor moves, line feeds and erases, and
plays the stream before and after :class:`SgrDiff` on a small model terminal written
here, independently of the module: every cell must look the same (a blank only by
what a blank shows), and the stream must end in the default style.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.color import ColorSystem
from rich.style import Style

from workbench.tui.wire import SgrDiff

ROWS, COLS = 6, 30
BLANK_SHOWS = {"4", "7", "9", "21", "51", "52", "53"}


class Terminal:
    """Just enough of a terminal: absolute moves, text, line feeds, erase to the end of
    the line, and SGR as a terminal reads it (code by code)."""

    def __init__(self) -> None:
        self.cells: dict[tuple[int, int], tuple[str, frozenset[str], str, str]] = {}
        self.row = self.col = 0
        self.attrs: set[str] = set()
        self.fg = self.bg = ""

    def sgr(self, params: str) -> None:
        codes = params.split(";") if params else ["0"]
        while codes:
            code = codes.pop(0)
            if code in ("38", "48"):
                take = 2 if codes[0] == "5" else 4
                colour = ";".join([code, *codes[:take]])
                del codes[:take]
                if code == "38":
                    self.fg = colour
                else:
                    self.bg = colour
            elif code == "0":
                self.attrs, self.fg, self.bg = set(), "", ""
            elif code == "22":
                self.attrs -= {"1", "2"}
            elif code in ("23", "27", "28", "29", "55"):
                self.attrs -= {str(int(code) - 20 if code != "55" else 53)}
            elif code == "24":
                self.attrs -= {"4", "21"}
            elif code == "25":
                self.attrs -= {"5", "6"}
            elif code == "54":
                self.attrs -= {"51", "52"}
            elif code == "39":
                self.fg = ""
            elif code == "49":
                self.bg = ""
            elif 30 <= int(code) <= 37 or 90 <= int(code) <= 97:
                self.fg = code
            elif 40 <= int(code) <= 47 or 100 <= int(code) <= 107:
                self.bg = code
            else:
                self.attrs.add(code)

    def play(self, stream: str) -> None:
        for token in re.findall(r"\x1b\[[0-9;?]*[A-Za-z]|\n|[^\x1b\n]", stream):
            if token.startswith("\x1b["):
                final, params = token[-1], token[2:-1]
                if final == "m":
                    self.sgr(params)
                elif final == "H":
                    row, col = params.split(";")
                    self.row, self.col = int(row) - 1, int(col) - 1
                elif final == "K":
                    for col in range(self.col, COLS):
                        self.cells[self.row, col] = (" ", frozenset(self.attrs), self.fg,
                                                     self.bg)
            elif token == "\n":
                self.row, self.col = self.row + 1, 0
            else:
                self.cells[self.row, self.col] = (token, frozenset(self.attrs), self.fg,
                                                  self.bg)
                self.col += 1

    def looks(self) -> dict[tuple[int, int], object]:
        """What each written cell shows (a blank: its background, and the foreground and
        lines only where they are drawn)."""
        out: dict[tuple[int, int], object] = {}
        for where, (char, attrs, fg, bg) in self.cells.items():
            if char == " ":
                shown = attrs & BLANK_SHOWS
                out[where] = (" ", shown, fg if shown else "", bg)
            else:
                out[where] = (char, attrs, fg, bg)
        return out


colours = st.one_of(st.none(), st.sampled_from(["red", "bright_cyan", "default"]),
                    st.integers(16, 255).map(lambda n: f"color({n})"),
                    st.tuples(*[st.integers(0, 255)] * 3).map(lambda c: "rgb({},{},{})".format(*c)))
styles = st.builds(Style, color=colours, bgcolor=colours, bold=st.booleans(),
                   dim=st.booleans(), italic=st.booleans(), underline=st.booleans(),
                   reverse=st.booleans(), strike=st.booleans(), overline=st.booleans(),
                   blink=st.booleans())
runs = st.tuples(st.sampled_from(["ab", "  ", "x", " ", "\u2026 ", "q r"]), styles)
lines = st.lists(runs, min_size=1, max_size=6)
system = st.sampled_from([ColorSystem.EIGHT_BIT, ColorSystem.TRUECOLOR, ColorSystem.STANDARD])


def _render(frame: list[tuple[int, list[tuple[str, Style]]]], colour: ColorSystem,
            erase: bool) -> str:
    out = []
    for i, (row, line) in enumerate(frame):
        if i:
            out.append("\n")
        out.append(f"\x1b[{row + 1};1H")
        out.extend(style.render(text, color_system=colour) for text, style in line)
        if erase:
            out.append(Style(bgcolor="blue").render("", color_system=colour) + "\x1b[K")
    return "".join(out)


@settings(max_examples=300, deadline=None)
@given(frames=st.lists(st.lists(st.tuples(st.integers(0, ROWS - 1), lines), min_size=1,
                                max_size=ROWS), min_size=1, max_size=3),
       colour=system, erase=st.booleans())
def test_the_same_cells_in_the_same_styles(frames: list[list[tuple[int, list[tuple[str, Style]]]]],
                                           colour: ColorSystem, erase: bool) -> None:
    plain, lean, diff = Terminal(), Terminal(), SgrDiff()
    for frame in frames:  # one write per frame, as the driver gets them
        stream = _render(frame, colour, erase)
        plain.play(stream)
        lean.play(diff.feed(stream))
        assert lean.looks() == plain.looks()
        assert (lean.attrs, lean.fg, lean.bg) == (set(), "", "")  # idle in the default


def test_a_row_of_runs_costs_its_changes_only() -> None:
    """Textual's row of four runs on one background: the background is written once."""
    bg = "48;5;234"
    row = "".join(f"\x1b[38;5;{fg};{bg}m{text}\x1b[0m"
                  for fg, text in ((246, " 10-30 23:17:26 "), (112, "log "),
                                   (208, "MED  "), (80, "svc-16")))
    out = SgrDiff().feed("\x1b[4;1H" + row)
    assert out == ("\x1b[4;1H\x1b[0;38;5;246;48;5;234m 10-30 23:17:26 \x1b[38;5;112mlog "
                   "\x1b[38;5;208mMED  \x1b[38;5;80msvc-16\x1b[0m")


def test_what_it_does_not_model_passes_through() -> None:
    """A curly underline (colon parameters) and a mode switch are written as they are,
    and the style after them is written in full."""
    diff = SgrDiff()
    out = diff.feed("\x1b[1mA\x1b[4:3mB\x1b[0m\x1b[?1049l\x1b[1mC\x1b[0m")
    assert "\x1b[4:3mB" in out
    assert out.endswith("\x1b[?1049l\x1b[1mC\x1b[0m")
