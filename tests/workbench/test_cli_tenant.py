"""``workbench tenant create|list``, ``token create --tenant`` and ``--tenant``."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage import EventQuery, Store, tokens, visibility
from storage.tenants import tenant_id_by_name
from workbench.cli.main import main


def test_tenant_commands_and_tokens_per_tenant(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "w.db")
    assert main(["--db", db, "tenant", "create", "acme"]) == 0
    assert main(["--db", db, "tenant", "create", "acme"]) == 2      # exists
    capsys.readouterr()
    assert main(["--db", db, "tenant", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in listed[1:]] == ["default", "acme"]
    assert main(["--db", db, "token", "create", "--name", "ops", "--role", "admin",
                 "--tenant", "acme"]) == 0
    secret = capsys.readouterr().out.strip()
    visibility.set_process_default(visibility.EVERYTHING)
    # The same name in the default tenant is another token.
    assert main(["--db", db, "token", "create", "--name", "ops", "--role", "viewer"]) == 0
    visibility.set_process_default(visibility.EVERYTHING)
    assert main(["--db", db, "--tenant", "nope", "token", "list"]) == 2
    store = Store.open(db)
    try:
        with store.read() as session:
            live = tokens.authenticate(session=session, token=secret)
            acme = tenant_id_by_name(session=session, name="acme")
            assert live is not None and live[1] == acme and live[0].role == "admin"
            assert [t.role for t in tokens.list_tokens(session=session)] == ["viewer"]
        with visibility.seeing(visibility.Visibility(tenant_id=acme)):
            assert store.list_events(EventQuery()).items == []
    finally:
        store.close()
