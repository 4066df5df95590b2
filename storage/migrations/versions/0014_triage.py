"""Triage: bundle origins, maintenance windows and the alerts they suppressed.

``investigation_origin`` maps a bundle's origin key (the exporting store's
investigation id and creation time, or the origin that one was imported from) to
the local investigation, so importing the same bundle twice is importing it once.
``maintenance_window`` holds planned changes (service/environment, start/end) during
which alerts neither group nor auto-open; ``suppressed_event`` marks each alert a
window held back, and by which window (by name: config windows live in no table).
``log_pattern`` holds the log templates mined per service (Drain) with the tokens
each was routed by; ``event_pattern`` says which pattern each log event belongs to,
with its service and time, so counts per pattern over any time range are one
index range scan.

Revision ID: 0014_triage
Revises: 0012_rollups
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0014_triage"
down_revision = "0012_rollups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "investigation_origin",
        sa.Column("origin", sa.String(512), primary_key=True),
        sa.Column("investigation_id", ID,
                  sa.ForeignKey("investigation.id", ondelete="CASCADE"), nullable=False,
                  unique=True),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.Column("bundle_sha256", sa.String(64), nullable=False),
    )
    op.create_table(
        "maintenance_window",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(256), nullable=False, unique=True),
        sa.Column("service", sa.String(256)),
        sa.Column("environment", sa.String(256)),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_maintenance_window_ends_at", "maintenance_window", ["ends_at"])
    op.create_table(
        "suppressed_event",
        sa.Column("event_id", ID, sa.ForeignKey("event.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("window", sa.String(256), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("service", sa.String(256)),
        sa.Column("suppressed_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_suppressed_event_window", "suppressed_event", ["window", "occurred_at"])
    op.create_table(
        "log_pattern",
        sa.Column("id", ID, primary_key=True),
        sa.Column("service", sa.String(256)),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("route", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_log_pattern_service", "log_pattern", ["service"])
    op.create_table(
        "event_pattern",
        sa.Column("event_id", ID, sa.ForeignKey("event.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("pattern_id", ID, sa.ForeignKey("log_pattern.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("service", sa.String(256)),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_event_pattern_service_time", "event_pattern",
                    ["service", "occurred_at", "pattern_id"])
    op.create_index("ix_event_pattern_pattern_time", "event_pattern",
                    ["pattern_id", "occurred_at"])


def downgrade() -> None:
    op.drop_table("event_pattern")
    op.drop_table("log_pattern")
    op.drop_index("ix_suppressed_event_window", table_name="suppressed_event")
    op.drop_table("suppressed_event")
    op.drop_index("ix_maintenance_window_ends_at", table_name="maintenance_window")
    op.drop_table("maintenance_window")
    op.drop_table("investigation_origin")
