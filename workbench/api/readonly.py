"""A read-only API (``workbench --read-only`` serves one beside the TUI).

Every method that could change something is refused with 405 problem+json before
routing, authentication or body reading: the store underneath is opened read-only
as well, so this is the polite answer, not the only guard.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from workbench.api.problems import problem_response

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ReadOnlyMiddleware:
    """Refuse every unsafe method with 405."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            response = problem_response(
                405, "method-not-allowed",
                "this API is read-only (the workbench was started with --read-only)",
                headers={"Allow": ", ".join(sorted(SAFE_METHODS))})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
