"""A team on one store: job leases, grouping keys, auto-open episodes, per-user state.

- ``job_lease``: one row per background job (each connector's poll loop, the
  grouper); the instance named in ``holder`` runs it until ``expires_at``.
- ``investigation_key`` and ``investigation_grouping``: what the grouping rules
  match on (trace ids, alert fingerprints, services of linked events; the latest
  linked event's time), so a grouping pass costs what its batch costs, not what
  every open investigation has linked. Backfilled from the existing links.
- ``investigation_grouping.auto_key`` is unique: one auto-opened investigation
  per alert episode (fingerprint + startsAt), enforced by the database.
- ``user_seen``: the newest event each user has seen in each investigation.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
"""Ids and references to them are 64-bit on PostgreSQL (migration 0004)."""

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_LINKED = ("FROM investigation_event ie JOIN event e ON e.id = ie.event_id")


def upgrade() -> None:
    _investigation_tables()
    op.create_table(
        "job_lease",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("holder", sa.String(64)),
        sa.Column("host", sa.String(256)),
        sa.Column("pid", sa.Integer()),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("acquired_at", UTCDateTime()),
        sa.Column("heartbeat_at", UTCDateTime()),
        sa.Column("expires_at", UTCDateTime()),
    )
    op.create_table(
        "user_seen",
        sa.Column("user_name", sa.String(256), primary_key=True),
        sa.Column("investigation_id", ID,
                  sa.ForeignKey("investigation.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("last_event_id", ID, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    _backfill()


def _investigation_tables() -> None:
    op.create_table(
        "investigation_key",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(512), primary_key=True),
        sa.Column("investigation_id", ID,
                  sa.ForeignKey("investigation.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_index("ix_investigation_key_investigation", "investigation_key",
                    ["investigation_id", "kind"])
    op.create_table(
        "investigation_grouping",
        sa.Column("investigation_id", ID,
                  sa.ForeignKey("investigation.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("last_event_at", UTCDateTime()),
        sa.Column("auto_key", sa.String(512), unique=True),
    )


def _backfill() -> None:
    if op.get_bind().dialect.name == "postgresql":
        fingerprint = "(e.attributes::jsonb ->> 'fingerprint')"
        is_text = "jsonb_typeof(e.attributes::jsonb -> 'fingerprint') = 'string'"
    else:
        fingerprint = "json_extract(e.attributes, '$.fingerprint')"
        is_text = "json_type(e.attributes, '$.fingerprint') = 'text'"
    for kind, expr, cond in (("trace", "e.trace_id", "e.trace_id IS NOT NULL"),
                             ("service", "e.service", "e.service IS NOT NULL"),
                             ("fingerprint", fingerprint, is_text)):
        op.execute(f"INSERT INTO investigation_key (kind, key, investigation_id) "  # noqa: S608
                   f"SELECT DISTINCT '{kind}', {expr}, ie.investigation_id {_LINKED} "
                   f"WHERE {cond} AND length({expr}) <= 512")
    op.execute("INSERT INTO investigation_grouping (investigation_id, last_event_at) "
               f"SELECT i.id, (SELECT max(e.occurred_at) {_LINKED} "
               "WHERE ie.investigation_id = i.id) FROM investigation i")


def downgrade() -> None:
    for table in ("user_seen", "job_lease", "investigation_grouping", "investigation_key"):
        op.drop_table(table)
