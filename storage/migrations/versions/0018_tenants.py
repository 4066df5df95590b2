"""Tenants: every stored row belongs to one tenant (issue 15; docs/tenants.md).

Adds ``tenant`` with its default row ``(1, 'default')`` and ``tenant_id NOT NULL
DEFAULT 1`` on every tenant-owned table, so every existing row lands in the default
tenant. Keys that become per tenant: an event's ``(tenant_id, source, dedup_key)``
(the same alert in two tenants is two events), cursors, health, leases, user views,
grouping keys, auto-open keys, bundle origins and maintenance window names. Indexes
that pages walk get ``tenant_id`` first. Roll-ups are rebuilt per tenant.

On PostgreSQL adding the column is metadata-only; the key and index swaps rebuild
those indexes. On SQLite each table is copied once (batch mode).

Revision ID: 0018_tenants
Revises: 0017_store_identity
Create Date: 2026-12-02
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0018_tenants"
down_revision = "0017_store_identity"
branch_labels = None
depends_on = None

PLAIN = ("api_token", "user_seen", "investigation_grouping", "suppressed_event",
         "log_pattern", "event_pattern", "maintenance_window", "audit_log", "dead_letter",
         "investigation")
"""Tables that only gain the column (and maybe re-keyed indexes, below)."""
NEW_PRIMARY_KEYS = {
    "connector_cursor": ["tenant_id", "connector"],
    "connector_health": ["tenant_id", "connector"],
    "user_view": ["tenant_id", "user_name"],
    "investigation_origin": ["tenant_id", "origin"],
    "investigation_key": ["tenant_id", "kind", "key", "investigation_id"],
}
NEW_INDEXES = {
    "event": {"ix_event_time": ["tenant_id", "occurred_at", "id"],
              "ix_event_time_cover": ["tenant_id", "occurred_at", "source", "severity",
                                      "service"],
              "ix_event_service_time": ["tenant_id", "service", "occurred_at", "severity"],
              "ix_event_source_time": ["tenant_id", "source", "occurred_at"]},
    "investigation": {"ix_investigation_status_updated": ["tenant_id", "status", "updated_at"],
                      "ix_investigation_updated": ["tenant_id", "updated_at", "id"]},
    "dead_letter": {"ix_dead_letter_connector_status": ["tenant_id", "connector", "status", "id"],
                    "ix_dead_letter_hash": ["tenant_id", "connector", "payload_hash"]},
    "suppressed_event": {"ix_suppressed_event_window": ["tenant_id", "window", "occurred_at"]},
    "log_pattern": {"ix_log_pattern_service": ["tenant_id", "service"]},
    "event_pattern": {"ix_event_pattern_service_time": ["tenant_id", "service", "occurred_at",
                                                        "pattern_id"]},
}
NEW_UNIQUES = {
    "api_token": ("uq_api_token_name", ["tenant_id", "name"]),
    "event": ("uq_event_source_dedup", ["tenant_id", "source", "dedup_key"]),
    "investigation_grouping": ("uq_investigation_grouping_auto_key", ["tenant_id", "auto_key"]),
    "maintenance_window": ("uq_maintenance_window_name", ["tenant_id", "name"]),
}


def _tenant_column() -> sa.Column[int]:
    return sa.Column("tenant_id", ID, nullable=False, server_default=sa.text("1"))


def _alter(table: str) -> None:
    with op.batch_alter_table(table) as batch:
        batch.add_column(_tenant_column())
        if table in NEW_PRIMARY_KEYS:
            batch.drop_constraint(f"pk_{table}", type_="primary")
            batch.create_primary_key(f"pk_{table}", NEW_PRIMARY_KEYS[table])
        if table in NEW_UNIQUES:
            name, columns = NEW_UNIQUES[table]
            batch.drop_constraint(name, type_="unique")
            batch.create_unique_constraint(name, columns)
        for name, columns in NEW_INDEXES.get(table, {}).items():
            batch.drop_index(name)
            batch.create_index(name, columns)


def upgrade() -> None:
    op.create_table(
        "tenant",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("name", name="uq_tenant_name"),
    )
    op.bulk_insert(sa.table("tenant", sa.column("id", ID), sa.column("name", sa.String),
                            sa.column("created_at", UTCDateTime())),
                   [{"id": 1, "name": "default", "created_at": datetime.now(UTC)}])
    if op.get_bind().dialect.name == "postgresql":
        # The explicit id 1 did not advance the sequence: the next tenant is 2.
        op.execute("SELECT setval(pg_get_serial_sequence('tenant', 'id'), 1)")
    for table in (*PLAIN, "event", *NEW_PRIMARY_KEYS):
        _alter(table)
    op.create_index("ix_audit_log_tenant", "audit_log", ["tenant_id", "id"])
    _change_index_per_tenant()
    _rollups_per_tenant()


CHANGES = "kind IN ('commit', 'deploy', 'pipeline')"
"""0016's predicate, frozen here as there."""


def _change_index_per_tenant() -> None:
    """0016's partial index on changes, led by the tenant like ``ix_event_time``: a
    change query carries the tenant, and without it SQLite prefers ``ix_event_time``
    (every event of the window) to the change index (the plan test caught it)."""
    op.execute("DROP INDEX IF EXISTS ix_event_change_time")
    op.create_index("ix_event_change_time", "event", ["tenant_id", "occurred_at", "id"],
                    sqlite_where=sa.text(CHANGES), postgresql_where=sa.text(CHANGES))


def _rollups_per_tenant() -> None:
    """Roll-ups are derived: dropped, created per tenant and rebuilt from the events."""
    op.drop_index("ix_event_rollup_empty", table_name="event_rollup")
    op.drop_table("event_rollup")
    op.create_table(
        "event_rollup",
        sa.Column("tenant_id", ID, nullable=False, server_default=sa.text("1")),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("dim", sa.String(16), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(256), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "width", "dim", "bucket", "key",
                                name="pk_event_rollup"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_event_rollup_empty", "event_rollup", ["width"],
                    sqlite_where=sa.text("n = 0"), postgresql_where=sa.text("n = 0"))
    from storage.rollup import rebuild  # the runtime's definition of a bucket, once

    rebuild(op.get_bind())


def downgrade() -> None:
    raise NotImplementedError("tenants cannot be merged back into one store automatically")
