"""A connector's lease names the connector's tenant (issue 15).

Leases coordinate the deployment's instances, so their rows stayed without a tenant;
but ``workbench connectors``, the API and ``/metrics`` list a connector known only
by its lease (run by another instance, not polled yet), and without a tenant that
could only be shown to the default tenant -- which then saw another tenant's
connector names, hosts and pids. ``tenant_id`` is set by the instance that claims
a connector's lease; ``NULL`` is a job of the deployment (the grouper, the purge)
or a lease claimed before this revision.

Revision ID: 0019_lease_tenant
Revises: 0018_tenants
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_lease_tenant"
down_revision = "0018_tenants"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("job_lease", sa.Column("tenant_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_lease") as batch:
        batch.drop_column("tenant_id")
