"""Regenerates docs/screens/done-flow.md: the done flow driven by keys in tmux at 80x24.

Run from the repository root: ``.venv/bin/python docs/screens/capture_done_flow.py``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

TMUX = ["tmux", "-L", "wb-flow", "-f", "/dev/null"]
STEPS = [
    ("1. The list: the incident is on top", [], "Checkout payments failing"),
    ("2. Enter: its timeline (linked events, histogram by source)", ["Enter"], "linked events"),
    ("3. Tab: the details (MTTR so far and its formula, suspects)", ["Tab"], "MTTR so far"),
    ("4. Tab back, Enter on the first error: body with the stack trace", ["Tab", "Enter"],
     "Traceback"),
    ("5. c: the commit that preceded it", ["c"], "kind              commit"),
    ("6. Esc Esc: back on the timeline, exactly where it was", ["Escape", "Escape"],
     "linked events"),
    ("7. n: the note prompt", ["n"], "Note (becomes"),
    ("8. type, Enter: the note is on the timeline as a manual event (J jumps to it)",
     ["-l pool size back to 20 (revert of 9f3c2e1)", "Enter"], "note added"),
    ("9. s r: resolved", ["s", "r"], "status: resolved"),
]


def tmux(*args: str) -> str:
    """Run a tmux command on the private server."""
    return subprocess.run([*TMUX, *args], capture_output=True, text=True, check=True).stdout


def wait(text: str, timeout: float = 20.0) -> str:
    """The screen once ``text`` is on it."""
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux("capture-pane", "-p", "-t", "w")
        if text in screen:
            return screen
        time.sleep(0.1)
    raise SystemExit(f"missing {text!r}:\n{screen}")


def main() -> None:
    """Seed a store, drive the flow, write the markdown."""
    sys.path.insert(0, str(Path.cwd()))
    from storage import Store
    from tests.tui.conftest import seed

    db = Path(tempfile.mkdtemp()) / "flow.db"
    store = Store.open(db)
    seed(store)
    store.close()
    tmux("new-session", "-d", "-s", "w", "-x", "80", "-y", "24",
         f"TERM=xterm-256color {sys.executable} -m workbench --db {db} --no-api")
    tmux("set-option", "-s", "escape-time", "10")
    out = []
    try:
        for title, keys, until in STEPS:
            for key in keys:
                if key.startswith("-l "):
                    tmux("send-keys", "-t", "w", "-l", key[3:])
                else:
                    tmux("send-keys", "-t", "w", key)
                time.sleep(0.15)  # pacing like a person; the capture waits on a condition
            wait(until)
            screen = tmux("capture-pane", "-p", "-t", "w")
            out.append(f"### {title}\n\nKeys: `{' '.join(keys) or '(launch)'}`\n\n"
                       f"```\n{screen.rstrip()}\n```\n")
    finally:
        tmux("kill-server")
    Path("docs/screens/done-flow.md").write_text(
        "# The done flow, by keys, at 80x24 (tmux capture-pane)\n\n"
        "Demo store built with a fixed clock (`tests/tui/conftest.py::seed`).\n\n"
        + "\n".join(out))


if __name__ == "__main__":
    main()
