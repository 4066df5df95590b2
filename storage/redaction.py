"""Redaction at ingest: secrets and personal data never reach the store.

:func:`storage.ingest.ingest` is the one path into the store, so it is the one place
that redacts: an event's title, body, url, tags and attribute values, and every dead
letter's payload and message, before anything is written (the FTS index, the API and
the TUI only ever see what was stored). A match becomes a typed placeholder,
``[redacted:email]``, so a reader still sees that something was there and what kind.

Built-in detectors (:data:`BUILTIN`), each on or off per source or connector, plus
custom regexes from the config. One alternation of every enabled pattern scans each
string once; a card number must also pass the Luhn check, and only the secret part
of a credential is replaced (``Authorization: Bearer [redacted:bearer]``,
``postgres://app:[redacted:url_password]@db``), so the line stays readable.

Dead letters are redacted as bytes read as Latin-1 (one character per byte), which
keeps any ASCII-compatible payload — JSON, logfmt, form bodies — valid; compressed
payloads (gzip) are opaque to it, which the README says.

Counts per detector are kept per process (:func:`counts`) for ``/metrics``.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from storage.models import NewDeadLetter, NewEvent

REDACTION = "workbench.redaction"
"""Key of the :class:`Policy` in a write session's ``info`` (set by :class:`Store`)."""

Replace = Callable[[re.Match[str], str], str | None]
"""``(match, placeholder) -> replacement``, or ``None`` to keep the text (not a hit)."""


def _whole(match: re.Match[str], placeholder: str) -> str:
    return placeholder


def _after_prefix(prefix_group: str) -> Replace:
    """Keep the named group (a label such as ``Authorization: ``), replace the rest."""
    def replace(match: re.Match[str], placeholder: str) -> str:
        return (match.group(prefix_group) or "") + placeholder
    return replace


def _luhn(match: re.Match[str], placeholder: str) -> str | None:
    digits = [int(c) for c in match.group(0) if c.isdigit()]
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1:
        return None
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return placeholder if total % 10 == 0 else None


@dataclass(frozen=True)
class Detector:
    """One kind of secret or personal datum: a pattern and how a match is replaced."""

    name: str
    pattern: str
    replace: Replace = _whole
    flags: int = 0
    literals: tuple[str, ...] = ()
    """Strings one of which every match contains (``@``, ``AKIA``; case-insensitive if
    the pattern is): an event holding no detector's literal or trigger is passed whole,
    without running the full patterns."""
    trigger: str | None = None
    """A cheap pattern every match contains, where literals cannot say it; with neither,
    the pattern is its own trigger (custom patterns)."""


BUILTIN: dict[str, Detector] = {d.name: d for d in (
    Detector("private_key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----"
                            r"(?:[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----|[\s\S]*)",
             literals=("PRIVATE KEY",)),
    Detector("authorization",
             r"(?P<authorization_label>\b(?:proxy-)?authorization\b[\"']?\s*[:=]\s*[\"']?"
             r"(?:(?:bearer|basic|token|digest|negotiate)\s+)?)[^\s\"',;]{6,}",
             _after_prefix("authorization_label"), re.IGNORECASE, ("authorization",)),
    Detector("bearer", r"(?P<bearer_label>\bbearer\s+)[A-Za-z0-9._~+/-]{8,}=*",
             _after_prefix("bearer_label"), re.IGNORECASE, ("bearer",)),
    Detector("url_password", r"(?P<url_password_label>\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)"
                             r"[^/\s@]+(?=@)", _after_prefix("url_password_label"),
             re.IGNORECASE, ("://",)),
    Detector("aws_key", r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b",
             literals=("AKIA", "ASIA", "AGPA", "AIDA", "AROA")),
    Detector("github_token",
             r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})",
             literals=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
    Detector("gitlab_token", r"\bglpat-[A-Za-z0-9_-]{20,}", literals=("glpat-",)),
    Detector("slack_token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}", literals=("xox",)),
    Detector("google_api_key", r"\bAIza[0-9A-Za-z_-]{35}", literals=("AIza",)),
    Detector("stripe_key", r"\b[rs]k_(?:live|test)_[0-9A-Za-z]{16,}",
             literals=("k_live_", "k_test_")),
    Detector("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
             literals=("eyJ",)),
    Detector("email", r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}"
                      r"\b(?![:/])", literals=("@",)),
    Detector("card_number", r"(?<![\w.-])(?:[2-6]\d{12,15}|[2-6]\d{3}(?:[ -]\d{3,6}){2,4})"
                            r"(?![\w.-])", _luhn,
             trigger=r"[2-6]\d{3}[ -]?\d{3,6}[ -]?\d{3}"),
)}
"""Card numbers start with 2-6 (the issuer ranges), stand alone, and are 13-16
digits run together or 13-19 in groups: epoch milliseconds (``17…``), block ids
(``blk_8466…``) and 19-digit decimal span ids are not cards. An address followed
by ``:`` or ``/`` is an ssh remote (``git@host:org/repo``), not an e-mail.

Order matters where patterns overlap: the first alternative that matches wins
(a private key block before anything inside it, an Authorization header before the
bare ``Bearer`` it contains)."""


