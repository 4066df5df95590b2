"""Fewer bytes to the terminal: style changes only, not a full style per run.

Textual's renderer writes every run of a line as ``ESC[<full style>m text ESC[0m``: its
whole foreground, background and attributes, then a reset. A line of six runs pays
that six times (~25 bytes each over SSH), although neighbouring runs mostly share the
background and differ in one colour. :class:`SgrDiff` sits between the renderer and
the terminal and writes, before each piece of text, only what differs from the style
the terminal already has -- the same cells in the same styles, in fewer bytes.

It is conservative: it tracks the style only through the SGR codes it knows (those
Rich writes); any other SGR, and any control sequence but cursor movement, is
written through untouched and makes the terminal's style "unknown", so the next
style is written in full after a reset.
"""

from __future__ import annotations

import re
from typing import Any

from textual.drivers.linux_driver import LinuxDriver

_TOKEN = re.compile(r"\x1b\[([0-9;]*)m|\x1b\[[0-9;:?<=>]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*"
                    r"(?:\x07|\x1b\\)|\x1b[^\[\]]|[^\x1b]+|\x1b")
"""SGR (group 1: its parameters), another CSI, an OSC, a short escape, text, a stray ESC."""

_MOVES = frozenset("ABCDEFGHfd")
"""CSI finals that only move the cursor: the style is kept across them."""
_PLACE = re.compile(r"\x1b\[\d+;\d+H")
"""An absolute cursor position (row and column)."""
_ERASES = frozenset("KJXLMST@P")
"""CSI finals that paint cells with the current background (erase, insert, scroll)."""
_QUIET_PRIVATE = re.compile(r"\x1b\[\?(?:2026|25|1004|2004|1000|1002|1003|1006|1015)[hl]")
"""Private modes that do not touch the style (synchronised output, cursor, mouse, paste)."""

_ATTRS = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9, 21: 21, 51: 51, 52: 52,
          53: 53}
"""Attributes switched on by their own code."""
_OFF = {22: (1, 2), 23: (3,), 24: (4, 21), 25: (5, 6), 27: (7,), 28: (8,), 29: (9,),
        54: (51, 52), 55: (53,)}
"""Codes that switch attributes off."""
_OFF_CODE = {1: 22, 2: 22, 3: 23, 4: 24, 21: 24, 5: 25, 6: 25, 7: 27, 8: 28, 9: 29,
             51: 54, 52: 54, 53: 55}

Pen = tuple[frozenset[int], str, str]
"""Attributes on, foreground and background parameters ("" is the default)."""
DEFAULT: Pen = (frozenset(), "", "")


def apply(pen: Pen, params: str) -> Pen | None:
    """``pen`` after ``ESC[<params>m``; ``None`` for codes this module does not model."""
    attrs, fg, bg = set(pen[0]), pen[1], pen[2]
    codes = params.split(";") if params else ["0"]
    i = 0
    while i < len(codes):
        if not codes[i].isdigit():
            return None
        code = int(codes[i])
        if code in (38, 48):  # extended colour: 5;n or 2;r;g;b
            size = {"5": 3, "2": 5}.get(codes[i + 1] if i + 1 < len(codes) else "", 0)
            part = codes[i + 1:i + size]
            if not size or len(part) < size - 1 or not all(c.isdigit() for c in part):
                return None
            colour = ";".join(codes[i:i + size])
            fg, bg = (colour, bg) if code == 38 else (fg, colour)
            i += size
            continue
        if code == 0:
            attrs, fg, bg = set(), "", ""
        elif code in _ATTRS:
            attrs.add(_ATTRS[code])
        elif code in _OFF:
            attrs.difference_update(_OFF[code])
        elif 30 <= code <= 37 or 90 <= code <= 97:
            fg = str(code)
        elif 40 <= code <= 47 or 100 <= code <= 107:
            bg = str(code)
        elif code == 39:
            fg = ""
        elif code == 49:
            bg = ""
        else:
            return None
        i += 1
    return frozenset(attrs), fg, bg


_SHOWN_ON_BLANKS = frozenset({4, 7, 9, 21, 51, 52, 53})
"""Attributes a space shows: underlines, reverse, strike, frames, overline."""


