"""64-bit ids on PostgreSQL.

The API accepts ids up to 2^63 - 1 (the range of SQLite's INTEGER), but PostgreSQL
created the id columns as 32-bit ``integer``: looking up id 2^31 failed in the
database (a 500) instead of answering 404, and a busy store would run out of ids
after 2^31 events. This widens every id column, the columns that refer to them and
the sequences behind them to ``bigint``. Existing rows keep their ids. SQLite needs
nothing: its INTEGER is already 64-bit.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ID_COLUMNS = (
    ("event", "id"),
    ("event_tag", "event_id"),
    ("investigation", "id"),
    ("investigation_event", "investigation_id"),
    ("investigation_event", "event_id"),
    ("dead_letter", "id"),
    ("api_token", "id"),
    ("audit_log", "id"),
)
SEQUENCE_OWNERS = ("event", "investigation", "dead_letter", "api_token", "audit_log")


def _alter(type_name: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table, column in ID_COLUMNS:
        op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE {type_name}')
    for table in SEQUENCE_OWNERS:
        # A serial column's sequence has its own type (integer, max 2^31 - 1).
        sequence = bind.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"),
                                {"t": table}).scalar()
        if sequence is not None:
            op.execute(f"ALTER SEQUENCE {sequence} AS {type_name}")


def upgrade() -> None:
    _alter("bigint")


def downgrade() -> None:
    # Fails, as it should, if a stored id no longer fits in 32 bits.
    _alter("integer")
