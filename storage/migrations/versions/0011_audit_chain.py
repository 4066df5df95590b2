"""The audit log becomes a hash chain with before/after values.

Each row carries the hash of the row before it (``prev_hash``) and its own
(``hash``: SHA-256 over ``prev_hash`` and the row's content), so editing, deleting
or reordering a row breaks the chain at that row (``workbench audit verify``).
``before``/``after`` hold what a change replaced and what it wrote (JSON). Rows
written before this revision are chained here, in id order, with no before/after.

Revision ID: 0011
Revises: 0008_triage_verdicts
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0008_triage_verdicts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("before", sa.Text(), nullable=True))
        batch.add_column(sa.Column("after", sa.Text(), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(64), nullable=True))
    from storage.audit import GENESIS, entry_hash  # the runtime's formula, once
    from storage.tables import AuditRow  # ``at`` read through its own type

    table = AuditRow.__table__
    conn = op.get_bind()
    rows = conn.execute(sa.select(table.c.id, table.c.at, table.c.actor, table.c.action,
                                  table.c.target, table.c.detail).order_by(table.c.id)).all()
    prev = GENESIS
    for row in rows:
        digest = entry_hash(prev, row.at, row.actor, row.action, row.target, row.detail,
                            None, None)
        conn.execute(sa.text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE id = :i"),
                     {"p": prev, "h": digest, "i": row.id})
        prev = digest


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
        batch.drop_column("after")
        batch.drop_column("before")
