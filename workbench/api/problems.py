"""Errors as ``application/problem+json`` (RFC 9457) with stable ``type`` URIs.

Clients branch on ``type``; ``title`` is fixed per type and ``detail`` says what
happened this time. Validation problems list each invalid field in ``errors``.
No traceback, SQL or exception text from a library ever reaches a response.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from storage import InvalidCursorError, InvalidTransitionError, NotFoundError
from storage.txretry import RetriesExhaustedError
from workbench.api.methods import allowed_methods

MEDIA_TYPE = "application/problem+json"
BASE = "urn:workbench:problem:"
log = logging.getLogger(__name__)

TITLES = {
    "bad-request": "The request is malformed",
    "unauthorized": "Authentication required",
    "forbidden": "Your token's role does not allow this",
    "not-found": "No such resource",
    "method-not-allowed": "Method not allowed",
    "conflict": "The request conflicts with the current state",
    "invalid-transition": "Status transition not allowed",
    "payload-too-large": "Request body too large",
    "unsupported-media-type": "Unsupported media type",
    "validation": "Invalid request",
    "rate-limited": "Too many requests",
    "headers-too-large": "Request headers too large",
    "unavailable": "Service unavailable",
    "internal": "Internal error",
}
_STATUS_SLUG = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
                405: "method-not-allowed", 409: "conflict", 413: "payload-too-large",
                415: "unsupported-media-type", 422: "validation", 429: "rate-limited",
                431: "headers-too-large",
                503: "unavailable"}


class FieldError(BaseModel):
    """One invalid input: where it is (``query.limit``, ``body.title``) and why."""

    field: str
    message: str


class Problem(BaseModel):
    """The body of every error response."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


class ProblemError(Exception):
    """Raise to answer with a problem of type ``slug``."""

    def __init__(self, status: int, slug: str, detail: str, *,
                 headers: Mapping[str, str] | None = None,
                 errors: Sequence[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.headers = dict(headers or {})
        self.errors = list(errors) if errors is not None else None


def problem_response(status: int, slug: str, detail: str, *,
                     headers: Mapping[str, str] | None = None,
                     errors: Sequence[FieldError] | None = None) -> Response:
    """A ready ``application/problem+json`` response."""
    body: dict[str, Any] = {"type": BASE + slug, "title": TITLES.get(slug, slug),
                            "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = [e.model_dump() for e in errors]
    return Response(orjson.dumps(body), status_code=status, media_type=MEDIA_TYPE,
                    headers=dict(headers or {}))


_INTERNAL = re.compile(r"^[\w-]+\[.*\]$")
"""Location parts pydantic adds for validators and union members
(``function-after[...]``, ``list[...]``): not what the client sent."""


def field_errors(errors: Sequence[Any]) -> list[FieldError]:
    """Pydantic/FastAPI error dicts as ``FieldError`` (``loc`` joined with dots).

    The location names the field as the client sent it: ``body.title``,
    ``body.3.occurred_at``, ``query.start``.
    """
    out = []
    for err in errors:
        parts = (part for part in err.get("loc", ()) if part != "__root__")
        loc = ".".join(str(part) for part in parts
                       if not (isinstance(part, str) and _INTERNAL.match(part)))
        out.append(FieldError(field=loc or "body", message=str(err.get("msg", "invalid"))))
    return list({(e.field, e.message): e for e in out}.values())


def _validation_detail(errors: list[FieldError]) -> str:
    names = ", ".join(dict.fromkeys(e.field for e in errors))
    return f"invalid field(s): {names}" if names else "invalid request"


async def _on_problem(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_response(exc.status, exc.slug, exc.detail, headers=exc.headers,
                            errors=exc.errors)


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    slug = _STATUS_SLUG.get(exc.status_code, "bad-request" if exc.status_code < 500
                            else "internal")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        allow = allowed_methods(request.app, request.scope["path"])
        if allow is not None:
            headers["Allow"] = allow
    return problem_response(exc.status_code, slug, str(exc.detail), headers=headers)


async def _on_request_validation(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = field_errors(exc.errors())
    return problem_response(422, "validation", _validation_detail(errors), errors=errors)


async def _on_model_validation(_: Request, exc: Exception) -> Response:
    # A merged update that breaks a model rule (e.g. timestamp order): the client's fault.
    assert isinstance(exc, ValidationError)
    errors = [FieldError(field="body." + e.field if e.field != "body" else "body",
                         message=e.message) for e in field_errors(exc.errors())]
    return problem_response(422, "validation", _validation_detail(errors), errors=errors)


async def _on_not_found(_: Request, exc: Exception) -> Response:
    return problem_response(404, "not-found", str(exc))


async def _on_transition(_: Request, exc: Exception) -> Response:
    return problem_response(409, "invalid-transition", str(exc))


async def _on_cursor(_: Request, exc: Exception) -> Response:
    errors = [FieldError(field="query.cursor", message=str(exc))]
    return problem_response(422, "validation", "invalid field(s): query.cursor", errors=errors)


async def _on_value(_: Request, exc: Exception) -> Response:
    return problem_response(422, "validation", str(exc)[:500])


STORE_RETRY_AFTER_SECONDS = 5


async def _on_store_down(_: Request, exc: Exception) -> Response:
    # The store is unreachable (PostgreSQL restarting, network) or a transaction kept
    # aborting: nothing was acknowledged, so the sender must retry -- say when.
    log.warning("store unavailable: %s: %s", type(exc).__name__, str(exc).splitlines()[0][:300])
    return problem_response(503, "unavailable", "the store is unavailable; retry later",
                            headers={"Retry-After": str(STORE_RETRY_AFTER_SECONDS)})


async def _on_crash(_: Request, exc: Exception) -> Response:
    log.error("unhandled error in an API route", exc_info=exc)
    return problem_response(500, "internal", "the server failed; details are in its log")


def install(app: FastAPI) -> None:
    """Register every handler on ``app``."""
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(HTTPException, _on_http)
    app.add_exception_handler(RequestValidationError, _on_request_validation)
    app.add_exception_handler(ValidationError, _on_model_validation)
    app.add_exception_handler(NotFoundError, _on_not_found)
    app.add_exception_handler(InvalidTransitionError, _on_transition)
    app.add_exception_handler(InvalidCursorError, _on_cursor)
    app.add_exception_handler(ValueError, _on_value)
    app.add_exception_handler(OperationalError, _on_store_down)
    app.add_exception_handler(InterfaceError, _on_store_down)
    app.add_exception_handler(RetriesExhaustedError, _on_store_down)
    app.add_exception_handler(Exception, _on_crash)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {MEDIA_TYPE: {}}, "description": TITLES[slug]}
    for code, slug in ((401, "unauthorized"), (403, "forbidden"), (422, "validation"),
                       (429, "rate-limited"))
}
"""Declared on every ``/api`` router so the OpenAPI document lists the error shapes."""


def problem_doc(description: str) -> dict[str, Any]:
    """An OpenAPI ``responses`` entry for a problem answer."""
    return {"model": Problem, "content": {MEDIA_TYPE: {}}, "description": description}


def check_window(start: object, end: object) -> None:
    """422 naming ``query.end`` unless ``end`` is after ``start`` (when both are given)."""
    if start is not None and end is not None and end <= start:  # type: ignore[operator]
        raise ProblemError(422, "validation", "invalid field(s): query.end",
                           errors=[FieldError(field="query.end",
                                              message="end must be after start")])
