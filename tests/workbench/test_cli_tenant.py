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


def test_connectors_lists_the_configured_connectors_of_its_tenant(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``workbench connectors`` shows the config's connectors of the tenant it works in:
    another tenant's would read "never run" here while it runs there."""
    import json

    db, config = str(tmp_path / "w.db"), tmp_path / "wb.toml"
    config.write_text(f'''[[connectors]]
name = "app-logs"
kind = "logs"
paths = ["{tmp_path / 'app.log'}"]

[[connectors]]
name = "acme-logs"
kind = "logs"
tenant = "acme"
paths = ["{tmp_path / 'acme.log'}"]
''')
    assert main(["--db", db, "tenant", "create", "acme"]) == 0
    capsys.readouterr()

    def listed(*tenant: str) -> list[str]:
        visibility.set_process_default(visibility.EVERYTHING)
        assert main(["--db", db, "--config", str(config), *tenant, "connectors",
                     "--json"]) == 0
        return [row["connector"] for row in json.loads(capsys.readouterr().out)]

    try:
        assert listed() == ["app-logs"]
        assert listed("--tenant", "acme") == ["acme-logs"]
        assert listed("--tenant", "default") == ["app-logs"]
    finally:
        visibility.set_process_default(visibility.EVERYTHING)
