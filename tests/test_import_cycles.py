"""No module import cycles in storage, connectors and workbench (grimp, from import-linter).

Runtime imports (module level and inside functions) must form no cycle at all. Imports
only for type checking (``if TYPE_CHECKING:``) are checked too, against the short
list of known type-only cycles below: a new one fails, and so does a listed one that
is gone (shrink the list).
"""

from __future__ import annotations

import grimp

PACKAGES = ("storage", "connectors", "workbench")

KNOWN_TYPE_ONLY: set[frozenset[str]] = set()


def cycles(graph: grimp.ImportGraph) -> set[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(
                        graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.add(frozenset(component))
    return found


def _graph(*, type_checking: bool) -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, cache_dir=None,
                             exclude_type_checking_imports=not type_checking)


def test_no_runtime_import_cycles() -> None:
    found = cycles(_graph(type_checking=False))
    assert not found, "import cycles: " + "; ".join(" <-> ".join(sorted(c)) for c in found)


def test_type_only_cycles_are_the_known_ones() -> None:
    found = cycles(_graph(type_checking=True))
    new, gone = found - KNOWN_TYPE_ONLY, KNOWN_TYPE_ONLY - found
    assert not new, "new import cycles: " + "; ".join(" <-> ".join(sorted(c)) for c in new)
    assert not gone, "fixed (remove from KNOWN_TYPE_ONLY): " + "; ".join(
        " <-> ".join(sorted(c)) for c in gone)


def test_the_cycle_finder_sees_a_cycle() -> None:
    """The check can fail: two modules importing each other are one component."""
    graph = grimp.ImportGraph()
    for name in ("a", "a.x", "a.y", "a.z"):
        graph.add_module(name)
    graph.add_import(importer="a.x", imported="a.y")
    graph.add_import(importer="a.y", imported="a.x")
    graph.add_import(importer="a.y", imported="a.z")
    assert cycles(graph) == {frozenset({"a.x", "a.y"})}
