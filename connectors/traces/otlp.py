"""OTLP/HTTP trace decoding (protobuf and JSON) into :class:`Span` records.

Both encodings go through the official ``opentelemetry-proto`` messages. The JSON
encoding of OTLP differs from the generic protobuf JSON mapping in one way that
matters: trace and span ids are *hex* strings, while ``json_format`` expects base64
for ``bytes`` fields (opentelemetry-proto #500). So the ids are converted (and
validated) by hand before ``json_format.ParseDict`` sees the document.

A span with an invalid id is rejected on its own -- it becomes a dead letter and
counts in the response's ``partial_success.rejected_spans`` -- and the rest of the
request is accepted. A body that cannot be decoded at all is an :class:`OtlpDecodeError`
(the receiver answers 400 and dead-letters the body).
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Status
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan

from connectors.errors import PoisonRecordError
from connectors.traces.model import (
    ZEROS,
    InvalidSpanIdError,
    Span,
    check_bytes_id,
    check_hex_id,
    resource_fields,
)

ERROR = Status.STATUS_CODE_ERROR
MAX_ATTRIBUTES = 64


class OtlpDecodeError(PoisonRecordError):
    """The request body is not a decodable OTLP trace export."""


@dataclass
class Decoded:
    """Spans of one export request, and the raw spans that were rejected."""

    spans: list[Span] = field(default_factory=list)
    rejected: list[tuple[bytes, str]] = field(default_factory=list)
    """(serialised ``ResourceSpans`` holding the one bad span, reason)."""


MAX_INFLATED = 64 * 1024 * 1024


def inflate(body: bytes, encoding: str, *, limit: int | None = None) -> bytes:
    """The request body after its ``Content-Encoding`` (identity or gzip), checked.

    A gzip body must end where its stream ends, with its CRC and length checked
    (zlib does that only when it reaches the trailer): a truncated or corrupt body
    is an :class:`OtlpDecodeError` carrying the raw body, never a partial decode.
    Bounded, so a small gzip bomb cannot become gigabytes in memory.
    """
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise OtlpDecodeError(f"unsupported Content-Encoding {encoding!r}", payload=body)
    limit = limit or MAX_INFLATED
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit)
    except zlib.error as exc:
        raise OtlpDecodeError(f"corrupt gzip body: {exc}", payload=body) from exc
    if inflater.unconsumed_tail:
        raise OtlpDecodeError(f"inflated body is larger than {limit} bytes", payload=body)
    if not inflater.eof:
        raise OtlpDecodeError("truncated gzip body (the stream ends before its trailer)",
                              payload=body)
    if inflater.unused_data:
        raise OtlpDecodeError("bytes after the end of the gzip stream", payload=body)
    return out


def decode_protobuf(body: bytes) -> Decoded:
    """Decode ``application/x-protobuf``."""
    try:
        request = ExportTraceServiceRequest.FromString(body)
    except DecodeError as exc:
        raise OtlpDecodeError(f"not an OTLP ExportTraceServiceRequest: {exc}",
                              payload=body) from exc
    return decode_request(request)


def decode_json(body: bytes) -> Decoded:
    """Decode ``application/json`` (hex ids, 64-bit integers as strings)."""
    try:
        document = orjson.loads(body)
        rejected = _hex_ids_to_base64(document)
        request = json_format.ParseDict(document, ExportTraceServiceRequest(),
                                        ignore_unknown_fields=True)
    except (orjson.JSONDecodeError, json_format.ParseError, TypeError, AttributeError) as exc:
        raise OtlpDecodeError(f"not an OTLP JSON trace export: {exc}", payload=body) from exc
    decoded = decode_request(request)
    decoded.rejected.extend(rejected)
    return decoded


def decode_request(request: ExportTraceServiceRequest) -> Decoded:
    """Spans of a decoded request; spans with invalid ids go to ``rejected``."""
    out = Decoded()
    append = out.spans.append
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes, limit=256)
        service = str(resource.get("service.name") or "unknown_service")
        environment, version = resource_fields(resource)
        for scope_spans in resource_spans.scope_spans:
            for pb in scope_spans.spans:
                try:
                    append(_span(pb, service, environment, version))
                except InvalidSpanIdError as exc:
                    out.rejected.append((_isolate(resource_spans, scope_spans, pb), str(exc)))
    return out


def response(rejected: int, message: str = "") -> ExportTraceServiceResponse:
    """The OTLP response; ``partial_success`` only when something was rejected."""
    reply = ExportTraceServiceResponse()
    if rejected:
        reply.partial_success.rejected_spans = rejected
        reply.partial_success.error_message = message[:1000]
    return reply


def response_json(reply: ExportTraceServiceResponse) -> bytes:
    """The response in the OTLP JSON encoding (lowerCamelCase, int64 as string)."""
    return str(json_format.MessageToJson(reply, indent=None)).encode()


def _span(pb: PbSpan, service: str, environment: str | None = None,
          version: str | None = None) -> Span:
    # The hot loop of the receiver (a million spans): each field is read once, and the
    # common valid case is checked with plain comparisons before anything is built.
    trace_id, span_id, parent = pb.trace_id, pb.span_id, pb.parent_span_id
    if len(trace_id) != 16 or trace_id == ZEROS[16]:
        check_bytes_id(trace_id, 16, "trace id")
    if len(span_id) != 8 or span_id == ZEROS[8]:
        check_bytes_id(span_id, 8, "span id")
    if parent and (len(parent) != 8 or parent == ZEROS[8]):
        check_bytes_id(parent, 8, "parent span id")
    span = Span(trace_id.hex(), span_id.hex(), parent.hex() if parent else None, service,
                pb.name, pb.start_time_unix_nano, pb.end_time_unix_nano, False, "",
                environment, version)
    if pb.status.code == ERROR:
        # Only failing spans pay for attribute and event decoding.
        span.error = True
        span.status_message = pb.status.message
        span.attributes = attributes(pb.attributes)
        span.exceptions = list(_exceptions(pb))
    return span


def _exceptions(pb: PbSpan) -> Iterator[dict[str, str]]:
    for event in pb.events:
        if event.name != "exception":
            continue
        attrs = attributes(event.attributes)
        yield {"type": str(attrs.get("exception.type", "")),
               "message": str(attrs.get("exception.message", "")),
               "stacktrace": str(attrs.get("exception.stacktrace", ""))[:20_000]}


def attributes(kvs: Any, limit: int | None = MAX_ATTRIBUTES) -> dict[str, Any]:
    """OTLP ``KeyValue`` list -> plain dict (bounded by ``limit``)."""
    return {kv.key: value_of(kv.value) for kv in list(kvs)[:limit]}


def value_of(value: AnyValue) -> Any:
    """An ``AnyValue`` as a JSON-able Python value."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [value_of(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return attributes(value.kvlist_value.values)
    if which == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, which)


