"""Suspect verdicts: a responder rules a suspect change out or confirms it.

``suspect_verdict`` holds one verdict per (investigation, change); a partial unique
index allows one ``confirmed`` change per investigation (the root cause).

Revision ID: 0008_triage_verdicts
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0008_triage_verdicts"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suspect_verdict",
        sa.Column("investigation_id", ID,
                  sa.ForeignKey("investigation.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("event_id", ID, sa.ForeignKey("event.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("decided_by", sa.String(256), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=False),
    )
    op.create_index("uq_suspect_verdict_confirmed", "suspect_verdict", ["investigation_id"],
                    unique=True, sqlite_where=sa.text("verdict = 'confirmed'"),
                    postgresql_where=sa.text("verdict = 'confirmed'"))


def downgrade() -> None:
    op.drop_index("uq_suspect_verdict_confirmed", table_name="suspect_verdict")
    op.drop_table("suspect_verdict")
