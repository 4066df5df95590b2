"""Tenants: create, list and find by name (``workbench tenant create|list``).

The ``tenant`` table is the deployment's, not any tenant's: it has no ``tenant_id``
and is read without scoping. Every other row names its tenant (:mod:`storage.visibility`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.events import NotFoundError
from storage.models import UTCDateTime, utcnow
from storage.tables import TenantRow
from storage.tenant_context import in_tenant, seeing

if TYPE_CHECKING:
    from storage.store import Store

T = TypeVar("T")


class TenantExistsError(ValueError):
    """A tenant with this name already exists."""


class Tenant(BaseModel):
    """A tenant."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    created_at: UTCDateTime


def check_name(name: str) -> str:
    """``name`` if it is a valid tenant name (1-128 printable characters), else ValueError."""
    if not (0 < len(name) <= 128 and name.isprintable() and name.strip() == name):
        raise ValueError("a tenant name is 1 to 128 printable characters, no outer spaces")
    return name


def _model(row: TenantRow) -> Tenant:
    return Tenant(id=row.id, name=row.name, created_at=row.created_at)


def create_tenant(*, session: Session, name: str, now: datetime | None = None) -> Tenant:
    """Add a tenant (it has no rows yet)."""
    check_name(name)
    if session.scalar(select(TenantRow.id).where(TenantRow.name == name)) is not None:
        raise TenantExistsError(f"a tenant named {name!r} already exists")
    row = TenantRow(name=name, created_at=now or utcnow())
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        raise TenantExistsError(f"a tenant named {name!r} already exists") from exc
    return _model(row)


def list_tenants(*, session: Session) -> list[Tenant]:
    """Every tenant, the default first."""
    return [_model(r) for r in session.scalars(select(TenantRow).order_by(TenantRow.id))]


def tenant_id_by_name(*, session: Session, name: str) -> int:
    """The id of the tenant called ``name``; :class:`NotFoundError` if there is none."""
    found = session.scalar(select(TenantRow.id).where(TenantRow.name == name))
    if found is None:
        raise NotFoundError(f"no tenant named {name!r}")
    return int(found)


def tenant_ids(*, session: Session) -> list[int]:
    """Every tenant's id (a background pass works through them one by one)."""
    return [int(i) for i in session.scalars(select(TenantRow.id).order_by(TenantRow.id))]


def in_each_tenant(store: Store, work: Callable[[], T]) -> list[T]:
    """Run ``work`` once inside each tenant, in id order (a background pass: grouping,
    retention), each run seeing only that tenant's rows."""
    with store.read() as session:
        every = tenant_ids(session=session)
    out = []
    for tenant in every:
        with seeing(in_tenant(tenant)):
            out.append(work())
    return out


def several(*, session: Session) -> bool:
    """Whether there is more than the default tenant (only then does anything show it)."""
    return int(session.scalar(select(func.count()).select_from(TenantRow)) or 0) > 1


def tenant_name(*, session: Session, tenant_id: int) -> str:
    """The name of tenant ``tenant_id``."""
    found = session.scalar(select(TenantRow.name).where(TenantRow.id == tenant_id))
    if found is None:
        raise NotFoundError(f"no tenant {tenant_id}")
    return str(found)
