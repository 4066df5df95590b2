"""Machine output written to a terminal is as safe as the TUI: the hostile corpus goes
through ``workbench report --format json`` (and the other JSON outputs) in a real pty,
and no control byte or bidi override reaches it raw, while the JSON still parses back
to exactly what is stored."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from storage import Store
from tests.tui.hostile import CORPUS, seed_hostile
from workbench.sanitize import json_safe

UNSAFE = [chr(c).encode() for c in range(0x80, 0xA0)] + [
    ch.encode() for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029"]


def _through_pty(*args: str) -> bytes:
    """Run ``workbench ...`` with stdout on a pty and return every byte it wrote."""
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "workbench", *args], stdout=slave,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    os.close(slave)
    out = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the pty
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert proc.wait(timeout=30) == 0, proc.stderr.read() if proc.stderr else b""
    return bytes(out)


@pytest.mark.slow
def test_report_json_in_a_pty_carries_no_raw_controls(tmp_path: Path) -> None:
    db = tmp_path / "hostile.db"
    store = Store.open(db)
    inv_id = seed_hostile(store)
    stored = store.get_investigation(inv_id)
    store.close()
    out = _through_pty("--db", str(db), "report", "--format", "json", str(inv_id))
    assert b"\x1b" not in out and b"\x07" not in out
    assert not [u for u in UNSAFE if u in out]
    document = orjson.loads(out.replace(b"\r\n", b"\n"))  # the pty turns \n into \r\n
    assert document["investigation"]["summary"] == stored.summary  # lossless
    assert "\u202e" in document["investigation"]["summary"]
    assert "\x9b" in document["investigation"]["summary"]


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_json_safe_is_lossless_and_terminal_safe(name: str) -> None:
    """Each corpus entry: no raw unsafe byte in the output; it parses back unchanged."""
    value = CORPUS[name].replace("\ud800", "?")
    out = json_safe(orjson.dumps({"v": value}))
    assert not [u for u in UNSAFE if u in out] and b"\x1b" not in out
    assert orjson.loads(out) == {"v": value}