def placeholder(name: str) -> str:
    return f"[redacted:{name}]"


_lock = threading.Lock()
_counts: Counter[str] = Counter()


def counts() -> dict[str, int]:
    """Redactions per detector in this process since it started."""
    with _lock:
        return dict(_counts)


@dataclass(frozen=True)
class Redactor:
    """The enabled detectors of one source, compiled into one pattern."""

    detectors: tuple[Detector, ...]
    _regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _trigger: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _literals: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _lower_literals: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _by_group: dict[str, Detector] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts, by_group = [], {}
        for index, detector in enumerate(self.detectors):
            group = f"d{index}"
            inline = _inline_flags(detector.flags)
            parts.append(f"(?P<{group}>{inline}{detector.pattern})" if not inline else
                         f"(?P<{group}>(?{inline}:{detector.pattern}))")
            by_group[group] = detector
        regex = re.compile("|".join(parts)) if parts else None
        exact = [lit for d in self.detectors if not d.flags & re.IGNORECASE
                 for lit in d.literals]
        folded = [lit.lower() for d in self.detectors if d.flags & re.IGNORECASE
                  for lit in d.literals]
        triggers = [d.trigger if d.trigger is not None else
                    (f"(?{_inline_flags(d.flags)}:{d.pattern})" if d.flags else d.pattern)
                    for d in self.detectors if not d.literals]
        trigger = re.compile("|".join(f"(?:{t})" for t in triggers)) if triggers else None
        object.__setattr__(self, "_regex", regex)
        object.__setattr__(self, "_trigger", trigger)
        object.__setattr__(self, "_literals", tuple(exact))
        object.__setattr__(self, "_lower_literals", tuple(folded))
        object.__setattr__(self, "_by_group", by_group)

    def text(self, value: str, hits: Counter[str]) -> str:
        """``value`` with every match replaced (``hits`` counts them by detector)."""
        regex = self._regex
        if regex is None or not value:
            return value

        def substitute(match: re.Match[str]) -> str:
            detector = self._by_group[match.lastgroup or ""]
            inner = _group_match(match, match.lastgroup or "")
            replaced = detector.replace(inner, placeholder(detector.name))
            if replaced is None:
                return match.group(0)
            hits[detector.name] += 1
            return replaced
        return regex.sub(substitute, value)

    def value(self, value: Any, hits: Counter[str]) -> Any:
        """Strings anywhere inside plain data (dict keys stay as they are)."""
        if isinstance(value, str):
            return self.text(value, hits)
        if isinstance(value, dict):
            return {k: self.value(v, hits) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v, hits) for v in value]
        return value

    def event(self, event: NewEvent, hits: Counter[str]) -> NewEvent:
        """The event with its free text redacted (itself if nothing matched).

        Most events hold nothing to redact: one search for any detector's trigger over
        all of the event's text (its attributes as JSON) settles that in one C-level
        scan, instead of a full-pattern pass over every string.
        """
        if self._regex is None:
            return event
        text = "\n".join((event.title, event.body, event.url or "", *event.tags,
                          orjson.dumps(event.attributes).decode() if event.attributes else ""))
        if not self._triggered(text):
            return event
        before = sum(hits.values())
        title = self.text(event.title, hits)
        body = self.text(event.body, hits)
        url = self.text(event.url, hits) if event.url else event.url
        attributes = self.value(event.attributes, hits) if event.attributes else event.attributes
        tags = [self.text(t, hits) for t in event.tags] if event.tags else event.tags
        if sum(hits.values()) == before:
            return event
        return event.model_copy(update={"title": title, "body": body, "url": url,
                                        "attributes": attributes, "tags": tags})

    def _triggered(self, text: str) -> bool:
        if any(literal in text for literal in self._literals):
            return True
        if self._lower_literals:
            lowered = text.lower()
            if any(literal in lowered for literal in self._lower_literals):
                return True
        return self._trigger is not None and self._trigger.search(text) is not None

    def letter(self, letter: NewDeadLetter, hits: Counter[str]) -> NewDeadLetter:
        """The dead letter with its payload (read as Latin-1) and message redacted."""
        before = sum(hits.values())
        payload = self.text(letter.payload.decode("latin-1"), hits).encode("latin-1")
        message = self.text(letter.message, hits)
        if sum(hits.values()) == before:
            return letter
        return letter.model_copy(update={"payload": payload, "message": message})


