"""The keymap table in docs/tui.md is the keymap: every id with its default keys, and
the ``:`` commands table lists every command (a stale table misleads at 3 a.m.)."""

from __future__ import annotations

import re
from pathlib import Path

from workbench.tui import keymap
from workbench.tui.commands import iter_help

DOC = Path(__file__).resolve().parents[2] / "docs" / "tui.md"


def test_every_binding_is_documented_with_its_keys() -> None:
    rows = dict(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \| `([^`]+)` \|", DOC.read_text(),
                           re.MULTILINE))
    expected = {key.id: key.keys for key in keymap.ALL}
    assert rows == expected


def test_every_command_is_documented() -> None:
    text = DOC.read_text()
    missing = [title for title, _, _ in iter_help() if f"| {title} |" not in text]
    assert missing == []
