"""Pausing the cyclic garbage collector around bulk work that builds no cycles.

The lowest layer holds it because both sides need it: connectors decoding large JSON
replies, the exports building a bundle document.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC around a bulk decode or build (never across an ``await``).

    Decoding a large JSON document creates millions of containers, and the GC
    rescans them again and again while they are built: about 70% of the parse time
    (performance.md §6); building a bundle, a quarter of its time. Whatever the block
    creates and drops is freed by reference counting as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
