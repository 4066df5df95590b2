"""Where an investigation's errors point: which services the failing calls reach.

Each error points at one service, by the first of these that names another service
than the one that reported it:

1. ``trace``: its trace's deepest failing span belongs to another service;
2. ``peer``: a peer attribute names the callee (``peer.service``, ``rpc.service``,
   ``server.address``, a URL's host, ``upstream`` ...), resolved to a service by the
   config's host map, then by name (exact, then ignoring case, punctuation and
   suffixes such as ``-svc``, ``-api``, ``service``, a plural ``s``);
3. ``text``: its title names another service ("call to payments failed");
4. ``own``: otherwise the error is the reporting service's own.

An error pointing at a service that itself reports failing calls onward is followed
on (up to three hops), in the proportions of that service's own errors.

The counts come from :func:`storage.error_direction.error_groups` (aggregated in the
store); this module only resolves and adds up the groups.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from storage.error_direction import ErrorGroup, ErrorGroups

ADDRESS_KEYS = frozenset({"server.address", "net.peer.name", "upstream", "http.url", "url.full"})
_SUFFIXES = ("service", "svc", "api", "server", "grpc", "app")
VIA_WORDS = {"trace": "failing traces end there", "peer": "calls to it failed",
             "text": "logs name it", "own": "its own"}


@dataclass(frozen=True, slots=True)
class Target:
    """A service the errors point at."""

    service: str
    count: float
    """Errors pointing here (fractional where errors were followed through a service)."""
    first_at: datetime
    via: Mapping[str, float] = field(default_factory=dict)
    """How many point there by each rule (``trace``, ``peer``, ``text``, ``own``) or
    through which service (``via checkout``)."""

    def explain(self, total: int) -> str:
        """``12 of 40 errors point at payments (9 failing traces end there, 3 ...)``."""
        parts = ", ".join(f"{n:.0f} {VIA_WORDS.get(k, k)}" for k, n in
                          sorted(self.via.items(), key=lambda kv: -kv[1]) if round(n))
        return f"{self.count:.0f} of {total} errors point at {self.service} ({parts})"


@dataclass(frozen=True, slots=True)
class ErrorDirection:
    """The picture of one investigation: targets by count, and who reported the errors."""

    targets: tuple[Target, ...]
    total: int
    examined: int
    reporters: Mapping[str, int]
    """Errors reported by each service."""

    def target(self, service: str | None) -> Target | None:
        """The target named ``service`` (``None`` if no error points there)."""
        return next((t for t in self.targets if t.service == service), None)

    def relative(self, service: str | None) -> float:
        """Errors pointing at ``service`` over those pointing at the top target (0..1)."""
        found = self.target(service)
        return found.count / self.targets[0].count if found and self.targets else 0.0


class PeerResolver:
    """Peer attribute values -> service names."""

    def __init__(self, known: Iterable[str], hosts: Mapping[str, str]) -> None:
        self.known = {k.lower(): k for k in known if k}
        self.hosts = {k.lower(): v for k, v in hosts.items()}
        by_norm: dict[str, set[str]] = {}
        for name in self.known.values():
            by_norm.setdefault(_norm(name), set()).add(name)
        self.by_norm = {n: next(iter(s)) for n, s in by_norm.items() if len(s) == 1}

    def __call__(self, key: str, value: str) -> str:
        """The service ``value`` names (the host or name itself when none is known)."""
        text = value.strip().lower()
        if key in ADDRESS_KEYS:
            text = _host(text)
            mapped = self._mapped(text)
            if mapped:
                return mapped
            tokens = [text, text.split(".", 1)[0]]
        elif key == "rpc.service":
            tokens = [text, *text.split(".")]
        else:
            tokens = [text]
        for token in tokens:
            if token in self.known:
                return self.known[token]
        for token in tokens:
            found = self.by_norm.get(_norm(token))
            if found:
                return found
        return tokens[0]

    def _mapped(self, host: str) -> str | None:
        if host in self.hosts:
            return self.hosts[host]
        return next((v for k, v in self.hosts.items() if fnmatch.fnmatchcase(host, k)), None)


def _host(text: str) -> str:
    if "://" in text:
        text = text.split("://", 1)[1].split("/", 1)[0]
    host, _, port = text.rpartition(":")
    return host if host and port.isdigit() else text


def _norm(name: str) -> str:
    text = re.sub(r"[^a-z0-9]", "", name.lower())
    for suffix in _SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix) + 2:
            text = text[: -len(suffix)]
            break
    return text[:-1] if text.endswith("s") and len(text) > 3 else text


def point(group: ErrorGroup, resolve: PeerResolver, names: Mapping[str, str]
          ) -> tuple[str | None, str]:
    """(service the group's errors point at, by which rule)."""
    own = group.service
    if group.trace_end and group.trace_end != own:
        return group.trace_end, "trace"
    if group.peer and "=" in group.peer:
        key, value = group.peer.split("=", 1)
        service = resolve(key, value) if value else None
        if service and service != own:
            return service, "peer"
    if group.mention:
        return names.get(group.mention, group.mention), "text"
    return own, "own"


def direction(groups: ErrorGroups, resolve: PeerResolver, names: Mapping[str, str]
              ) -> ErrorDirection:
    """Add the groups up per target service, following errors through a service that
    reports failing calls onward (gateway -> checkout -> payments: the gateway's errors
    about checkout go where checkout's own errors point, in the same proportions)."""
    pointed = [(g, *point(g, resolve, names)) for g in groups.groups]
    outgoing: dict[str, dict[str, float]] = {}
    for group, target, _ in pointed:
        if group.service and target:
            out = outgoing.setdefault(group.service, {})
            out[target] = out.get(target, 0.0) + group.count
    counts: dict[str, dict[str, float]] = {}
    first: dict[str, datetime] = {}
    for group, target, via in pointed:
        if not target:
            continue
        relay = _spread(target, outgoing) if target != group.service else {target: 1.0}
        for final, fraction in relay.items():
            how = via if final == target else f"via {target}"
            by_via = counts.setdefault(final, {})
            by_via[how] = by_via.get(how, 0.0) + group.count * fraction
            first[final] = min(first.get(final, group.first_at), group.first_at)
    targets = [Target(s, sum(v.values()), first[s], v) for s, v in counts.items()]
    targets.sort(key=lambda t: (-t.count, t.first_at, t.service))
    reporters = {s: int(sum(out.values())) for s, out in outgoing.items()}
    return ErrorDirection(tuple(targets), groups.total, groups.examined, reporters)


def _spread(service: str, outgoing: Mapping[str, Mapping[str, float]], depth: int = 3,
            seen: frozenset[str] = frozenset()) -> dict[str, float]:
    """Where an error arriving at ``service`` ends up: its own errors' distribution."""
    out = outgoing.get(service)
    total = sum(out.values()) if out else 0.0
    if not out or not total or depth == 0 or service in seen:
        return {service: 1.0}
    spread: dict[str, float] = {}
    for target, count in out.items():
        onward = {target: 1.0} if target == service else \
            _spread(target, outgoing, depth - 1, seen | {service})
        for final, fraction in onward.items():
            spread[final] = spread.get(final, 0.0) + fraction * count / total
    return spread
