"""Successful token checks, remembered for a few seconds.

Every ``/api`` request names its token; looking it up costs a hash and an indexed
read (on PostgreSQL a network round trip). A token that passed a moment ago passes
again, so a success is kept for :attr:`TokenCache.ttl` seconds, keyed by the
token's SHA-256 (the secret itself is not kept). Failures are never cached: a
token created a moment ago works on its first request.

Revocation applies from the next request. Through this API: the route calls
:meth:`TokenCache.clear`, and a lookup that began before the clear cannot put its
(now stale) answer back (:attr:`generation`). By another process on SQLite
(``workbench token revoke``): each entry carries a *stamp*, SQLite's
``PRAGMA data_version`` when it was looked up, which changes whenever another
connection commits; an entry whose stamp differs is looked up again (so while
something else writes, the cache mostly misses, and costs one pragma). On
PostgreSQL there is no such stamp: a revocation by another process or instance is
seen within ``ttl`` seconds, the bound, and why it is short.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

Found = tuple[int, str, str, str | None, int]
"""``(token id, name, role, team, tenant id)`` of a live token."""


class TokenCache:
    """A bounded, time-limited map from token hash to a live token."""

    def __init__(self, ttl: float, *, size: int = 1024,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._size = size
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, object, Found]] = OrderedDict()
        self.generation = 0
        """Bumped by :meth:`clear`; a lookup started under an older one is not stored."""

    def get(self, token_hash: str, stamp: object = None) -> Found | None:
        """The cached token, if checked less than ``ttl`` seconds ago under ``stamp``."""
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        if self._clock() >= entry[0] or entry[1] != stamp:
            self._entries.pop(token_hash, None)
            return None
        return entry[2]

    def put(self, token_hash: str, found: Found, generation: int,
            stamp: object = None) -> None:
        """Remember a success found by a lookup that began at ``generation`` and ``stamp``."""
        if self.ttl <= 0 or generation != self.generation:
            return
        self._entries[token_hash] = (self._clock() + self.ttl, stamp, found)
        self._entries.move_to_end(token_hash)
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every entry (a token was revoked through this process)."""
        self.generation += 1
        self._entries.clear()
