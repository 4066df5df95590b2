"""Events, investigations, links, dead letters, connector cursors, full-text search.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _event() -> None:
    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("dedup_key", sa.String(512), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("severity", sa.SmallInteger(), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("service", sa.String(256)),
        sa.Column("environment", sa.String(256)),
        sa.Column("host", sa.String(256)),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("trace_id", sa.String(256)),
        sa.Column("span_id", sa.String(256)),
        sa.Column("commit_sha", sa.String(256)),
        sa.Column("url", sa.Text()),
        sa.Column("attributes", sa.Text(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.UniqueConstraint("source", "dedup_key", name="uq_event_source_dedup"),
    )
    op.create_index("ix_event_time", "event", ["occurred_at", "id"])
    op.create_index("ix_event_service_time", "event", ["service", "occurred_at", "severity"])
    op.create_index("ix_event_source_time", "event", ["source", "occurred_at"])
    not_null = {"trace_id": "trace_id IS NOT NULL", "commit_sha": "commit_sha IS NOT NULL"}
    for name, column in (("ix_event_trace", "trace_id"), ("ix_event_commit", "commit_sha")):
        where = sa.text(not_null[column])
        op.create_index(name, "event", [column], sqlite_where=where, postgresql_where=where)
    op.create_table(
        "event_tag",
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("event.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("tag", sa.String(256), primary_key=True),
    )
    op.create_index("ix_event_tag_tag", "event_tag", ["tag", "event_id"])


def _search() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # External-content FTS5, filled once per ingest batch (a per-row trigger
        # costs about 5x ingest speed).
        op.execute(
            "CREATE VIRTUAL TABLE event_fts USING fts5("
            "title, body, attributes, content='event', content_rowid='id')"
        )
    else:
        op.execute(
            "ALTER TABLE event ADD COLUMN search tsvector GENERATED ALWAYS AS ("
            "to_tsvector('simple', coalesce(title, '') || ' ' || left(coalesce(body, ''), 200000)"
            " || ' ' || left(coalesce(attributes, ''), 200000))) STORED"
        )
        op.execute("CREATE INDEX ix_event_search ON event USING gin (search)")


def _investigation() -> None:
    ts: list[sa.Column[Any]] = [sa.Column(name, UTCDateTime()) for name in (
        "impact_started_at", "detected_at", "acknowledged_at", "mitigated_at", "resolved_at")]
    op.create_table(
        "investigation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("severity", sa.SmallInteger(), nullable=False),
        sa.Column("services", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(256)),
        sa.Column("team", sa.String(256)),
        sa.Column("impact_domain", sa.String(256)),
        sa.Column("business_impact", sa.Text()),
        sa.Column("estimated_mttr_minutes", sa.Integer()),
        sa.Column("automation_potential", sa.String(256)),
        sa.Column("root_cause", sa.Text()),
        *ts,
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("metadata", sa.Text(), nullable=False),
    )
    op.create_index("ix_investigation_status_updated", "investigation", ["status", "updated_at"])
    op.create_index("ix_investigation_updated", "investigation", ["updated_at", "id"])
    op.create_table(
        "investigation_event",
        sa.Column("investigation_id", sa.Integer(),
                  sa.ForeignKey("investigation.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("event.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("rule", sa.String(256)),
        sa.Column("key", sa.String(512)),
        sa.Column("window_seconds", sa.Integer()),
        sa.Column("note", sa.Text()),
        sa.Column("linked_by", sa.String(256)),
        sa.Column("linked_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_investigation_event_event", "investigation_event", ["event_id"])


def _dead_letter_and_cursor() -> None:
    op.create_table(
        "dead_letter",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("connector", sa.String(256), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("payload_hash", sa.String(64), nullable=False),
        sa.Column("error_class", sa.String(256), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("source_ref", sa.Text()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime()),
        sa.Column("resolved_by", sa.String(256)),
    )
    op.create_index("ix_dead_letter_connector_status", "dead_letter", ["connector", "status", "id"])
    op.create_index("ix_dead_letter_hash", "dead_letter", ["connector", "payload_hash"])
    op.create_table(
        "connector_cursor",
        sa.Column("connector", sa.String(256), primary_key=True),
        sa.Column("cursor", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def upgrade() -> None:
    _event()
    _search()
    _investigation()
    _dead_letter_and_cursor()


def downgrade() -> None:
    for table in ("connector_cursor", "dead_letter", "investigation_event", "investigation",
                  "event_tag"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE event_fts")
    op.drop_table("event")
