"""Where a grouping pass's decisions go: the store, or a preview that writes nothing.

A pass (:mod:`workbench.grouping`) decides which events link where and which open an
investigation; only its sink acts on those decisions. :class:`StoreSink` creates the
investigations and writes the links (the grouper); :class:`PreviewSink` only records
them, numbering would-be investigations ``-1, -2, ...`` -- so ``workbench group
--dry-run`` runs the very same rules, threshold and windows as the grouper, and can
never disagree with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.orm import Session

from storage import audit, maintenance
from storage import grouping_keys as keys
from storage import investigations as inv_repo
from storage.link_lookup import linked_pairs
from storage.models import Event, NewInvestigation, utcnow
from workbench.settings.access import with_team

ACTOR = "system:grouper"
"""The audit actor of every link the rules make and every investigation they open."""


class Sink(Protocol):
    """What a grouping pass's decisions are handed to."""

    def open(self, event: Event, auto_key: str) -> int:
        """Open an investigation for ``event``'s alert episode; its id."""

    def write(self, links: Sequence[keys.NewLink]) -> int:
        """Store ``links`` (and any suppressions); how many links are new."""

    def suppress(self, event: Event, window: str) -> None:
        """Hold ``event`` back: a maintenance window named ``window`` covers it."""


def new_investigation(event: Event) -> NewInvestigation:
    """The investigation auto-open creates for ``event``."""
    return NewInvestigation(title=event.title[:200], severity=event.severity,
                            services=(event.service,) if event.service else (),
                            detected_at=event.occurred_at, tags=("auto",))


class StoreSink:
    """Acts on the decisions in the pass's write transaction."""

    def __init__(self, session: Session, owners: Mapping[str, str] | None = None) -> None:
        self.session = session
        self.owners = owners or {}
        """``service -> team``: the team of an investigation it opens (``[teams]``)."""
        self.marks: list[tuple[Event, str]] = []
        self.created: list[audit.Change] = []

    def suppress(self, event: Event, window: str) -> None:
        self.marks.append((event, window))

    def open(self, event: Event, auto_key: str) -> int:
        created = inv_repo.create_investigation(
            session=self.session, new=with_team(new_investigation(event), self.owners))
        keys.mark_auto_opened(session=self.session, investigation_id=created.id,
                              auto_key=auto_key)
        self.created.append(audit.Change(
            "investigation.create", f"investigation:{created.id}",
            detail={"title": created.title, "auto_key": auto_key, "event_id": event.id},
            after=created.model_dump(mode="json", exclude=set(audit.BOOKKEEPING))))
        return created.id

    def write(self, links: Sequence[keys.NewLink]) -> int:
        """Lock the touched investigations in id order, then store links, keys and audit.

        Only links that did not exist yet are audited (a re-processed batch, or an
        event already linked by hand, is a no-op and leaves no row).
        """
        keys.lock_investigations(session=self.session,
                                 ids={li.investigation_id for li in links})
        maintenance.record_suppressed(session=self.session, marks=self.marks)
        now = utcnow()
        new = keys.record_links(session=self.session, links=links, now=now)
        made = {(li.investigation_id, li.event_id): li for li in links}
        audit.record_many(session=self.session, actor=ACTOR, now=now, changes=[
            *self.created, *(_link_change(made[pair]) for pair in sorted(new))])
        return len(new)


def _link_change(link: keys.NewLink) -> audit.Change:
    return audit.Change(
        "investigation.link", f"investigation:{link.investigation_id}",
        detail={"event_id": link.event_id, "rule": link.rule},
        after={"event_id": link.event_id, "reason": link.reason, "rule": link.rule,
               "key": link.key, "window_seconds": link.window_seconds})


@dataclass(frozen=True, slots=True)
class Opened:
    """An investigation the pass would open: its placeholder id, the event and the key."""

    placeholder: int
    event: Event
    auto_key: str


@dataclass
class PreviewSink:
    """Records the decisions; writes nothing. With a ``session``, links that exist already
    (a ``--since`` preview over grouped events) are told apart: the real pass would keep
    them as they are."""

    session: Session | None = None
    opened: list[Opened] = field(default_factory=list)
    links: list[keys.NewLink] = field(default_factory=list)
    existing: list[keys.NewLink] = field(default_factory=list)
    suppressed: list[tuple[Event, str]] = field(default_factory=list)

    def suppress(self, event: Event, window: str) -> None:
        self.suppressed.append((event, window))

    def open(self, event: Event, auto_key: str) -> int:
        placeholder = -(len(self.opened) + 1)
        self.opened.append(Opened(placeholder, event, auto_key))
        return placeholder

    def write(self, links: Sequence[keys.NewLink]) -> int:
        stored = linked_pairs(session=self.session, pairs=[
            (li.investigation_id, li.event_id) for li in links if li.investigation_id > 0]) \
            if self.session is not None else set()
        for link in links:
            known = (link.investigation_id, link.event_id) in stored
            (self.existing if known else self.links).append(link)
        return len(self.links)