def _isolate(resource_spans: ResourceSpans, scope_spans: ScopeSpans, pb: PbSpan) -> bytes:
    """A ``ResourceSpans`` holding only ``pb``: the dead letter stays decodable."""
    one = ResourceSpans(resource=resource_spans.resource, schema_url=resource_spans.schema_url)
    one.scope_spans.add(scope=scope_spans.scope).spans.append(pb)
    return bytes(one.SerializeToString())


_ID_FIELDS = (("traceId", 16), ("spanId", 8), ("parentSpanId", 8))


def _hex_ids_to_base64(document: Any) -> list[tuple[bytes, str]]:
    """Rewrite hex ids as base64 in place; drop (and return) spans with bad ids."""
    rejected: list[tuple[bytes, str]] = []
    for resource_spans in document.get("resourceSpans") or []:
        for scope_spans in resource_spans.get("scopeSpans") or []:
            kept = []
            for span in scope_spans.get("spans") or []:
                try:
                    _convert_span_ids(span)
                except InvalidSpanIdError as exc:
                    rejected.append((orjson.dumps(span), str(exc)))
                    continue
                kept.append(span)
            scope_spans["spans"] = kept
    return rejected


def _convert_span_ids(span: dict[str, Any]) -> None:
    """Validate every id first, then rewrite: a rejected span is dead-lettered as sent."""
    converted: dict[str, str] = {}
    for key, size in _ID_FIELDS:
        value = span.get(key)
        if value in (None, "") and key == "parentSpanId":
            continue
        if not isinstance(value, str):
            raise InvalidSpanIdError(f"{key} missing or not a string")
        converted[key] = _b64(check_hex_id(value, size, key))
    links = [dict(link) for link in span.get("links") or [] if isinstance(link, dict)]
    for link in links:
        for key, size in _ID_FIELDS[:2]:
            if isinstance(link.get(key), str):
                link[key] = _b64(check_hex_id(link[key], size, key))
    span.update(converted)
    if links:
        span["links"] = links


def _b64(hex_id: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_id)).decode()


def replay_span(raw: bytes) -> list[Any]:
    """DLQ replay of one rejected span (a serialised ``ResourceSpans``): its error event.

    A span rejected for its ids is rejected again; only a failing span is an event.
    """
    from connectors.traces.detect import span_error_event
    from connectors.traces.rules import TraceRules

    try:
        resource_spans = ResourceSpans.FromString(raw)
    except DecodeError as exc:
        raise OtlpDecodeError(f"not a ResourceSpans: {exc}", payload=raw) from exc
    request = ExportTraceServiceRequest()
    request.resource_spans.append(resource_spans)
    decoded = decode_request(request)
    if decoded.rejected:
        raise PoisonRecordError(decoded.rejected[0][1], payload=raw,
                                error_class="InvalidSpanIdError")
    return [span_error_event(s, TraceRules()) for s in decoded.spans if s.error]
