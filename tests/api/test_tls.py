"""Optional TLS: ``[api] tls_cert``/``tls_key`` serve the API over real HTTPS on loopback.

The certificate is made in the test (self-signed, for 127.0.0.1) with the openssl
command; the client trusts exactly it. Bad paths or a mismatched pair are config
errors naming the key, not a traceback when the server starts.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

from storage import Store
from tests.api.conftest import note, start_api, stop_api
from workbench.config import ConfigError, parse_config
from workbench.settings.api import ApiSettings

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def _self_signed(directory: Path, name: str = "api") -> tuple[Path, Path]:
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def test_api_over_https_on_loopback(store: Store, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    running = start_api(store, ApiSettings(port=0, tls_cert=cert, tls_key=key))
    try:
        assert running.url.startswith("https://127.0.0.1:")
        trust = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(base_url=running.url, verify=trust, timeout=30,
                          headers={"Authorization": f"Bearer {running.tokens['admin']}"}
                          ) as client:
            posted = client.post("/api/events", json=note("over tls"))
            assert posted.status_code == 200, posted.text
            page = client.get("/api/events").json()
            assert [e["title"] for e in page["items"]] == ["over tls"]
        with pytest.raises(httpx.ConnectError):  # a client that does not trust it
            httpx.get(running.url + "/healthz", timeout=10)
        plain = "http://" + running.url.removeprefix("https://")
        with pytest.raises(httpx.HTTPError):  # no plain HTTP on the TLS port
            httpx.get(plain + "/healthz", timeout=10)
    finally:
        stop_api(running)


def test_bad_tls_settings_are_config_errors(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    other_cert, _ = _self_signed(tmp_path, "other")
    cases = {
        f'tls_cert = "{tmp_path / "missing.crt"}"\ntls_key = "{key}"': "api.tls_cert: ",
        f'tls_cert = "{cert}"': "tls_cert and tls_key go together",
        f'tls_cert = "{other_cert}"\ntls_key = "{key}"': "cannot be loaded",
        f'tls_cert = "{tmp_path}"\ntls_key = "{key}"': "no such file",
    }
    for table, expected in cases.items():
        with pytest.raises(ConfigError) as caught:
            parse_config(f"[api]\n{table}\n")
        assert expected in str(caught.value), (table, str(caught.value))
    config = parse_config(f'[api]\ntls_cert = "{cert}"\ntls_key = "{key}"\n')
    assert config.api.tls_options() == {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
