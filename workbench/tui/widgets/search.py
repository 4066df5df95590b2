"""Search inside a list as in less and vim: ``/`` text, then ``n``/``N`` step through
the rows that contain it, and every occurrence is highlighted.

A search moves the cursor and hides nothing (``f`` filters). It matches what a row
says (its rendered text, untruncated), because that is what the user reads and
searches for; the store's full-text filter (``f``) is the tool for "only these".
Smart case, as ``less -i`` and vim's ``smartcase``: a pattern with no capital
letter ignores case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SearchPattern:
    """A literal pattern, compiled once."""

    text: str = ""
    regex: re.Pattern[str] | None = field(default=None, compare=False)

    @classmethod
    def of(cls, text: str) -> SearchPattern:
        """``text`` as a literal, case-insensitive unless it holds a capital letter."""
        if not text:
            return cls()
        flags = 0 if any(ch.isupper() for ch in text) else re.IGNORECASE
        return cls(text, re.compile(re.escape(text), flags))

    def __bool__(self) -> bool:
        return self.regex is not None

    def found_in(self, text: str) -> bool:
        """Whether ``text`` contains the pattern."""
        return self.regex is not None and self.regex.search(text) is not None

