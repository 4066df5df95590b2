"""One change, one suspect.

A change is often reported by several events: a CI run or deploy when it starts and
again when it finishes (their dedup keys differ by phase), a GitHub deploy by its
job (which targets an environment) and by its ``deployment_status`` hook, a commit
by the git connector and by a push webhook. Ranked one by one they fill the list
with the same change several times and push the next real candidate out of view.
Suspects are therefore grouped by what they change -- the kind of change, where
(service, environment) and which code (commit sha) -- and each group is shown once:
its best-scoring event, carrying a responder's verdict on any of its events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from storage.models import Event, EventKind

T = TypeVar("T")


def change_key(event: Event) -> tuple[object, ...]:
    """Events with the same key report the same change; without a sha, each is its own."""
    if not event.commit_sha:
        return ("event", event.id)
    sha = event.commit_sha.lower()
    if event.kind is EventKind.COMMIT:
        return (EventKind.COMMIT, sha)
    return (event.kind, event.service, event.environment, sha)


def one_per_change(ranked: Sequence[T], event_of: Callable[[T], Event]) -> list[tuple[T, list[T]]]:
    """``ranked`` (best first) grouped by :func:`change_key`, in the order of each
    group's best member: ``(best, the others)``."""
    groups: dict[tuple[object, ...], list[T]] = {}
    for item in ranked:
        groups.setdefault(change_key(event_of(item)), []).append(item)
    return [(members[0], members[1:]) for members in groups.values()]
