"""405 answers that list the resource's methods in ``Allow`` (RFC 9110 15.5.6).

Starlette answers 405 with the methods of the *first* route whose path matched, so
``DELETE /api/tokens`` said ``Allow: GET`` although ``POST`` is served there too.
The methods of a resource are what the OpenAPI document (the contract) lists for
its path; where a literal segment and a parameter both match (``.../search`` and
``.../{investigation_id}``), the literal one is the resource.

Without a guard, ``PUT .../search`` would reach the ``PUT .../{investigation_id}``
route and answer 422 about an id: :func:`read_only_guard` gives such a path a
hidden route that answers 405 for the methods it does not serve.
"""

from __future__ import annotations

import re
from typing import NoReturn

from fastapi import APIRouter, FastAPI
from starlette.exceptions import HTTPException

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})
Table = list[tuple[re.Pattern[str], int, frozenset[str]]]


def _table(app: FastAPI) -> Table:
    """Each documented path as a regex, its parameter count and its methods (cached)."""
    table: Table | None = getattr(app.state, "allow_table", None)
    if table is None:
        table = []
        for template, item in app.openapi().get("paths", {}).items():
            pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
            methods = frozenset(m.upper() for m in item if m in _METHODS)
            table.append((re.compile(f"^{pattern}$"), template.count("{"), methods))
        app.state.allow_table = table
    return table


def allowed_methods(app: FastAPI, path: str) -> str | None:
    """The ``Allow`` value for ``path``, or None if no documented path matches it."""
    found = [(params, methods) for regex, params, methods in _table(app) if regex.match(path)]
    if not found:
        return None
    fewest = min(params for params, _ in found)
    return ", ".join(sorted(set().union(*(m for params, m in found if params == fewest))))


def read_only_guard(router: APIRouter, path: str) -> None:
    """Answer 405 for writes on ``path`` instead of letting a sibling ``/{id}`` route take them."""
    not_allowed(router, path, WRITE_METHODS)


def not_allowed(router: APIRouter, path: str, methods: tuple[str, ...]) -> None:
    """Answer 405 for ``methods`` on ``path`` (a literal segment beside ``/{id}`` routes,
    such as ``/import``, which serves only what its own route declares)."""

    async def method_not_allowed() -> NoReturn:
        # The problem handler fills in ``Allow`` (see ``workbench.api.problems``).
        raise HTTPException(405)

    router.add_api_route(path, method_not_allowed, methods=list(methods),
                         include_in_schema=False, response_model=None)
