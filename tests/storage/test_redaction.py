"""Redaction at ingest: a corpus of real-looking secrets and personal data, the store
on both engines, the config, the CLI and ``/metrics``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from storage import Store
from storage.models import NewDeadLetter, Source
from storage.queries import EventQuery
from storage.redaction import BUILTIN, Policy, scan
from tests.storage.conftest import new_event
from workbench.config import ConfigError, parse_config

ROOT = Path(__file__).resolve().parents[2]

# (input, expected output): documented example credentials (AWS's AKIAIOSFODNN7EXAMPLE,
# the card networks' test numbers) and tokens in each vendor's published format.
CORPUS = [
    ("GET /api with Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_abcdef12",
     "GET /api with Authorization: Bearer [redacted:authorization]"),
    ('{"headers": {"Authorization": "Basic dXNlcjpwYXNzd29yZA=="}}',
     '{"headers": {"Authorization": "Basic [redacted:authorization]"}}'),
    ("retrying with bearer 9f8e7d6c5b4a39281706", "retrying with bearer [redacted:bearer]"),
    ("aws key AKIAIOSFODNN7EXAMPLE rejected", "aws key [redacted:aws_key] rejected"),
    ("token=ghp_16C7e42F292c6912E7710c838347Ae178B4a used",
     "token=[redacted:github_token] used"),
    ("GITLAB_TOKEN=glpat-xxxxXXXXxxxx1234yyyy ok", "GITLAB_TOKEN=[redacted:gitlab_token] ok"),
    ("slack: xoxb-1234567890-0987654321-AbCdEfGhIjKl", "slack: [redacted:slack_token]"),
    ("maps key AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe", "maps key [redacted:google_api_key]"),
    ("charge failed with sk_live_4eC39HqLyjWDarjtT1zdp7dc",
     "charge failed with [redacted:stripe_key]"),
    ("session eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.SflKxwRJSMeKKF2QT4fwpM",
     "session [redacted:jwt]"),
    ("connecting to postgres://app:s3cr3t-pw@db.internal:5432/orders",
     "connecting to postgres://app:[redacted:url_password]@db.internal:5432/orders"),
    ("mail to jane.doe+ops@example.co.uk bounced", "mail to [redacted:email] bounced"),
    ("card 4111 1111 1111 1111 declined", "card [redacted:card_number] declined"),
    ("card 5500-0000-0000-0004 and 378282246310005",
     "card [redacted:card_number] and [redacted:card_number]"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY----- loaded",
     "[redacted:private_key] loaded"),
]

# Near misses that must stay: Luhn-invalid, epoch ms, block ids, ssh remotes, short words.
KEPT = [
    "card 4111 1111 1111 1112 declined",
    '{"time":1745532517537,"level":"info"}',
    "Served block blk_8466246428293623262 to /10.251.43.115",
    "cloned git@github.com:Codertocat/Hello-World.git",
    "span 6252933144469107600 of trace 2283986807028514392",
    "bearer ok",
    "user@localhost logged in",
]


@pytest.mark.parametrize(("raw", "expected"), CORPUS)
def test_each_detector_replaces_only_the_secret(raw: str, expected: str) -> None:
    hits: Counter[str] = Counter()
    assert Policy().for_source("logs").text(raw, hits) == expected
    assert sum(hits.values()) == expected.count("[redacted:")


@pytest.mark.parametrize("raw", KEPT)
def test_near_misses_are_kept(raw: str) -> None:
    hits: Counter[str] = Counter()
    assert Policy().for_source("logs").text(raw, hits) == raw and not hits


def test_false_positives_on_the_field_data_are_listed() -> None:
    """Every match in tests/field (public logs, webhooks, traces): what fires, and
    that nothing but e-mail addresses and one planted card number does."""
    lines = [line for path in sorted((ROOT / "tests" / "field").rglob("*"))
             if path.is_file() and path.suffix not in (".py", ".md")
             for line in path.read_text(errors="replace").splitlines()]
    assert len(lines) > 3000
    hits = scan(Policy(), lines)
    # 28 e-mail addresses are commit authors and pushers in GitHub's webhook samples
    # (personal data: redacted by design); the card is lnav's pino sample's
    # "creditCardNumber":"4929-6495-8333-3657" (a true positive).
    assert set(hits) <= {"email", "card_number"}
    assert hits["card_number"] == 1


def test_per_source_detectors_and_custom_patterns() -> None:
    policy = Policy(default=("email",), sources={"ci": (), "app-logs": ("ticket",)},
                    custom={"ticket": r"\bACME-\d{6}\b"})
    line = "jane@example.com opened ACME-123456"
    events = [new_event(0, title=line), new_event(1, title=line, source=Source.CI)]
    redacted, _ = policy.apply(events, [], connector=None)
    assert [e.title for e in redacted] == ["[redacted:email] opened ACME-123456", line]
    redacted, _ = policy.apply(events[:1], [], connector="app-logs")
    assert redacted[0].title == "jane@example.com opened [redacted:ticket]"
    with pytest.raises(ValueError, match="unknown detector"):
        Policy(default=("emial",))
    with pytest.raises(ValueError, match="not a regular expression"):
        Policy(custom={"bad": "("})


SECRETS = ["AKIAIOSFODNN7EXAMPLE", "s3cr3t-pw", "jane.doe+ops@example.co.uk",
           "4111 1111 1111 1111", "ghp_16C7e42F292c6912E7710c838347Ae178B4a"]


@pytest.fixture
def private_store(store_url: str) -> Iterator[Store]:
    opened = Store.open(store_url, redaction=Policy())
    yield opened
    opened.close()


def test_nothing_planted_reaches_rows_fts_or_the_dlq(private_store: Store) -> None:
    line = ("login failed for jane.doe+ops@example.co.uk from postgres://app:s3cr3t-pw@db "
            "key AKIAIOSFODNN7EXAMPLE card 4111 1111 1111 1111")
    event = new_event(0, title=line, body=line, tags=["ghp_16C7e42F292c6912E7710c838347Ae178B4a"],
                      attributes={"request": {"headers": [line]}, "n": 3})
    letter = NewDeadLetter(connector="app-logs", payload=json.dumps({"msg": line}).encode(),
                           error_class="ValueError", message=f"bad line: {line}")
    result = private_store.ingest([event], dead_letters_=[letter], connector="app-logs")
    assert result.stored == 1 and result.dead_lettered == 1
    with private_store.read() as session:
        dumped = " ".join(str(row) for table in ("event", "event_tag", "dead_letter")
                          for row in session.execute(text(f"SELECT * FROM {table}")))
    for secret in SECRETS:
        assert secret not in dumped
        assert not private_store.list_events(EventQuery(text=secret.split()[0])).items
    [stored] = private_store.list_events(EventQuery()).items
    assert "[redacted:email]" in stored.title and stored.attributes["n"] == 3
    [dead] = private_store.list_dead_letters().items
    assert json.loads(dead.payload)["msg"].count("[redacted:") == 4, "JSON stays JSON"


def test_the_config_table(tmp_path: Path) -> None:
    config = parse_config('[redaction]\ndetectors = ["email"]\n'
                          '[redaction.sources]\ngit = []\n'
                          '[redaction.custom]\nticket = "ACME-[0-9]+"\n')
    policy = config.redaction.policy()
    assert policy is not None and policy.default == ("email",)
    assert parse_config("[redaction]\nenabled = false\n").redaction.policy() is None
    assert parse_config("").redaction.policy() == Policy(default=tuple(BUILTIN))
    with pytest.raises(ConfigError, match="redaction: .*unknown detector"):
        parse_config('[redaction]\ndetectors = ["emial"]\n')


def test_workbench_ingest_redacts_and_metrics_count(tmp_path: Path) -> None:
    """The CLI opens its store with the configured policy (here: the default)."""
    lines = [json.dumps({"source": "logs", "kind": "log", "severity": "high",
                         "occurred_at": "2026-11-28T10:00:00Z", "dedup_key": f"l{n}",
                         "title": f"payment for jane.doe+ops@example.co.uk failed ({n})"})
             for n in range(3)]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n{broken AKIAIOSFODNN7EXAMPLE\n")
    (tmp_path / "config.toml").write_text("")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "workbench", "--db", str(tmp_path / "wb.db"),
                           "--config", str(tmp_path / "config.toml"), "ingest",
                           str(tmp_path / "in.jsonl")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    store = Store.open(tmp_path / "wb.db")
    try:
        titles = [e.title for e in store.list_events(EventQuery()).items]
        letters = store.list_dead_letters().items
    finally:
        store.close()
    assert len(titles) == 3 and all("[redacted:email]" in t for t in titles)
    assert letters and all(b"AKIAIOSFODNN7EXAMPLE" not in d.payload for d in letters)


def test_metrics_export_redaction_counts() -> None:
    from workbench.api.metrics import ApiMetrics

    Policy().apply([new_event(0, title="to jane@example.com")], [], connector=None)
    rendered = ApiMetrics().render().decode()
    assert 'workbench_redactions_total{detector="card_number"}' in rendered
    count = next(line for line in rendered.splitlines()
                 if line.startswith('workbench_redactions_total{detector="email"}'))
    assert float(count.split()[-1]) >= 1


def test_the_trigger_prefilter_never_hides_a_match() -> None:
    """An event is passed whole when no detector's trigger occurs in it: over the
    corpus and every line of the field data, the fast path redacts exactly what a
    full scan of each field does."""
    redactor = Policy().for_source("logs")
    lines = [raw for raw, _ in CORPUS] + KEPT + [
        "Amex 3782 822463 10005", "Diners 3056 9309 0259 04"] + [
        line for path in sorted((ROOT / "tests" / "field").rglob("*"))
        if path.is_file() and path.suffix not in (".py", ".md")
        for line in path.read_text(errors="replace").splitlines()]
    checked = 0
    for line in (line for line in lines if 0 < len(line) <= 2_000):
        slow: Counter[str] = Counter()
        expected = redactor.text(line, slow)
        fast: Counter[str] = Counter()
        event = redactor.event(new_event(0, title=line, attributes={"a": [line]}), fast)
        assert event.title == expected and event.attributes["a"] == [expected], line
        assert fast == slow + slow
        checked += 1
    assert checked > 3000
