"""Run the real ``workbench`` command under a pseudo-terminal and record every byte."""

from __future__ import annotations

import fcntl
import os
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

SLOW_PRELUDE = """
import time
from workbench.tui.data import Repo
from workbench.tui.user_view import UserData
def _slowed(name, seconds):
    owner, _, name = name.rpartition(".")
    cls = {{"": Repo, "Repo": Repo, "UserData": UserData}}[owner]
    real = getattr(cls, name)
    def slow(self, *args, **kwargs):
        time.sleep(seconds)  # a busy store: this read takes a while
        return real(self, *args, **kwargs)
    setattr(cls, name, slow)
for _name, _seconds in {slow!r}.items():
    _slowed(_name, _seconds)
"""
"""Run before the CLI when a test asks for slow store reads (``slow={"events": 0.3}``:
``Repo.events``; ``"UserData.load_view"``: the user's saved place): a busy store, so
that data arrives well after the keys typed behind it."""

KEYS = {"enter": b"\r", "tab": b"\t", "escape": b"\x1b", "down": b"\x1b[B", "pagedown": b"\x1b[6~"}


class PtyApp:
    """The TUI in a child process on a pty of ``cols`` x ``rows``."""

    def __init__(self, db: Path, *args: str, cols: int = 80, rows: int = 24,
                 api: bool = False, slow: dict[str, float] | None = None,
                 python_args: list[str] | None = None) -> None:
        """``python_args``: run ``python <python_args>`` instead of ``workbench`` (a
        benchmark's baseline app); ``started`` is the monotonic time of the spawn."""
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(cols),
               "LINES": str(rows), "TEXTUAL_ANIMATIONS": "none", "ESCDELAY": "25"}
        env.pop("NO_COLOR", None)
        argv = ["--db", str(db), *([] if api else ["--no-api"]), *args]
        start = ["-m", "workbench"]
        if slow:
            start = ["-c", SLOW_PRELUDE.format(slow=slow) + "from workbench.cli.main import main\n"
                     f"import sys\nsys.argv = ['workbench', *{argv!r}]\nraise SystemExit(main())"]
        command = python_args if python_args is not None else [*start, *([] if slow else argv)]
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, *command],
            stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
        os.close(slave)
        self.output = bytearray()
        self._last = time.monotonic()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.output += chunk
            self._last = time.monotonic()

    def quiet(self, *, idle: float = 0.3, timeout: float = 20.0, expect: float = 3.0) -> None:
        """Wait until the app has reacted (new output, or ``expect`` s of none) and is idle."""
        start_len, start = len(self.output), time.monotonic()
        while time.monotonic() - start < timeout:
            reacted = len(self.output) > start_len or time.monotonic() - start > expect
            if reacted and time.monotonic() - self._last >= idle:
                return
            time.sleep(0.02)  # polling the reader's progress, not waiting for a result
        raise AssertionError("the app did not settle")

    def wait_for(self, text: bytes, timeout: float = 30.0, *, settle: bool = True,
                 since: int = 0) -> None:
        """Until ``text`` was written (e.g. the first screen drew), then until idle
        (unless ``settle`` is false: type while the app is still loading).

        Keys written before the app put the terminal in raw mode are cooked by the
        line discipline (Enter arrives as ctrl+j): wait for the first screen first."""
        began = time.monotonic()
        while text not in self.output[since:]:
            if time.monotonic() - began > timeout:
                raise AssertionError(f"{text!r} never appeared")
            time.sleep(0.02)  # polling the reader's progress for a condition
        if settle:
            self.quiet()

    def resize(self, cols: int, rows: int) -> None:
        """Change the window size (SIGWINCH) and settle."""
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.killpg(self.proc.pid, signal.SIGWINCH)
        self.quiet()

    def press_timed(self, key: str, timeout: float = 10.0) -> float:
        """Seconds from writing ``key`` to the first byte the app writes back; then settle."""
        before = len(self.output)
        began = time.monotonic()
        os.write(self.master, KEYS.get(key, key.encode()))
        while len(self.output) == before:
            if time.monotonic() - began > timeout:
                raise AssertionError(f"no output after {key!r}")
            time.sleep(0.0005)  # spinning on the reader's progress, to time the reply
        elapsed = time.monotonic() - began
        self.quiet()
        return elapsed

    def press(self, *keys: str) -> None:
        """Send keys (names from :data:`KEYS` or literal characters), letting each settle."""
        for key in keys:
            os.write(self.master, KEYS.get(key, key.encode()))
            self.quiet()

    def close(self) -> int:
        """Quit with ctrl+q; return the exit status."""
        if self.proc.poll() is None:
            os.write(self.master, b"\x11")
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        os.close(self.master)
        return self.proc.returncode
