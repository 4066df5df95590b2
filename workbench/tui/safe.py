"""Untrusted text as Rich ``Text`` / Textual ``Content``: sanitised, never parsed as markup.

The cleaning itself is :mod:`workbench.sanitize` (core: the CLI and reports use it
too); this is the TUI's end of the display boundary.
"""

from __future__ import annotations

from rich.text import Text
from textual.content import Content

from workbench.sanitize import sanitize, sanitize_line


def safe_text(text: object, style: str = "", *, line: bool = False) -> Text:
    """A Rich ``Text`` holding ``text`` verbatim (sanitised, never parsed as markup)."""
    return Text(sanitize_line(text) if line else sanitize(text), style=style)


def safe_content(text: object, *, line: bool = False) -> Content:
    """A Textual ``Content`` holding ``text`` verbatim (sanitised, never parsed as markup)."""
    return Content(sanitize_line(text) if line else sanitize(text))


def assemble(*parts: tuple[object, str] | str) -> Text:
    """A ``Text`` from ``(untrusted value, style)`` pairs and trusted literal strings.

    Use this instead of an f-string with markup: the value is sanitised and its
    brackets stay brackets.
    """
    out = Text()
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        else:
            value, style = part
            out.append(sanitize(value), style=style)
    return out
