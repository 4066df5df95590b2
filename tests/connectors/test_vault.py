"""``vault:PATH#FIELD`` secret references against a Vault-shaped server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from connectors import vault
from connectors.errors import TransientSourceError
from connectors.metrics.datadog_connector import DatadogConfig, DatadogConnector
from connectors.secrets import SecretError, SecretRef, redact
from connectors.vault import VaultClient, VaultSettings, VaultUnavailable
from tests.connectors.vault_server import FakeVault, serve
from tests.field.metrics.test_datadog_samples import TO, Replay
from workbench.cli.main import main

GH = "vault:secret/data/workbench#github_token"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> Iterator[FakeVault]:
    state = FakeVault(kv2={"workbench": {"github_token": "ghp_from_vault", "dd_api": "dd-key"}},
                      kv1={"legacy": ({"password": "pw-v1", "ttl": "1h"}, 3600)})
    state.issue("static-token")
    with serve(state) as running:
        yield running


@pytest.fixture
def env(fake: FakeVault, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> Iterator[FakeVault]:
    for name in ("VAULT_TOKEN", "VAULT_ROLE_ID", "VAULT_SECRET_ID", "VAULT_NAMESPACE",
                 "VAULT_CACERT", "WORKBENCH_VAULT_CACHE_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))           # no ~/.vault-token of the runner's
    monkeypatch.setenv("VAULT_ADDR", fake.url)
    monkeypatch.setenv("VAULT_TOKEN", "static-token")
    vault.forget_clients()
    yield fake
    vault.forget_clients()


def test_kv2_field_resolves_and_prints_only_the_reference(env: FakeVault) -> None:
    ref = SecretRef.model_validate(GH)
    assert ref.resolve() == "ghp_from_vault"
    assert str(ref) == repr(ref)[11:-2] == GH
    assert "ghp_from_vault" not in ref.model_dump_json()
    assert env.reads == [("/v1/secret/data/workbench", "static-token")]
    assert ref.resolve() == "ghp_from_vault"
    assert len(env.reads) == 1, "a KV v2 value is cached (no lease: the configured period)"
    assert SecretRef.model_validate({"vault": "secret/data/workbench#dd_api"}).resolve() == "dd-key"
    assert len(env.reads) == 1, "fields of one secret share one read"


def test_reference_syntax_is_checked_when_the_config_loads() -> None:
    with pytest.raises(ValidationError, match="vault:PATH#FIELD"):
        SecretRef.model_validate("vault:secret/data/workbench")
    with pytest.raises(ValidationError, match="exactly one"):
        SecretRef.model_validate({"vault": "a#b", "env": "X"})
    assert redact({"token": GH, "password": "plain"}) == {"token": GH, "password": "***"}


def test_kv2_is_reread_after_the_cache_period_kv1_after_its_lease(fake: FakeVault) -> None:
    clock = Clock()
    client = VaultClient(VaultSettings(address=fake.url, token="static-token",
                                       cache_seconds=300), clock=clock)
    assert client.read("secret/data/workbench", "github_token") == "ghp_from_vault"
    assert client.read("kv/legacy", "password") == "pw-v1"
    fake.kv2["workbench"]["github_token"] = "rotated"
    fake.kv1["legacy"] = ({"password": "pw-rotated"}, 3600)
    clock.now += 299.0
    assert client.read("secret/data/workbench", "github_token") == "ghp_from_vault"
    clock.now += 1.0
    assert client.read("secret/data/workbench", "github_token") == "rotated"
    assert client.read("kv/legacy", "password") == "pw-v1", "the KV v1 lease (3600 s) holds"
    clock.now += 3300.0
    assert client.read("kv/legacy", "password") == "pw-rotated"
    assert [path for path, _ in fake.reads] == ["/v1/secret/data/workbench", "/v1/kv/legacy",
                                                "/v1/secret/data/workbench", "/v1/kv/legacy"]
    client.close()


def test_approle_logs_in_once_renews_before_the_lease_ends_and_after_a_revocation(
        fake: FakeVault) -> None:
    clock = Clock()
    client = VaultClient(VaultSettings(address=fake.url, role_id="role-1", secret_id="secret-1",
                                       cache_seconds=10), clock=clock)
    client.read("secret/data/workbench", "github_token")
    clock.now += 10
    client.read("secret/data/workbench", "github_token")
    assert fake.logins == 1 and {t for _, t in fake.reads} == {"approle-token-1"}
    clock.now += 1200 * 0.9             # 90% of the token's 1200 s lease is gone
    client.read("secret/data/workbench", "github_token")
    assert fake.logins == 2 and fake.reads[-1][1] == "approle-token-2"
    fake.revoke_all()                   # revoked early, server side
    clock.now += 10
    assert client.read("secret/data/workbench", "github_token") == "ghp_from_vault"
    assert fake.logins == 3 and fake.reads[-1][1] == "approle-token-3"
    client.close()


def test_refusals_are_permanent_and_name_the_reference_never_a_value(env: FakeVault) -> None:
    with pytest.raises(SecretError, match=r"configured as vault:secret/data/workbench#nope, "
                       r"but the secret at secret/data/workbench has no field 'nope' "
                       r"\(fields: dd_api, github_token\)"):
        SecretRef.model_validate("vault:secret/data/workbench#nope").resolve()
    with pytest.raises(SecretError, match="Vault has nothing at secret/data/absent"):
        SecretRef.model_validate("vault:secret/data/absent#x").resolve()
    env.revoke_all()
    vault.forget_clients()
    with pytest.raises(SecretError, match=r"Vault refused reading .*: 403 \(permission denied\)"):
        SecretRef.model_validate(GH).resolve()


def test_an_unreachable_or_sealed_vault_is_transient(env: FakeVault,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    env.fail_with = 503
    with pytest.raises(TransientSourceError, match=r"configured as vault:.*Vault answered 503 "
                       r"to reading secret/data/workbench \(Vault is sealed\)"):
        SecretRef.model_validate(GH).resolve()
    monkeypatch.setenv("VAULT_ADDR", "http://127.0.0.1:9")    # discard port: refused
    with pytest.raises(VaultUnavailable, match="cannot be reached"):
        SecretRef.model_validate(GH).resolve()


def test_settings_come_from_the_environment_like_vaults_cli(tmp_path: Path) -> None:
    with pytest.raises(vault.VaultError, match="VAULT_ADDR is unset"):
        VaultSettings.from_env({}, home=tmp_path)
    with pytest.raises(vault.VaultError, match="no Vault credential"):
        VaultSettings.from_env({"VAULT_ADDR": "http://v:8200"}, home=tmp_path)
    (tmp_path / ".vault-token").write_text("cli-token\n")
    settings = VaultSettings.from_env({"VAULT_ADDR": "http://v:8200/", "VAULT_NAMESPACE": "ops"},
                                      home=tmp_path)
    assert (settings.address, settings.token, settings.namespace) == ("http://v:8200",
                                                                      "cli-token", "ops")


def test_config_check_resolves_vault_references(env: FakeVault, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f'[api.receivers]\ngithub_secret = "{GH}"\n'
                    'gitlab_token = "vault:secret/data/workbench#gitlab"\n')
    assert main(["--config", str(path), "config", "check", "--secrets"]) == 1
    out = capsys.readouterr().out
    assert "api.receivers.gitlab_token: configured as vault:secret/data/workbench#gitlab, " \
        "but the secret at secret/data/workbench has no field 'gitlab'" in out
    assert "github_secret" not in out and "ghp_from_vault" not in out
    env.kv2["workbench"]["gitlab"] = "glpat"
    vault.forget_clients()
    assert main(["--config", str(path), "config", "check", "--secrets"]) == 0


async def test_a_connector_polls_with_keys_read_from_vault(env: FakeVault) -> None:
    replay = Replay()           # Datadog's recorded reply, on loopback
    try:
        config = DatadogConfig(name="dd", url=replay.url, delay_seconds=0,
                               api_key="vault:secret/data/workbench#dd_api", app_key=GH,
                               queries=[{"name": "q", "query": "system.cpu.idle{*}",
                                         "metric_type": "saturation"}])
        connector = DatadogConnector(config, httpx.AsyncClient(), clock=lambda: TO)
        batch = await connector.poll(None)
    finally:
        replay.server.shutdown()
        replay.server.server_close()
    [request] = replay.requests
    assert request["headers"]["DD-API-KEY"] == "dd-key"
    assert request["headers"]["DD-APPLICATION-KEY"] == "ghp_from_vault"
    assert batch.cursor is not None
