"""The config file: validation with key paths, secrets by reference, init/check/show."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.secrets import SecretError, SecretRef, redact, secret_from
from workbench.cli.config_cmd import SAMPLE
from workbench.cli.main import main
from workbench.config import ConfigError, load_config, parse_config, redacted

ROOT = Path(__file__).resolve().parents[2]


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    return info.value.problems


def test_empty_file_is_all_defaults() -> None:
    config = parse_config("")
    assert config.connectors == [] and config.api.port == 8765 and config.store.url is None


def test_every_problem_has_its_key_path() -> None:
    text = """
[api]
port = 99999
colour = "red"

[[connectors]]
kind = "git"
name = "repo"
repositories = ["/srv/repo"]

[[connectors]]
kind = "logs"
name = "logs"
interval_seconds = -1

[[connectors]]
kind = "nope"
name = "x"

[[connectors]]
name = "nokind"

[[connectors]]
kind = "git"
name = "repo"
repositories = ["/srv/other"]
retry = { max_attempts = 0 }
"""
    found = problems(text)
    assert "api.port: input should be less than or equal to 65535" in found
    assert "api.colour: unknown key" in found
    assert "connectors[1].paths: field required" in found
    assert "connectors[1].interval_seconds: input should be greater than 0" in found
    assert any(p.startswith("connectors[2].kind: unknown connector kind 'nope'") for p in found)
    assert any(p.startswith("connectors[3].kind: field required") for p in found)
    assert "connectors[4].retry.max_attempts: input should be greater than or equal to 1" \
        in found
    assert len(found) == 7, found


def test_duplicate_and_reserved_names() -> None:
    repo = 'kind = "git"\nrepositories = ["/r"]\n'
    found = problems(f'[[connectors]]\nname = "a"\n{repo}[[connectors]]\nname = "a"\n{repo}'
                     f'[[connectors]]\nname = "import"\n{repo}')
    assert found == ["connectors[1].name: duplicate name 'a' (also connectors[0])",
                     "connectors[2].name: 'import' is reserved for bulk import"]


def test_toml_syntax_error_is_one_clear_problem() -> None:
    found = problems("[api\nport = 1")
    assert len(found) == 1 and found[0].startswith("not valid TOML:")


def test_the_sample_and_its_commented_examples_are_valid() -> None:
    assert parse_config(SAMPLE).connectors == []
    uncommented = re.sub(r"^# (\[\[connectors\]\]|\[connectors\.|[a-z_]+ = )", r"\1", SAMPLE,
                         flags=re.M)
    config = parse_config(uncommented)
    assert [c.kind for c in config.connectors] == ["git", "logs", "datadog_traces",
                                                  "newrelic_traces"]
    assert config.connectors[3].retry.max_attempts == 4


def test_secret_refs_resolve_at_use_and_never_print(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WB_TEST_TOKEN", "s3cr3t-value")
    ref = SecretRef.model_validate("env:WB_TEST_TOKEN")
    assert ref.resolve() == "s3cr3t-value"
    assert "s3cr3t" not in repr(ref) + str(ref) + ref.model_dump_json()
    secret_file = tmp_path / "tok"
    secret_file.write_text("from-file\nignored\n")
    from_file = secret_from(None, secret_file)
    assert from_file is not None and from_file.resolve() == "from-file"
    assert secret_from(None, None) is None
    with pytest.raises(SecretError,
                       match="configured as env:WB_UNSET_VAR, but WB_UNSET_VAR is unset"):
        SecretRef(env="WB_UNSET_VAR").resolve()
    with pytest.raises(ValueError, match="never the secret itself"):
        SecretRef.model_validate("ghp_abcdef")
    with pytest.raises(ValueError, match="exactly one"):
        SecretRef(env="A", file=Path("/b"))


def test_redaction_masks_inline_secrets_and_url_passwords() -> None:
    assert redact({"token": "abc", "token_env": "GH", "api_key": "k", "nested": [
        {"password": "p", "user": "u"}]}) == {
        "token": "***", "token_env": "GH", "api_key": "***",
        "nested": [{"password": "***", "user": "u"}]}
    config = parse_config('[store]\nurl = "postgresql://wb:hunter2@db/wb"\n')
    shown = redacted(config)
    assert "hunter2" not in str(shown) and shown["store"]["url"].startswith("postgresql://wb:")


def test_config_path_from_option_and_environment(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / "env.toml"
    env_file.write_text("[api]\nport = 1111\n")
    monkeypatch.setenv("WORKBENCH_CONFIG", str(env_file))
    assert load_config().api.port == 1111
    option_file = tmp_path / "opt.toml"
    option_file.write_text("[api]\nport = 2222\n")
    assert load_config(option_file).api.port == 2222
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "missing.toml")


def test_init_check_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "sub" / "config.toml"
    assert main(["--config", str(path), "config", "init"]) == 0
    assert path.stat().st_mode & 0o777 == 0o600
    assert main(["--config", str(path), "config", "init"]) == 2  # refuses to overwrite
    assert "exists; use --force" in capsys.readouterr().err
    assert main(["--config", str(path), "config", "init", "--force"]) == 0
    assert main(["--config", str(path), "config", "check"]) == 0
    assert "ok, 0 connector(s)" in capsys.readouterr().out
    path.write_text('[[connectors]]\nkind = "logs"\nname = "l"\n\n[tui]\nkeymap = 3\n')
    assert main(["--config", str(path), "config", "check"]) == 1
    out = capsys.readouterr().out
    assert "2 problem(s)" in out and "connectors[0].paths: field required" in out
    assert "tui.keymap: input should be a valid dictionary" in out


def test_check_secrets_and_show_never_print_values(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A config naming secrets: `show` prints references, never what they resolve to."""
    monkeypatch.setenv("WB_PG_PASSWORD_TEST", "topsecret")
    path = tmp_path / "c.toml"
    path.write_text('[store]\nurl = "postgresql://wb:topsecret@db/wb"\n')
    result = subprocess.run([sys.executable, "-m", "workbench", "--config", str(path),
                             "config", "show"], cwd=ROOT, capture_output=True, text=True,
                            check=True)
    assert "topsecret" not in result.stdout + result.stderr
    assert '"url": "postgresql://wb:***@db/wb"' in result.stdout


