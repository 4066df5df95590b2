"""``/api/analytics``: event counts (optionally bucketed), connector health, MTTR/MTTD."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from storage import events
from storage.models import Severity, utcnow
from storage.queries import EventQuery
from workbench import analytics
from workbench.analytics import MetricReport, Window
from workbench.api.connector_status import ConnectorStatus, collect
from workbench.api.deps import Db, Viewer
from workbench.api.models import Timestamp
from workbench.api.problems import PROBLEM_RESPONSES, FieldError, ProblemError, check_window

router = APIRouter(prefix="/api/analytics", tags=["analytics"], responses=PROBLEM_RESPONSES)

DEFAULT_WINDOW = timedelta(hours=24)
EARLIEST = datetime.min.replace(tzinfo=UTC)
MAX_BUCKETS = 10_000
Bucket = Annotated[int | None, Query(ge=1, le=31_536_000,
                                     description="bucket width in seconds for a series")]
Short = Annotated[str | None, Query(max_length=256)]


class BucketCount(BaseModel):
    """Events with one key in one time bucket."""

    start: datetime
    key: str
    count: int


class CountsOut(BaseModel):
    """Event counts per key in a window, and the series when buckets were asked for."""

    by: str
    window: Window
    total: int
    counts: dict[str, int]
    bucket_seconds: int | None = None
    buckets: list[BucketCount] | None = None


def window_of(start: datetime | None, end: datetime | None) -> Window:
    """``[start, end)``, defaulting to the last 24 hours; 422 if it is empty."""
    end = end or utcnow()
    if start is None:  # 24 hours back, or from the first instant if end is nearer to it
        start = end - min(DEFAULT_WINDOW, end - EARLIEST)
    check_window(start, end)
    return Window(start=start, end=end)


async def _counts(db: Db, by: events.CountField, start: datetime | None,
                  end: datetime | None, bucket_seconds: int | None) -> CountsOut:
    window = window_of(start, end)
    if bucket_seconds and (window.end - window.start).total_seconds() / bucket_seconds \
            > MAX_BUCKETS:
        raise ProblemError(422, "validation", "invalid field(s): query.bucket_seconds",
                           errors=[FieldError(field="query.bucket_seconds",
                                              message=f"more than {MAX_BUCKETS} buckets")])
    query = EventQuery(start=window.start, end=window.end)

    def work(session: Session) -> CountsOut:
        counts = events.count_events(session=session, by=by, query=query)
        out = CountsOut(by=by, window=window, total=sum(counts.values()), counts=counts)
        if bucket_seconds:
            series = events.count_series(session=session, by=by, bucket_seconds=bucket_seconds,
                                         query=query)
            out = out.model_copy(update={"bucket_seconds": bucket_seconds, "buckets": [
                BucketCount(start=s, key=k, count=n) for s, k, n in series]})
        return out

    return await db.read(work)


@router.get("/events/by-source", response_model=CountsOut, summary="Events per source")
async def by_source(_: Viewer, db: Db, start: Timestamp | None = None,
                    end: Timestamp | None = None,
                    bucket_seconds: Bucket = None) -> CountsOut:
    """Events per source in ``[start, end)`` (default: the last 24 hours)."""
    return await _counts(db, "source", start, end, bucket_seconds)


@router.get("/events/by-severity", response_model=CountsOut, summary="Events per severity")
async def by_severity(_: Viewer, db: Db, start: Timestamp | None = None,
                      end: Timestamp | None = None,
                    bucket_seconds: Bucket = None) -> CountsOut:
    """Events per severity in ``[start, end)`` (default: the last 24 hours)."""
    return await _counts(db, "severity", start, end, bucket_seconds)


@router.get("/events/by-service", response_model=CountsOut, summary="Events per service")
async def by_service(_: Viewer, db: Db, start: Timestamp | None = None,
                     end: Timestamp | None = None,
                    bucket_seconds: Bucket = None) -> CountsOut:
    """Events per service in ``[start, end)``; events without a service count under ``""``."""
    return await _counts(db, "service", start, end, bucket_seconds)


@router.get("/connectors/health", response_model=list[ConnectorStatus],
            summary="Connector health")
async def connectors_health(_: Viewer, db: Db, request: Request) -> list[ConnectorStatus]:
    """The same view as ``/api/connectors/status``, for dashboards."""
    health = request.app.state.health
    return await db.read(lambda s: collect(s, health))


async def _metric(db: Db, metric: analytics.Metric, start: datetime | None,
                  end: datetime | None, service: str | None,
                  severity: Severity | None) -> MetricReport:
    window = window_of(start, end)
    kwargs: dict[str, Any] = {"service": service, "severity": severity}
    return await db.read(lambda s: analytics.report(s, metric, window, **kwargs))


@router.get("/mttr", response_model=MetricReport, summary="Mean time to resolve")
async def mttr(_: Viewer, db: Db, start: Timestamp | None = None,
               end: Timestamp | None = None, service: Short = None,
               severity: Severity | None = None) -> MetricReport:
    """MTTR over investigations resolved in the window, with the formula and the ids counted."""
    return await _metric(db, "mttr", start, end, service, severity)


@router.get("/mttd", response_model=MetricReport, summary="Mean time to detect")
async def mttd(_: Viewer, db: Db, start: Timestamp | None = None,
               end: Timestamp | None = None, service: Short = None,
               severity: Severity | None = None) -> MetricReport:
    """MTTD over investigations detected in the window, with the formula and the ids counted."""
    return await _metric(db, "mttd", start, end, service, severity)
