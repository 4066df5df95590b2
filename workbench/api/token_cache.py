"""Successful token checks, remembered for a few seconds.

Every ``/api`` request names its token; looking it up costs a hash and an indexed
read (on PostgreSQL a network round trip). A token that passed a moment ago passes
again, so a success is kept for :attr:`TokenCache.ttl` seconds, keyed by the
token's SHA-256 (the secret itself is not kept). Failures are never cached: a
token created a moment ago works on its first request.

Revocation stays immediate where it can be: a revocation through this API calls
:meth:`TokenCache.clear`, and the next request looks the token up again. A lookup
that began before the clear cannot put its (now stale) answer back: each entry is
stored only if no clear happened since its lookup began (:attr:`generation`). A
revocation made by another process (``workbench token revoke``, another instance
on a shared store) is seen within ``ttl`` seconds: that is the bound, and why it
is short.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

Found = tuple[int, str, str, str | None]
"""``(token id, name, role, team)`` of a live token."""


class TokenCache:
    """A bounded, time-limited map from token hash to a live token."""

    def __init__(self, ttl: float, *, size: int = 1024,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._size = size
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Found]] = OrderedDict()
        self.generation = 0
        """Bumped by :meth:`clear`; a lookup started under an older one is not stored."""

    def get(self, token_hash: str) -> Found | None:
        """The cached token, if it was checked less than ``ttl`` seconds ago."""
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        if self._clock() >= entry[0]:
            self._entries.pop(token_hash, None)
            return None
        return entry[1]

    def put(self, token_hash: str, found: Found, generation: int) -> None:
        """Remember a success found by a lookup that began at ``generation``."""
        if self.ttl <= 0 or generation != self.generation:
            return
        self._entries[token_hash] = (self._clock() + self.ttl, found)
        self._entries.move_to_end(token_hash)
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every entry (a token was revoked through this process)."""
        self.generation += 1
        self._entries.clear()