GITHUB = '[[connectors]]\nkind = "github_actions"\nname = "ci"\nrepository = "acme/app"\n'


def test_secret_written_inline_is_refused_without_echoing_it() -> None:
    found = problems(GITHUB + 'token = "ghp_live_value_123"\n')
    assert len(found) == 1 and found[0].startswith("connectors[0].token: ")
    assert "never the secret itself" in found[0] and "ghp_live" not in found[0]


def test_check_secrets_resolves_references(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.toml"
    path.write_text(GITHUB + 'token = { env = "WB_TEST_GH_TOKEN" }\n')
    monkeypatch.delenv("WB_TEST_GH_TOKEN", raising=False)
    assert main(["--config", str(path), "config", "check"]) == 0  # syntax only
    assert main(["--config", str(path), "config", "check", "--secrets"]) == 1
    assert "connectors[0].token: configured as env:WB_TEST_GH_TOKEN, " \
        "but WB_TEST_GH_TOKEN is unset" in capsys.readouterr().out
    monkeypatch.setenv("WB_TEST_GH_TOKEN", "ghp_resolved_value")
    assert main(["--config", str(path), "config", "check", "--secrets"]) == 0
    assert main(["--config", str(path), "config", "show"]) == 0
    out = capsys.readouterr().out
    assert "ghp_resolved_value" not in out and '"env": "WB_TEST_GH_TOKEN"' in out


def test_check_secrets_covers_api_receivers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[api.receivers]\ngitlab_token = "env:WB_TEST_GL_HOOK"\n'
                    f'github_secret = "file:{tmp_path / "absent"}"\n')
    monkeypatch.delenv("WB_TEST_GL_HOOK", raising=False)
    assert main(["--config", str(path), "config", "check", "--secrets"]) == 1
    out = capsys.readouterr().out
    assert "api.receivers.gitlab_token: configured as env:WB_TEST_GL_HOOK, but " \
        "WB_TEST_GL_HOOK is unset" in out
    assert f"api.receivers.github_secret: configured as file:{tmp_path / 'absent'}, " \
        f"but {tmp_path / 'absent'} cannot be read: No such file or directory" in out
    monkeypatch.setenv("WB_TEST_GL_HOOK", "value")
    (tmp_path / "absent").write_text("s3cret\n")
    assert main(["--config", str(path), "config", "check", "--secrets"]) == 0
    assert "s3cret" not in capsys.readouterr().out
