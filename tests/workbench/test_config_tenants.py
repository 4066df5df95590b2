"""Tenants the config names, and secrets two tenants share, caught before a delivery.

A tenant lives in the store, so only a command that opens it can tell that
``[api.receivers.tenants.ghost]`` names none: ``config check --store`` lists every
such name with its key path (connectors and ``[tui] tenant`` too); ``serve`` refuses
to start with receivers of an unknown tenant and says why; the TUI's start (the same
runtime, reporting instead of stopping) says the API did not start, and a connector of
an unknown tenant is not started while the others run. Two tenants given one secret
(the same reference, found at load, or two references to one value, found by
``config check --secrets``) are an error naming both tenants, never the value.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from storage import Store, tenants
from workbench.cli.main import main
from workbench.config import ConfigError, parse_config
from workbench.config_tenants import UnknownTenantError
from workbench.runtime import build_runtime

GHOST = "[api.receivers.tenants.ghost]\ngithub_secret = \"env:WB_TEST_GHOST_GH\"\n"


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "workbench.toml"
    path.write_text(text)
    return str(path)


def test_two_tenants_naming_one_secret_is_a_load_error() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config('[api.receivers]\ngithub_secret = "env:WB_HOOK"\notlp_token = "env:T"\n'
                     '[api.receivers.tenants.acme]\ngithub_secret = "env:WB_HOOK"\n'
                     'otlp_token = "env:ACME_T"\n'
                     '[api.receivers.tenants.zeta]\ngitlab_token = "env:WB_HOOK"\n')
    assert caught.value.problems == [
        "api.receivers.tenants.acme.github_secret: the same secret as "
        "api.receivers.github_secret, so tenants 'default' and 'acme' share it and a "
        "delivery cannot tell them apart (give each tenant its own)"]


def test_check_secrets_finds_two_references_to_one_value(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    value = "one-value-s3cret"
    (tmp_path / "acme-hook").write_text(value + "\n")
    config = _write(tmp_path, '[api.receivers.tenants.acme]\n'
                    f'gitlab_token = "file:{tmp_path / "acme-hook"}"\n'
                    '[api.receivers.tenants.beta]\ngitlab_token = "env:WB_TEST_BETA_GL"\n')
    monkeypatch.setenv("WB_TEST_BETA_GL", value)
    assert main(["--config", config, "config", "check"]) == 0   # references differ
    capsys.readouterr()
    assert main(["--config", config, "config", "check", "--secrets"]) == 1
    out = capsys.readouterr().out
    assert "api.receivers.tenants.beta.gitlab_token: the same secret as " \
           "api.receivers.tenants.acme.gitlab_token, so tenants 'acme' and 'beta'" in out
    assert value not in out
    monkeypatch.setenv("WB_TEST_BETA_GL", "another-value")
    assert main(["--config", config, "config", "check", "--secrets"]) == 0


def test_check_store_lists_every_unknown_tenant_with_its_key_path(
        store: Store, store_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    with store.write() as session:
        tenants.create_tenant(session=session, name="acme")
    logs = orjson.dumps(str(tmp_path / "*.log")).decode()
    config = _write(tmp_path, f'[tui]\ntenant = "acme"\n{GHOST}\n'
                    '[api.receivers.tenants.acme]\notlp_token = "env:WB_TEST_ACME_OTLP"\n\n'
                    f'[[connectors]]\nkind = "logs"\nname = "app"\npaths = [{logs}]\n\n'
                    f'[[connectors]]\nkind = "logs"\nname = "nope-app"\ntenant = "nope"\n'
                    f"paths = [{logs}]\n")
    assert main(["--config", config, "config", "check"]) == 0  # no store: cannot know
    capsys.readouterr()
    assert main(["--db", store_url, "--config", config, "config", "check", "--store"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "  connectors[1].tenant: no tenant named 'nope' in the store (`workbench tenant "
        "create nope`; `workbench tenant list` shows those it has)",
        "  api.receivers.tenants.ghost: no tenant named 'ghost' in the store (`workbench "
        "tenant create ghost`; `workbench tenant list` shows those it has)"]
    with store.write() as session:
        for name in ("ghost", "nope"):
            tenants.create_tenant(session=session, name=name)
    assert main(["--db", store_url, "--config", config, "config", "check", "--store"]) == 0
    # A store that was never created: one clear line, not a traceback.
    empty = str(tmp_path / "never.db")
    assert main(["--db", empty, "--config", config, "config", "check", "--store"]) == 2
    assert "cannot read the store's tenants: OperationalError: no such table: tenant" in \
        capsys.readouterr().err


def test_serve_refuses_receivers_of_an_unknown_tenant(store: Store, store_url: str,
                                                      tmp_path: Path) -> None:
    config = _write(tmp_path, f"[api]\nport = 0\n\n[grouping]\nenabled = false\n\n{GHOST}")
    done = subprocess.run(
        [sys.executable, "-m", "workbench", "--db", store_url, "--config", config, "serve",
         "--log-file", str(tmp_path / "serve.log")],
        capture_output=True, text=True, timeout=120, env={**os.environ, "WORKBENCH_DB": ""})
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.splitlines()[-1] == (
        "workbench: error: api.receivers.tenants.ghost: no tenant named 'ghost' in the "
        "store (`workbench tenant create ghost`; `workbench tenant list` shows those it "
        "has) (see `workbench config check --store`)")
    assert "ready" not in done.stdout


async def test_the_tui_start_reports_it_and_runs_the_rest(store: Store, tmp_path: Path) -> None:
    """The TUI starts the same runtime with a reporter (``WorkbenchApp._service_failed``):
    the API is reported as not started, a connector of an unknown tenant does not run,
    the other connector does."""
    logs = orjson.dumps(str(tmp_path / "*.log")).decode()
    config = parse_config(
        f"[api]\nport = 0\n\n[grouping]\nenabled = false\n\n{GHOST}\n"
        f'[[connectors]]\nkind = "logs"\nname = "app"\npaths = [{logs}]\n\n'
        f'[[connectors]]\nkind = "logs"\nname = "nope-app"\ntenant = "nope"\n'
        f"paths = [{logs}]\n")
    failed: list[tuple[str, Exception]] = []
    runtime = build_runtime(config, store)
    await runtime.start(lambda name, exc: failed.append((name, exc)))
    try:
        assert [(name, type(exc)) for name, exc in failed] == [
            ("api_service", UnknownTenantError)]
        assert "api.receivers.tenants.ghost: no tenant named 'ghost'" in str(failed[0][1])
        assert runtime.api_url is None
        assert runtime.control is not None and runtime.control.names() == ["app"]
        assert "connectors: 1 running, 1 broken (nope-app)" in runtime.notes
    finally:
        await runtime.stop()
