"""The schema, as SQLAlchemy 2 typed ORM rows.

Rows are used for Core statements inside ``storage`` and never leave it; see
``storage.converters`` for the domain models. The authoritative DDL history is in
``storage/migrations``; a test checks the two agree.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.tenant_context import tenant_id as current_tenant_id
from storage.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


CHANGE_KINDS_SQL = "kind IN ('commit', 'deploy', 'pipeline')"
"""The change kinds (``storage.models.CHANGE_KINDS``, a test checks they agree) as the
predicate of the partial index ``ix_event_change_time``. A query uses that index only
when its own WHERE carries this very text, with literals: SQLite does not look
through bound parameters to prove a query implies an index's predicate."""


ID = BigInteger().with_variant(Integer(), "sqlite")
"""Ids are 64-bit: BIGINT on PostgreSQL (migration 0004). SQLite's INTEGER is already
64-bit, and only ``INTEGER PRIMARY KEY`` is the rowid that numbers new rows."""


_PARTIAL: list[tuple[Index, str]] = []


def partial_index(name: str, *columns: str, where: str, unique: bool = False) -> Index:
    """An index over the rows matching ``where``, on both engines.

    SQLite's condition is set here; PostgreSQL's by :func:`with_postgresql_partials`
    when a PostgreSQL engine is made. SQLAlchemy checks a ``postgresql_where`` argument
    by importing its PostgreSQL dialect, which a SQLite store never needs (issue 11:
    start-up). The schema itself comes from the migrations, which name both.
    """
    index = Index(name, *columns, unique=unique, sqlite_where=text(where))
    _PARTIAL.append((index, where))
    return index


def with_postgresql_partials() -> None:
    """Give every :func:`partial_index` its PostgreSQL condition (idempotent)."""
    for index, where in _PARTIAL:
        options = index.dialect_options["postgresql"]
        if options["where"] is None:
            options["where"] = text(where)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class TenantRow(Base):
    """A tenant: an organisation whose rows no other tenant sees (migration 0016).

    Row 1 (``default``) exists in every store; a single-user install has only it.
    """

    __tablename__ = "tenant"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TenantOwned:
    """A row of one tenant. Every read of a class with this mixin is scoped by
    ``storage.visibility`` and every insert takes the current tenant by default.

    No foreign key to ``tenant``: tenants are never deleted, and the check would
    cost every event insert a probe (and SQLite a table rebuild to add it).
    """

    tenant_id: Mapped[int] = mapped_column(ID, default=current_tenant_id,
                                           server_default=text("1"))