def _inline_flags(flags: int) -> str:
    return "i" if flags & re.IGNORECASE else ""


class _Inner:
    """A view of one alternative's match with its own group names (what ``replace``
    functions read), over the combined pattern's match."""

    def __init__(self, match: re.Match[str], group: str) -> None:
        self._match, self._group = match, group

    def group(self, name: int | str = 0) -> str | None:
        return self._match.group(self._group if name == 0 else name)


def _group_match(match: re.Match[str], group: str) -> re.Match[str]:
    return _Inner(match, group)  # type: ignore[return-value]


@dataclass(frozen=True)
class Policy:
    """Which detectors run for which source: a default set, per-source (or
    per-connector) overrides, and custom patterns (usable by name like built-ins)."""

    default: tuple[str, ...] = tuple(BUILTIN)
    sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    custom: Mapping[str, str] = field(default_factory=dict)
    _cache: dict[str, Redactor] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        known = {*BUILTIN, *self.custom}
        for where, names in [("default", self.default), *self.sources.items()]:
            unknown = sorted(set(names) - known)
            if unknown:
                raise ValueError(f"redaction.{where}: unknown detector(s) {', '.join(unknown)} "
                                 f"(known: {', '.join(sorted(known))})")
        for name, pattern in self.custom.items():
            if name in BUILTIN:
                raise ValueError(f"redaction.custom.{name}: a built-in detector has that name")
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"redaction.custom.{name}: not a regular expression: "
                                 f"{exc}") from exc

    def for_source(self, key: str) -> Redactor:
        """The redactor of a source (``logs``) or connector name (``app-logs``)."""
        found = self._cache.get(key)
        if found is None:
            names = self.sources.get(key, self.default)
            found = self._cache[key] = Redactor(tuple(self._detector(n) for n in names))
        return found

    def _detector(self, name: str) -> Detector:
        if name in BUILTIN:
            return BUILTIN[name]
        return Detector(name, self.custom[name])

    def apply(self, events: Sequence[NewEvent], letters: Sequence[NewDeadLetter],
              connector: str | None) -> tuple[list[NewEvent], list[NewDeadLetter]]:
        """A batch with everything redacted, counted per detector."""
        hits: Counter[str] = Counter()
        redacted = [self._for(event.source.value, connector).event(event, hits)
                    for event in events]
        cleaned = [self._for(None, connector or letter.connector).letter(letter, hits)
                   for letter in letters]
        if hits:
            with _lock:
                _counts.update(hits)
        return redacted, cleaned

    def _for(self, source: str | None, connector: str | None) -> Redactor:
        if connector is not None and connector in self.sources:
            return self.for_source(connector)
        return self.for_source(source if source is not None else "")


def scan(policy: Policy, texts: Iterable[str], source: str = "") -> Counter[str]:
    """How many matches each detector finds in ``texts`` (measuring false positives)."""
    hits: Counter[str] = Counter()
    redactor = policy.for_source(source)
    for text in texts:
        redactor.text(text, hits)
    return hits
