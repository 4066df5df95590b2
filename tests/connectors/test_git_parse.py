"""Unit tests of the pure git record parser: framing that hostile text cannot break."""

from __future__ import annotations

import pytest

from connectors.errors import PoisonRecordError
from connectors.git.parse import (
    CommitContext,
    ServiceRules,
    decode_record,
    encode_record,
    parse_commit,
    split_records,
)

SHA1 = "a" * 40
SHA2 = "b" * 40


def _header(sha: str, subject: str, body: str = "", parents: str = "") -> list[bytes]:
    return [f"C{sha}".encode(), parents.encode(), b"Ada", b"ada@x", b"2026-01-02T03:04:05+05:30",
            b"Grace", b"g@x", b"2026-01-02T04:00:00-08:00", b"HEAD -> main, tag: v1, origin/main",
            subject.encode(), body.encode()]


def test_split_records_walks_numstat_structure() -> None:
    first = _header(SHA1, "one", "body\n") + [b"\n1\t2\tsrc/a.py", b"-\t-\timg.png"]
    rename = [b"3\t0\t", b"old name", b"C" + SHA2.encode()]  # rename form; new path looks hostile
    second = _header(SHA2, "two") + [b"\n0\t1\tdocs/x.md"]
    stream = b"\0".join(first + rename + second) + b"\0"
    records = split_records(stream)
    assert [r[0] for r in records] == [b"C" + SHA1.encode(), b"C" + SHA2.encode()]
    assert records[0][11:] == [b"\n1\t2\tsrc/a.py", b"-\t-\timg.png", *rename]


def test_hostile_message_is_data() -> None:
    subject = "evil \x1e\x1f C" + SHA2 + " \t1\t2\tx"
    body = "\n\n2\t3\tfake.py\n\x1b]0;title\x07"
    record = _header(SHA1, subject, body) + [b"\n1\t0\treal.py"]
    records = split_records(b"\0".join(record) + b"\0")
    assert len(records) == 1
    event = parse_commit(records[0], CommitContext(repository="/r"))
    assert event.title == subject.strip()
    assert event.body == body
    assert [f["path"] for f in event.attributes["files"]] == ["real.py"]


def test_commit_fields_and_time_zones() -> None:
    record = _header(SHA1, "fix: thing", parents=f"{SHA2} {'c' * 40}") + [
        b"\n10\t2\tservices/pay/a.py", b"-\t-\tservices/pay/logo.png", b"1\t1\tREADME.md"]
    rules = ServiceRules.from_globs({"docs": ["*.md"], "payments": ["services/pay/*"]})
    event = parse_commit(record, CommitContext(repository="/r", services=rules,
                                               environment="prod", max_paths=2))
    assert event.commit_sha == SHA1 and event.dedup_key == SHA1
    assert event.occurred_at.isoformat() == "2026-01-02T12:00:00+00:00"
    assert event.attributes["author"]["tz"] == "+05:30"
    assert event.attributes["committer"]["tz"] == "-08:00"
    assert event.attributes["merge"] is True and event.tags == ("merge",)
    assert event.attributes["refs"] == ["main", "origin/main"]
    assert event.attributes["git_tags"] == ["v1"]
    assert event.service == "payments" and event.attributes["services"] == ["payments", "docs"]
    assert event.attributes["files_changed"] == 3 and event.attributes["files_truncated"]
    assert event.attributes["lines_added"] == 11 and event.attributes["lines_deleted"] == 3
    assert event.environment == "prod"


@pytest.mark.parametrize("record", [
    [b"Cnot-a-sha"] + [b""] * 10,
    _header(SHA1, "x")[:5],
    [*_header(SHA1, "x")[:4], b"yesterday", *_header(SHA1, "x")[5:]],
])
def test_malformed_records_are_poison(record: list[bytes]) -> None:
    with pytest.raises(PoisonRecordError) as caught:
        parse_commit(record, CommitContext(repository="/r"))
    repository, tokens = decode_record(caught.value.payload)
    assert repository == "/r" and tokens == record


def test_record_round_trip() -> None:
    record = _header(SHA1, "s") + [b"\n1\t1\ta"]
    assert decode_record(encode_record("/repo path", record)) == ("/repo path", record)
    with pytest.raises(PoisonRecordError):
        decode_record(b"something else")
