"""Package exports resolved on first use (PEP 562), shared by the connector packages.

Reading the config imports a connector package for its config model only; the
connector, its parsers and their dependencies (numpy, protobuf) load when used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``exports`` maps each name to the
    module that defines it, imported when the name is first read."""
    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(exports[name]), name)
    return __getattr__
