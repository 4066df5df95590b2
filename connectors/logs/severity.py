"""Severity of a log record: from its level field and from its content (pure).

The result is the higher of the two: an ``INFO`` line that carries a traceback, a
Go panic, an out-of-memory kill or an HTTP 5xx is not informational.
"""

from __future__ import annotations

import re
from typing import Any

from storage.models import Severity

_I, _L, _M, _H, _C = (Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH,
                      Severity.CRITICAL)
LEVEL_NAMES: dict[str, Severity] = {
    "trace": _I, "debug": _I, "dbg": _I, "info": _I, "information": _I, "informational": _I,
    "t": _I, "d": _I, "i": _I, "log": _I, "note": _I,
    **{f"debug{n}": _I for n in range(1, 6)}, **{f"d{n}": _I for n in range(1, 6)},
    "notice": _L, "n": _L, "warn": _M, "warning": _M, "w": _M,
    "err": _H, "error": _H, "e": _H, "severe": _H, "crit": _C, "critical": _C, "fatal": _C,
    "f": _C, "panic": _C, "dpanic": _C, "alert": _C, "emerg": _C, "emergency": _C,
}
# syslog / journald PRIORITY 0 (emerg) .. 7 (debug)
SYSLOG_PRIORITY = (_C, _C, _C, _H, _M, _L, _I, _I)


def level_severity(level: Any, *, syslog: bool = False) -> Severity | None:
    """The severity a level value names, or ``None`` if it names none we know."""
    if isinstance(level, str):
        known = LEVEL_NAMES.get(level.strip().lower())
        if known is not None or not level.strip().isdigit():
            return known
        level = int(level)
    if isinstance(level, bool) or not isinstance(level, int | float):
        return None
    number = int(level)
    if syslog or 0 <= number <= 7:
        return SYSLOG_PRIORITY[min(max(number, 0), 7)]
    if number >= 10:  # pino/bunyan: 10 trace .. 60 fatal
        return _C if number >= 60 else _H if number >= 50 else _M if number >= 40 else _I
    return None


# Content signals: (tag, severity, pattern). One combined prefilter keeps the common
# case (no signal at all) to a single regex scan.
_SIGNALS: tuple[tuple[str, Severity, str], ...] = (
    ("panic", _C, r"\bpanic: |goroutine \d+ \[running\]|\bSIGSEGV\b|[Ss]egmentation fault"),
    ("oom", _C, r"[Oo]ut of memory|OutOfMemoryError|\bMemoryError\b|oom[-_ ]?kill|"
                r"\bOOMKilled\b|Killed process \d+|Cannot allocate memory"),
    ("stacktrace", _H, r"Traceback \(most recent call last\)|^\s+at [\w$.<>]+\(|"
                       r"Exception in thread \"|\b[A-Za-z_][\w$.]*(?:Exception|Error):"),
    ("http_5xx", _H, r"\"\s(5\d\d)\s|\bstatus[=:]\s*\"?5\d\d\b|\bHTTP/\d(?:\.\d)?\"?\s+5\d\d\b"),
)
_EACH_SIGNAL = tuple((tag, sev, re.compile(p, re.MULTILINE)) for tag, sev, p in _SIGNALS)
# Literal words at least one of which every signal pattern contains: substring tests
# are far cheaper than the patterns, and most lines contain none of them.
_HINT = re.compile(r"panic|goroutine|SIGSEGV|egmentation|emory|OOM|oom|Killed|Traceback|at "
                   r"|Exception|Error|[\s=:\"]5\d\d\b")


def content_signals(text: str) -> list[tuple[str, Severity]]:
    """Signals found in ``text``: traceback, panic, OOM, HTTP 5xx."""
    if _HINT.search(text) is None:
        return []
    return [(tag, sev) for tag, sev, rx in _EACH_SIGNAL if rx.search(text)]


def may_name_error(text: str) -> bool:
    """Cheap test before :func:`error_type_from_text`."""
    return "Error" in text or "Exception" in text or "panic" in text or "Exit" in text \
        or "Interrupt" in text or "Fault" in text


SEVERITIES = tuple(Severity)
"""Severity by rank (0 info .. 4 critical)."""


def status_severity(status: Any) -> Severity | None:
    """HTTP status fields: 5xx is high, anything else says nothing."""
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if isinstance(status, int) and not isinstance(status, bool) and 500 <= status <= 599:
        return _H
    return None


_ERROR_TYPE = re.compile(
    r"^(?:Caused by: |Exception in thread \"[^\"\n]*\" )?"
    r"([A-Za-z_][\w$.]*(?:Error|Exception|Exit|Interrupt|Fault))(?::|\s*$)",
    re.MULTILINE,
)
_GO_PANIC = re.compile(r"^panic: (runtime error)?", re.MULTILINE)


def error_type_from_text(text: str) -> str | None:
    """The exception class named by a stack trace (Python: last; Java: first), or panic."""
    found = _ERROR_TYPE.findall(text)
    if found:
        return str(found[-1] if "Traceback (most recent call last)" in text else found[0])
    panic = _GO_PANIC.search(text)
    if panic:
        return "runtime error" if panic.group(1) else "panic"
    return None
