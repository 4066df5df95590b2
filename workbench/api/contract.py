"""Answers every operation with a request body can get, added to the OpenAPI document.

The edge answers 413 for a body over the limit before any route runs, and FastAPI
answers 400 for a body it cannot decode at all (not UTF-8); neither appears in a
route's own declaration, so a document built from the routes alone would hide
them. They are added here once, to every operation that takes a body.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from workbench.api.problems import MEDIA_TYPE, TITLES

_PROBLEM = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
BODY_ANSWERS = {
    "400": {"description": TITLES["bad-request"] + " (the body cannot be decoded)",
            "content": _PROBLEM},
    "413": {"description": TITLES["payload-too-large"] + " ([api] max_body_bytes)",
            "content": _PROBLEM},
}


def add_body_answers(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with 400 and 413 on every operation that has a request body."""
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                responses = operation.setdefault("responses", {})
                for code, answer in BODY_ANSWERS.items():
                    responses.setdefault(code, answer)
    return document


def install(app: FastAPI) -> None:
    """Serve the document with the body answers (built once, on first request)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_body_answers(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
