"""Counts for ``/metrics``: dead letters by connector and status, links by reason and rule.

Two ``GROUP BY`` reads over indexed or small tables; the API's collector calls
them at scrape time (cached), so every instance on a shared store exports the
same figures.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.tables import DeadLetterRow, InvestigationEventRow


def dead_letters_by_status(*, session: Session) -> dict[tuple[str, str], int]:
    """``{(connector, status): entries}``; entries are never deleted, only resolved."""
    rows = session.execute(select(DeadLetterRow.connector, DeadLetterRow.status, func.count())
                           .group_by(DeadLetterRow.connector, DeadLetterRow.status))
    return {(connector, status): int(count) for connector, status, count in rows}


def links_by_rule(*, session: Session) -> dict[tuple[str, str], int]:
    """``{(reason, rule or ""): links}`` between events and investigations now."""
    rows = session.execute(
        select(InvestigationEventRow.reason, InvestigationEventRow.rule, func.count())
        .group_by(InvestigationEventRow.reason, InvestigationEventRow.rule))
    return {(reason, rule or ""): int(count) for reason, rule, count in rows}