class EventRow(TenantOwned, Base):
    __tablename__ = "event"
    __table_args__ = (
        # Per tenant: the same alert in two tenants is two events (migration 0016).
        UniqueConstraint("tenant_id", "source", "dedup_key", name="uq_event_source_dedup"),
        Index("ix_event_time", "tenant_id", "occurred_at", "id"),
        # Covering index for counts over a window (migration 0003): grouping by
        # source, severity or service never touches the table.
        Index("ix_event_time_cover", "tenant_id", "occurred_at", "source", "severity",
              "service"),
        # Equality column first, then time, then the filter: a range column before
        # the time column makes SQLite sort every match (400x at p99).
        Index("ix_event_service_time", "tenant_id", "service", "occurred_at", "severity"),
        Index("ix_event_source_time", "tenant_id", "source", "occurred_at"),
        partial_index("ix_event_trace", "trace_id", where="trace_id IS NOT NULL"),
        partial_index("ix_event_commit", "commit_sha", where="commit_sha IS NOT NULL"),
        # Changes by time (migration 0016): ranking suspects reads the changes of a
        # look-back window, which otherwise walks every event in it (6 h of logs).
        partial_index("ix_event_change_time", "tenant_id", "occurred_at", "id",
                      where=CHANGE_KINDS_SQL),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    dedup_key: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[int] = mapped_column(SmallInteger)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    service: Mapped[str | None] = mapped_column(String(256))
    environment: Mapped[str | None] = mapped_column(String(256))
    host: Mapped[str | None] = mapped_column(String(256))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    trace_id: Mapped[str | None] = mapped_column(String(256))
    span_id: Mapped[str | None] = mapped_column(String(256))
    commit_sha: Mapped[str | None] = mapped_column(String(256))
    url: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[str] = mapped_column(Text)
    tags: Mapped[str] = mapped_column(Text)


class EventRollupRow(TenantOwned, Base):
    """Event counts per bucket (see ``storage.rollup``; migration 0012)."""

    __tablename__ = "event_rollup"
    __table_args__ = (
        # Emptied buckets are deleted after every subtraction: found by this index.
        partial_index("ix_event_rollup_empty", "width", where="n = 0"),
        PrimaryKeyConstraint("tenant_id", "width", "dim", "bucket", "key"),
        {"sqlite_with_rowid": False},
    )

    width: Mapped[int] = mapped_column(Integer)
    dim: Mapped[str] = mapped_column(String(16))
    bucket: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[str] = mapped_column(String(256))
    n: Mapped[int] = mapped_column(BigInteger)


class EventTagRow(Base):
    __tablename__ = "event_tag"
    __table_args__ = (Index("ix_event_tag_tag", "tag", "event_id"),)

    event_id: Mapped[int] = mapped_column(
        ID, ForeignKey("event.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(256), primary_key=True)


class InvestigationRow(TenantOwned, Base):
    __tablename__ = "investigation"
    __table_args__ = (
        Index("ix_investigation_status_updated", "tenant_id", "status", "updated_at"),
        Index("ix_investigation_updated", "tenant_id", "updated_at", "id"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    severity: Mapped[int] = mapped_column(SmallInteger)
    services: Mapped[str] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(256))
    team: Mapped[str | None] = mapped_column(String(256))
    impact_domain: Mapped[str | None] = mapped_column(String(256))
    business_impact: Mapped[str | None] = mapped_column(Text)
    estimated_mttr_minutes: Mapped[int | None]
    automation_potential: Mapped[str | None] = mapped_column(String(256))
    root_cause: Mapped[str | None] = mapped_column(Text)
    impact_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mitigated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    tags: Mapped[str] = mapped_column(Text)
    metadata_json: Mapped[str] = mapped_column("metadata", Text)


class InvestigationEventRow(Base):
    __tablename__ = "investigation_event"
    __table_args__ = (
        Index("ix_investigation_event_event", "event_id"),
        # An investigation's timeline in keyset order (migration 0006).
        Index("ix_investigation_event_time", "investigation_id", "occurred_at", "event_id"),
    )

    investigation_id: Mapped[int] = mapped_column(
        ID, ForeignKey("investigation.id", ondelete="CASCADE"), primary_key=True
    )
    event_id: Mapped[int] = mapped_column(
        ID, ForeignKey("event.id", ondelete="CASCADE"), primary_key=True
    )
    reason: Mapped[str] = mapped_column(String(16))
    rule: Mapped[str | None] = mapped_column(String(256))
    key: Mapped[str | None] = mapped_column(String(512))
    window_seconds: Mapped[int | None]
    note: Mapped[str | None] = mapped_column(Text)
    linked_by: Mapped[str | None] = mapped_column(String(256))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """The linked event's time (it never changes), for the timeline's keyset index."""


class InvestigationKeyRow(TenantOwned, Base):
    """A key the grouping rules match on, carried by some event linked to an investigation.

    ``kind`` is ``trace``, ``fingerprint`` or ``service``. Kept in step with the links
    by ``storage.grouping_keys`` so a grouping pass looks up only the keys of its batch
    (primary key order) instead of reloading every linked event (migration 0005).
    """

    __tablename__ = "investigation_key"
    __table_args__ = (
        Index("ix_investigation_key_investigation", "investigation_id", "kind"),
        # A pass looks keys up within its tenant (migration 0016).
        PrimaryKeyConstraint("tenant_id", "kind", "key", "investigation_id"),
    )

    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(512))
    investigation_id: Mapped[int] = mapped_column(
        ID, ForeignKey("investigation.id", ondelete="CASCADE")
    )


class InvestigationGroupingRow(TenantOwned, Base):
    """Grouping state of one investigation: its latest linked event and auto-open episode.

    ``auto_key`` (alert fingerprint + firing episode) is unique: the database, not
    the grouper, guarantees one auto-opened investigation per alert episode.
    """

    __tablename__ = "investigation_grouping"
    __table_args__ = (UniqueConstraint("tenant_id", "auto_key",
                                       name="uq_investigation_grouping_auto_key"),)

    investigation_id: Mapped[int] = mapped_column(
        ID, ForeignKey("investigation.id", ondelete="CASCADE"), primary_key=True
    )
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    auto_key: Mapped[str | None] = mapped_column(String(512))


class JobLeaseRow(Base):
    """Who runs a background job (a connector's poll loop, the grouper) on a shared store.

    Not a tenant-owned row: leases coordinate the deployment's instances, and job
    names are the deployment's (connector names are unique in its config; the grouper
    and the purge work through every tenant inside one pass). A connector's lease
    still names the connector's tenant (``tenant_id``, set by the claim), so a status
    list shows it to that tenant only; ``NULL`` is a job of the deployment.
    """

    __tablename__ = "job_lease"

    name: Mapped[str] = mapped_column(String(256), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(64))
    host: Mapped[str | None] = mapped_column(String(256))
    pid: Mapped[int | None]
    epoch: Mapped[int]
    acquired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tenant_id: Mapped[int | None]


class UserSeenRow(TenantOwned, Base):
    """The newest event id a user has seen in an investigation ("new since you looked")."""

    __tablename__ = "user_seen"

    user_name: Mapped[str] = mapped_column(String(256), primary_key=True)
    investigation_id: Mapped[int] = mapped_column(
        ID, ForeignKey("investigation.id", ondelete="CASCADE"), primary_key=True
    )
    last_event_id: Mapped[int] = mapped_column(ID)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UserViewRow(TenantOwned, Base):
    """Where a user was: the last open screen, cursor and filters (JSON), per user."""

    __tablename__ = "user_view"
    __table_args__ = (PrimaryKeyConstraint("tenant_id", "user_name"),)

    user_name: Mapped[str] = mapped_column(String(256))
    state: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeadLetterRow(TenantOwned, Base):
    __tablename__ = "dead_letter"
    __table_args__ = (
        Index("ix_dead_letter_connector_status", "tenant_id", "connector", "status", "id"),
        Index("ix_dead_letter_hash", "tenant_id", "connector", "payload_hash"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    connector: Mapped[str] = mapped_column(String(256))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    payload_hash: Mapped[str] = mapped_column(String(64))
    error_class: Mapped[str] = mapped_column(String(256))
    message: Mapped[str] = mapped_column(Text)
    source_ref: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(256))


class ConnectorCursorRow(TenantOwned, Base):
    __tablename__ = "connector_cursor"
    __table_args__ = (PrimaryKeyConstraint("tenant_id", "connector"),)

    connector: Mapped[str] = mapped_column(String(256))
    cursor: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConnectorHealthRow(TenantOwned, Base):
    """The last health snapshot a runner persisted, so a separate process can show it."""

    __tablename__ = "connector_health"
    __table_args__ = (PrimaryKeyConstraint("tenant_id", "connector"),)

    connector: Mapped[str] = mapped_column(String(256))
    snapshot: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiTokenRow(TenantOwned, Base):
    __tablename__ = "api_token"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_api_token_name"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    team: Mapped[str | None] = mapped_column(String(256))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditRow(TenantOwned, Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        # The newest row of a tenant's chain (its head), found by one index probe.
        Index("ix_audit_log_tenant", "tenant_id", "id"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(256))
    action: Mapped[str] = mapped_column(String(128))
    target: Mapped[str | None] = mapped_column(String(512))
    detail: Mapped[str] = mapped_column(Text)
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class SuspectVerdictRow(Base):
    """A responder's verdict on one suspect change of one investigation (migration 0008).

    At most one ``confirmed`` verdict per investigation: a partial unique index, so two
    responders confirming different changes at once cannot both win.
    """

    __tablename__ = "suspect_verdict"
    __table_args__ = (
        partial_index("uq_suspect_verdict_confirmed", "investigation_id", unique=True,
                      where="verdict = 'confirmed'"),
    )

    investigation_id: Mapped[int] = mapped_column(
        ID, ForeignKey("investigation.id", ondelete="CASCADE"), primary_key=True
    )
    event_id: Mapped[int] = mapped_column(
        ID, ForeignKey("event.id", ondelete="CASCADE"), primary_key=True
    )
    verdict: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(256))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InvestigationOriginRow(TenantOwned, Base):
    """Where an imported investigation came from (migration 0014): a bundle's origin key,
    unique, so importing one bundle twice finds the investigation the first import made."""

    __tablename__ = "investigation_origin"
    __table_args__ = (PrimaryKeyConstraint("tenant_id", "origin"),)

    origin: Mapped[str] = mapped_column(String(512))
    investigation_id: Mapped[int] = mapped_column(
        ID, ForeignKey("investigation.id", ondelete="CASCADE"), unique=True)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    bundle_sha256: Mapped[str] = mapped_column(String(64))


class StoreIdentityRow(Base):
    """This store's random id (migration 0017, one row): it names the store in the
    origin key of the investigations it exports (:mod:`storage.origins`)."""

    __tablename__ = "store_identity"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)


class MaintenanceWindowRow(TenantOwned, Base):
    """A planned change during which matching alerts neither group nor auto-open (0014)."""

    __tablename__ = "maintenance_window"
    __table_args__ = (
        Index("ix_maintenance_window_ends_at", "ends_at"),
        UniqueConstraint("tenant_id", "name", name="uq_maintenance_window_name"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    service: Mapped[str | None] = mapped_column(String(256))
    environment: Mapped[str | None] = mapped_column(String(256))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SuppressedEventRow(TenantOwned, Base):
    """An alert a maintenance window held back from grouping, and which window (by name)."""

    __tablename__ = "suppressed_event"
    __table_args__ = (
        Index("ix_suppressed_event_window", "tenant_id", "window", "occurred_at"),)

    event_id: Mapped[int] = mapped_column(
        ID, ForeignKey("event.id", ondelete="CASCADE"), primary_key=True)
    window: Mapped[str] = mapped_column(String(256))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    service: Mapped[str | None] = mapped_column(String(256))
    suppressed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LogPatternRow(TenantOwned, Base):
    """A log template mined from one service's log events (migration 0014)."""

    __tablename__ = "log_pattern"
    __table_args__ = (Index("ix_log_pattern_service", "tenant_id", "service"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    service: Mapped[str | None] = mapped_column(String(256))
    template: Mapped[str] = mapped_column(Text)
    route: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)


class EventPatternRow(TenantOwned, Base):
    """Which pattern a log event belongs to, with its service and time for counts."""

    __tablename__ = "event_pattern"
    __table_args__ = (
        Index("ix_event_pattern_service_time", "tenant_id", "service", "occurred_at",
              "pattern_id"),
        Index("ix_event_pattern_pattern_time", "pattern_id", "occurred_at"),
    )

    event_id: Mapped[int] = mapped_column(
        ID, ForeignKey("event.id", ondelete="CASCADE"), primary_key=True)
    pattern_id: Mapped[int] = mapped_column(ID, ForeignKey("log_pattern.id", ondelete="CASCADE"))
    service: Mapped[str | None] = mapped_column(String(256))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
