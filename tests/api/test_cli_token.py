"""``workbench token create|list|revoke`` as a user runs them, against a served API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from storage import Store
from tests.api.conftest import start_api, stop_api
from tests.api.test_auth import TOKEN_PATTERN


def _cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workbench", "--db", str(db), "token", *args],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.slow
def test_create_use_list_revoke(tmp_path: Path) -> None:
    db = tmp_path / "wb.db"
    created = _cli(db, "create", "--name", "oncall", "--role", "responder")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert TOKEN_PATTERN.fullmatch(secret)  # stdout is exactly the token: scriptable
    assert "shown once" in created.stderr
    store = Store.open(db)
    api = start_api(store)
    try:
        headers = {"Authorization": f"Bearer {secret}"}
        made = httpx.post(api.url + "/api/investigations", json={"title": "x"}, headers=headers)
        assert made.status_code == 201
        listing = _cli(db, "list")
        assert "oncall" in listing.stdout and "responder" in listing.stdout
        assert secret not in listing.stdout
        assert _cli(db, "revoke", "oncall").returncode == 0
        assert httpx.get(api.url + "/api/events", headers=headers).status_code == 401
        assert "revoked" in _cli(db, "list").stdout
    finally:
        stop_api(api)
        store.close()
    duplicate = _cli(db, "create", "--name", "oncall", "--role", "viewer")
    assert duplicate.returncode == 2 and "already exists" in duplicate.stderr
    assert _cli(db, "create", "--name", "x", "--role", "root").returncode == 2
    assert _cli(db, "revoke", "ghost").returncode == 2


@pytest.mark.slow
def test_a_team_token_from_the_cli_sees_its_team_only(tmp_path: Path) -> None:
    """``token create --team``: the team is stored, listed, audited, and scopes a viewer
    under ``viewers_see = "own_team"`` over real HTTP."""
    from storage import NewInvestigation, audit
    from workbench.settings.access import AccessSettings

    db = tmp_path / "wb.db"
    created = _cli(db, "create", "--name", "pay-ro", "--role", "viewer", "--team", "payments")
    assert created.returncode == 0 and "team payments" in created.stderr, created.stderr
    bad = _cli(db, "create", "--name", "bad", "--role", "viewer", "--team", "pay\x1b[2J")
    assert bad.returncode == 2 and "printable" in bad.stderr
    listing = _cli(db, "list").stdout.splitlines()
    assert "TEAM" in listing[0] and any("pay-ro" in r and "payments" in r for r in listing)
    store = Store.open(db)
    mine = store.create_investigation(NewInvestigation(title="ledger", team="payments"))
    store.create_investigation(NewInvestigation(title="search", team="search"))
    with store.read() as session:
        [row] = audit.list_entries(session=session, action="token.create")
    assert row.after == {"name": "pay-ro", "role": "viewer", "team": "payments"}
    api = start_api(store, access=AccessSettings(viewers_see="own_team"))
    try:
        headers = {"Authorization": f"Bearer {created.stdout.strip()}"}
        listed = httpx.get(api.url + "/api/investigations", headers=headers).json()["items"]
        assert [i["id"] for i in listed] == [mine.id]
    finally:
        stop_api(api)
        store.close()
