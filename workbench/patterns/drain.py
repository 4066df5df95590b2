"""Drain: log template mining with a fixed-depth parse tree (He et al., ICWS 2017).

A message is masked (variables such as addresses and ids become ``<*>``), split on
whitespace, and routed down a tree: first by its token count, then by its first
``depth - 2`` tokens (a token with a digit goes to the ``<*>`` branch, as does any
token once a node has ``max_children`` branches). At the leaf, the message joins the
cluster whose template it resembles most -- the share of positions with equal tokens,
``<*>`` positions not counting -- if that share reaches ``similarity``; the template
then keeps the tokens they share and turns the others into ``<*>``. Otherwise it
starts a new cluster.

This is the published algorithm with its published defaults (depth 4, similarity
0.5, 100 children), written here rather than taken from the ``drain3`` package, whose
last release pins ``jsonpickle==1.5.1`` and ``cachetools==4.2.1`` exactly and is
untyped. Its grouping accuracy on loghub's labelled samples is measured against
Drain's published figures (``tests/triage/test_patterns_loghub.py``).

A cluster remembers the tokens it was routed by (``route``), so a miner rebuilt from
stored patterns routes new messages exactly as the one that made them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import eq

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
hex ids (trace ids, shas), HDFS block ids, and plain numbers with a unit.

None of them matches whitespace, and each looks around only for word characters and
dots, so at a whitespace boundary it behaves as at the start or end of the text:
masking a line token by token is masking the whole line (a property test checks it).
That lets the miner mask each distinct token once and remember it."""
TOKEN_CACHE = 50_000
"""Distinct tokens whose masked form is remembered (then the memory starts afresh)."""


@dataclass
class Cluster:
    """A pattern: its template tokens, how many messages joined it, and its route."""

    tokens: list[str]
    route: tuple[str, ...]
    id: int = 0
    size: int = 0
    wild_at: tuple[int, ...] = field(init=False, repr=False, compare=False)
    """Positions of the template's ``<*>`` (kept with ``tokens``: the similarity test
    counts them apart from equal tokens)."""

    def __post_init__(self) -> None:
        self.wild_at = tuple(i for i, t in enumerate(self.tokens) if t == WILD)

    def set_tokens(self, tokens: list[str]) -> None:
        """Replace the template."""
        self.tokens = tokens
        self.__post_init__()

    @property
    def template(self) -> str:
        """The template as text."""
        return " ".join(self.tokens)


@dataclass
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    clusters: list[Cluster] = field(default_factory=list)


class Drain:
    """A template miner; :meth:`add` returns the cluster a message joined and whether the
    cluster is new or its template changed."""

    def __init__(self, *, depth: int = 4, similarity: float = 0.5, max_children: int = 100,
                 masks: Sequence[str] = DEFAULT_MASKS, by_token: bool | None = None) -> None:
        # The depth counts the root, the length layer and the leaf: depth 4 routes by one
        # token, as the reference implementation does.
        self.levels = max(depth - 3, 0)
        self.similarity = similarity
        self.max_children = max_children
        # One alternation, one pass per message: a pass per mask cost half of mining.
        self.mask = re.compile("|".join(f"(?:{m})" for m in masks)) if masks else None
        # Masks token by token only where that is known to equal masking the line
        # (see DEFAULT_MASKS); other masks may look across whitespace.
        self.by_token = (tuple(masks) == DEFAULT_MASKS) if by_token is None else by_token
        self._masked: dict[str, str] = {}
        self.root = _Node()
        self.clusters: list[Cluster] = []

    def tokens(self, message: str) -> list[str]:
        """The message masked and split into tokens."""
        if self.mask is None:
            return message.split()
        if not self.by_token:
            return self.mask.sub(WILD, message).split()
        masked = self._masked
        parts = message.split()
        out = list(map(masked.get, parts))  # most tokens were seen before: one C loop
        if None in out:
            for i, found in enumerate(out):
                if found is None:
                    out[i] = self._mask_token(parts[i])
        return out  # type: ignore[return-value]  # no None is left

    def _mask_token(self, token: str) -> str:
        assert self.mask is not None
        found = self.mask.sub(WILD, token)
        if len(self._masked) >= TOKEN_CACHE:
            self._masked.clear()
        self._masked[token] = found
        return found

    def add(self, message: str) -> tuple[Cluster, bool]:
        """Mine one message: ``(its cluster, whether the cluster is new or changed)``."""
        tokens = self.tokens(message)
        leaf = self._search(tokens)
        cluster, same = self._best(leaf.clusters, tokens) if leaf is not None else (None, 0)
        if cluster is None:
            route = self._route(tokens)
            cluster = Cluster(tokens, route, id=len(self.clusters) + 1, size=1)
            self.restore(cluster)
            return cluster, True
        cluster.size += 1
        if same + len(cluster.wild_at) == len(tokens):
            return cluster, False  # every fixed token matched: the template stays
        cluster.set_tokens([a if a == b else WILD
                            for a, b in zip(cluster.tokens, tokens, strict=True)])
        return cluster, True

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

    def _best(self, clusters: list[Cluster], tokens: list[str]) -> tuple[Cluster | None, int]:
        """The most similar cluster (ties: the most ``<*>``, then the first), if similar
        enough, and how many of its fixed tokens the message has."""
        best, best_key, best_same = None, (-1.0, -1), 0
        count = len(tokens)
        for cluster in clusters:
            # Equal positions, less those where both are <*> (a <*> never counts as same).
            wild_at = cluster.wild_at
            same = sum(map(eq, cluster.tokens, tokens))
            if wild_at:
                same -= sum(1 for i in wild_at if tokens[i] == WILD)
            key = (same / count if count else 1.0, len(wild_at))
            if key > best_key:
                best, best_key, best_same = cluster, key, same
        if best is not None and best_key[0] >= self.similarity:
            return best, best_same
        return None, 0
