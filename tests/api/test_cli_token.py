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
