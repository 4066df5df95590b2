"""One table (``connectors.registry.RECEIVERS``) serves the routes, the settings and DLQ
replay: a receiver added to it without a route, a secret field or a parser fails here."""

from __future__ import annotations

from pathlib import Path

from connectors.dlq import Parsers
from connectors.registry import RECEIVERS
from storage import Store
from storage.models import DeadLetter, DeadLetterStatus, utcnow
from workbench.api.app import create_app
from workbench.settings.receivers import ReceiverSettings


def _letter(connector: str) -> DeadLetter:
    now = utcnow()
    return DeadLetter(id=1, connector=connector, payload=b"{}", error_class="ValueError",
                      message="x", source_ref=None, attempts=1, first_seen=now, last_seen=now,
                      status=DeadLetterStatus.PENDING, resolved_at=None, resolved_by=None)


def test_every_receiver_has_a_route(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "r.db")
    app = create_app(store=store)
    paths = app.openapi()["paths"]  # the API's contract lists every route
    posts = {path for path, methods in paths.items() if "post" in methods}
    assert {r.path for r in RECEIVERS.values()} <= posts
    store.close()


def test_every_required_secret_is_a_setting() -> None:
    fields = set(ReceiverSettings.model_fields)
    assert {r.required_secret for r in RECEIVERS.values() if r.required_secret} <= fields


def test_every_receivers_dead_letters_have_a_replay_parser() -> None:
    for name, receiver in RECEIVERS.items():
        assert callable(receiver.parser()), name
        assert callable(Parsers().for_letter(_letter(name))), name
