"""What the push receivers accept and answer, for the OpenAPI document.

The receivers read their bodies raw (signatures are over the exact bytes), so
FastAPI cannot infer a request body or the answers: they are stated here, next to
nothing else, and used by ``workbench.api.routes.receivers``.
"""

from __future__ import annotations

from typing import Any

from workbench.api.problems import problem_doc

PROTOBUF = "application/x-protobuf"
Doc = dict[int | str, dict[str, Any]]

_OUTCOME = {"type": "object", "required": ["status"],
            "properties": {"status": {"type": "string",
                                      "enum": ["ok", "duplicate", "ignored"]}},
            "additionalProperties": True}
_STORED = {"description": "Stored (or a redelivery, stored once): counts of what was done",
           "content": {"application/json": {"schema": _OUTCOME}}}
_IGNORED = {"description": "An event type the workbench does not use: acknowledged, "
                           "nothing stored (so the sender does not retry)",
            "content": {"application/json": {"schema": _OUTCOME}}}
_REFUSED: Doc = {
    401: problem_doc("Missing or wrong signature, token or bearer token (counted; "
                     "nothing stored)"),
    429: problem_doc("Too many failed signatures or tokens from this address "
                     "(see Retry-After)"),
}


def json_body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """``openapi_extra`` declaring a required JSON request body."""
    return {"requestBody": {"required": True, "description": description,
                            "content": {"application/json": {"schema": schema}}}}


WEBHOOK_BODY = json_body({"type": "object"}, "the sender's JSON delivery, as sent")
WEBHOOK_RESPONSES: Doc = {200: _STORED, 202: _IGNORED, **_REFUSED}

ALERTMANAGER_BODY = json_body(
    {"type": "object", "required": ["version", "alerts"],
     "properties": {"version": {"type": "string", "enum": ["4"]},
                    "alerts": {"type": "array", "items": {}}},
     "additionalProperties": True},
    "Alertmanager's webhook payload, version 4; an alert that cannot be read (not "
    "an object, no labels, no status) goes to the dead-letter queue, the others are "
    "stored")
ALERTMANAGER_RESPONSES: Doc = {
    200: _STORED, **_REFUSED,
    400: problem_doc("Not a version 4 webhook payload (kept in the dead-letter queue)")}

OTLP_BODY = {"requestBody": {
    "required": True,
    "description": "An OTLP ExportTraceServiceRequest, protobuf or its JSON encoding",
    "content": {PROTOBUF: {"schema": {"type": "string", "format": "binary"}},
                "application/json": {"schema": {"type": "object"}}}}}
OTLP_RESPONSES: Doc = {
    200: {"description": "An OTLP ExportTraceServiceResponse in the request's encoding "
                         "(partial_success names spans rejected for bad ids)",
          "content": {PROTOBUF: {"schema": {"type": "string", "format": "binary"}},
                      "application/json": {"schema": {"type": "object"}}}},
    **_REFUSED,
    400: problem_doc("Not a decodable OTLP trace export (kept in the dead-letter queue)"),
    415: problem_doc(f"Neither {PROTOBUF} nor application/json"),
}
