"""The Drain miner as it was before the speed work of issue 16, kept verbatim as the
reference: ``tests/triage/test_drain_equal.py`` requires the product's miner to put
every message in the same cluster with the same template, in the same order."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

WILD = "<*>"
DEFAULT_MASKS = (
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
    r"(?<![\w.])(\d{1,3}\.){3}\d{1,3}(:\d+)?\b",
    r"\b0[xX][0-9a-fA-F]+\b",
    r"\b[0-9a-fA-F]{12,}\b",
    r"\bblk_-?\d+\b",
    r"(?<![\w.])-?\d+(\.\d+)?(ms|s|us|µs|%|KB|MB|GB)?(?![\w.])",
)
"""Variables masked before mining: UUIDs, IPv4 (with a port), hex numbers and long
hex ids (trace ids, shas), HDFS block ids, and plain numbers with a unit."""


@dataclass
class Cluster:
    """A pattern: its template tokens, how many messages joined it, and its route."""

    tokens: list[str]
    route: tuple[str, ...]
    id: int = 0
    size: int = 0

    @property
    def template(self) -> str:
        """The template as text."""
        return " ".join(self.tokens)


@dataclass
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    clusters: list[Cluster] = field(default_factory=list)


class ReferenceDrain:
    """The miner as first written (the reference the faster one must equal); :meth:`add`
    returns the cluster a message joined and whether the
    cluster is new or its template changed."""

    def __init__(self, *, depth: int = 4, similarity: float = 0.5, max_children: int = 100,
                 masks: Sequence[str] = DEFAULT_MASKS) -> None:
        # The depth counts the root, the length layer and the leaf: depth 4 routes by one
        # token, as the reference implementation does.
        self.levels = max(depth - 3, 0)
        self.similarity = similarity
        self.max_children = max_children
        # One alternation, one pass per message: a pass per mask cost half of mining.
        self.mask = re.compile("|".join(f"(?:{m})" for m in masks)) if masks else None
        self.root = _Node()
        self.clusters: list[Cluster] = []

    def tokens(self, message: str) -> list[str]:
        """The message masked and split into tokens."""
        if self.mask is not None:
            message = self.mask.sub(WILD, message)
        return message.split()

    def add(self, message: str) -> tuple[Cluster, bool]:
        """Mine one message: ``(its cluster, whether the cluster is new or changed)``."""
        tokens = self.tokens(message)
        leaf = self._search(tokens)
        cluster = self._best(leaf.clusters, tokens) if leaf is not None else None
        if cluster is None:
            route = self._route(tokens)
            cluster = Cluster(tokens, route, id=len(self.clusters) + 1, size=1)
            self.restore(cluster)
            return cluster, True
        cluster.size += 1
        merged = [a if a == b else WILD for a, b in zip(cluster.tokens, tokens, strict=True)]
        changed = merged != cluster.tokens
        cluster.tokens = merged
        return cluster, changed

    def restore(self, cluster: Cluster) -> None:
        """Put a cluster where its route leads (a new one, or a stored one on rebuild)."""
        node = self.root.children.setdefault(str(len(cluster.tokens)), _Node())
        for key in cluster.route:
            node = node.children.setdefault(key, _Node())
        node.clusters.append(cluster)
        self.clusters.append(cluster)

    def _search(self, tokens: list[str]) -> _Node | None:
        node = self.root.children.get(str(len(tokens)))
        for token in tokens[: self.levels]:
            if node is None:
                return None
            node = node.children.get(token) or node.children.get(WILD)
        return node

    def _route(self, tokens: list[str]) -> tuple[str, ...]:
        """The branch keys a new cluster is filed under (creating none yet)."""
        node: _Node | None = self.root.children.get(str(len(tokens)))
        route = []
        for token in tokens[: self.levels]:
            key = self._key(node, token)
            route.append(key)
            node = node.children.get(key) if node is not None else None
        return tuple(route)

    def _key(self, node: _Node | None, token: str) -> str:
        children = node.children if node is not None else {}
        if token in children:
            return token
        if any(c.isdigit() for c in token) or token == WILD:
            return WILD
        room = self.max_children - (0 if WILD in children else 1)
        return token if len(children) < room else WILD

    def _best(self, clusters: list[Cluster], tokens: list[str]) -> Cluster | None:
        best, best_key = None, (-1.0, -1)
        for cluster in clusters:
            same = wild = 0
            for a, b in zip(cluster.tokens, tokens, strict=True):
                if a == WILD:
                    wild += 1
                elif a == b:
                    same += 1
            key = (same / len(tokens) if tokens else 1.0, wild)
            if key > best_key:
                best, best_key = cluster, key
        return best if best is not None and best_key[0] >= self.similarity else None