def _same_blanks(a: Pen | None, b: Pen | None) -> bool:
    """Whether spaces look the same in ``a`` and ``b``: only their background shows
    (and the foreground, under reverse), unless a line is drawn through or under them."""
    if a is None or b is None:
        return False
    if (a[0] | b[0]) & _SHOWN_ON_BLANKS:
        return a == b
    return a[2] == b[2]


def _full(pen: Pen) -> list[str]:
    return [str(a) for a in sorted(pen[0])] + [c for c in (pen[1], pen[2]) if c]


def change(old: Pen | None, new: Pen) -> str:
    """The shortest SGR this module knows that takes the terminal from ``old`` (``None``:
    unknown) to ``new``."""
    reset = ";".join(["0", *_full(new)]) if _full(new) else "0"
    if old is None:
        return f"\x1b[{reset}m"
    if old == new:
        return ""
    codes: list[str] = []
    off = sorted({_OFF_CODE[a] for a in old[0] - new[0]})
    codes += [str(c) for c in off]
    # 22 switches bold and dim off together: put back the one that stays.
    back = {a for a in new[0] if _OFF_CODE[a] in off} | (new[0] - old[0])
    codes += [str(a) for a in sorted(back)]
    if old[1] != new[1]:
        codes.append(new[1] or "39")
    if old[2] != new[2]:
        codes.append(new[2] or "49")
    diff = ";".join(codes)
    return f"\x1b[{diff if len(diff) < len(reset) else reset}m"


class SgrDiff:
    """Rewrites a terminal stream so each style change is written as a difference."""

    def __init__(self) -> None:
        self.terminal: Pen | None = None
        """The style the terminal has now (``None``: unknown)."""
        self.wanted: Pen | None = DEFAULT
        """The style the stream has asked for, not written yet (``None``: unknown -- the
        stream passes through untouched until its next reset)."""

    def feed(self, data: str) -> str:
        """The bytes to write instead of ``data`` (complete sequences expected; a stray
        partial one is written through and makes the style unknown)."""
        out: list[str] = []
        matches = list(_TOKEN.finditer(data))
        for index, match in enumerate(matches):
            token, params = match.group(0), match.group(1)
            if token == "\n" and index + 1 < len(matches) and \
                    _PLACE.fullmatch(matches[index + 1].group(0)):
                continue  # the line feed before an absolute position only moves the cursor
            if params is not None:
                base = self.wanted if self.wanted is not None else (
                    DEFAULT if params.split(";")[0] in ("", "0") else None)
                pen = apply(base, params) if base is not None else None
                if pen is not None:
                    self.wanted = pen  # written before the next text that needs it
                    continue
            elif token.strip("\r\n") == "" or token.startswith("\x1b]") or \
                    _QUIET_PRIVATE.fullmatch(token) or (
                    token.startswith("\x1b[") and token[-1] in _MOVES and "?" not in token):
                out.append(token)  # movement, a hyperlink, a mode that keeps the style
                continue
            elif not token.startswith("\x1b"):
                if not (token.strip(" ") == "" and _same_blanks(self.terminal, self.wanted)):
                    self._flush(out)
                out.append(token)  # text (blanks look alike in a style of the same background)
                continue
            elif token.startswith("\x1b[") and token[-1] in _ERASES and "?" not in token:
                self._flush(out)
                out.append(token)  # an erase: paints cells with the background
                continue
            # Anything this module does not model: the stream's own bytes, from a style
            # the terminal really has; what follows is unknown until the next reset.
            self._flush(out)
            out.append(token)
            self.terminal = self.wanted = None
        if self.wanted == DEFAULT and self.terminal != DEFAULT:
            self._flush(out)  # idle in the default style, as the stream leaves it
        return "".join(out)

    def _flush(self, out: list[str]) -> None:
        if self.wanted is not None and self.wanted != self.terminal:
            out.append(change(self.terminal, self.wanted))
            self.terminal = self.wanted


class LeanDriver(LinuxDriver):
    """Textual's terminal driver, writing style changes only (:class:`SgrDiff`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sgr = SgrDiff()

    def write(self, data: str) -> None:
        super().write(self._sgr.feed(data))
