"""Public log samples (loghub, lnav; see SOURCE) through the real log connector.

Each sample is copied to a real file and read by ``LogsConnector.poll_sync`` with
the configuration a user of that format would write. Expected values were worked
out by hand from the raw lines: the UTC time (local time minus the offset the line
names; syslog's missing year from the read time), the severity the level names,
the service and host. Severity counts come from grepping the raw files for the
level words, not from the parser.
"""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.base import Batch
from connectors.logs import LogsConfig, LogsConnector
from connectors.supervisor import Supervisor
from storage import Store
from storage.models import EventKind, NewEvent

HERE = Path(__file__).parent
READ_AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
"""When the issue's report was written: OpenSSH's "Dec 10" then went to the DLQ."""
GLOG = (r"^(?P<level>[IWEF])(?P<ts>\d{4} \d\d:\d\d:\d\d\.\d+)\s+(?P<thread>\d+) "
        r"(?P<source>[^\]]+)\] (?P<message>.*)$")

# index -> (UTC time, severity, service, host, title)
Expected = dict[int, tuple[str, str, str | None, str | None, str]]


@dataclass(frozen=True)
class Sample:
    file: str
    config: dict[str, Any]
    count: int
    severities: dict[str, int]
    zone: str
    assumed: bool
    events: Expected = field(default_factory=dict)


SAMPLES = [
    Sample("loghub_openssh.log", {"format": "plain"}, 30, {"info": 30}, "UTC", True, {
        0: ("2025-12-10T06:55:46+00:00", "info", "sshd", "LabSZ",
            "LabSZ sshd[24200]: reverse mapping checking getaddrinfo for ns.marryaldkfaczcz.com "
            "[173.234.31.186] failed - POSSIBLE BREAK-IN ATTEMPT!"),
        29: ("2025-12-10T07:13:56+00:00", "info", "sshd", "LabSZ",
             "LabSZ sshd[24227]: message repeated 5 times: [ Failed password for root from "
             "5.36.59.76 port 42393 ssh2]")}),
    # logrotate writes "ALERT exited abnormally": the one level word in the file.
    Sample("loghub_linux.log", {"format": "plain"}, 30, {"info": 29, "critical": 1}, "UTC",
           True, {
        0: ("2026-06-14T15:16:01+00:00", "info", "sshd(pam_unix)", "combo",
            "combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 "
            "tty=NODEVssh ruser= rhost=218.188.2.4"),
        15: ("2026-06-15T04:06:20+00:00", "critical", "logrotate", "combo",
             "combo logrotate: ALERT exited abnormally with [1]"),
        29: ("2026-06-15T12:12:34+00:00", "info", "sshd(pam_unix)", "combo",
             "combo sshd(pam_unix)[23394]: check pass; user unknown")}),
    Sample("loghub_mac.log", {"format": "plain"}, 20, {"info": 20}, "UTC", True, {
        19: ("2026-07-01T09:22:25+00:00", "info", "kernel", "calvisitor-10-105-160-95",
             "calvisitor-10-105-160-95 kernel[0]: IO80211AWDLPeerManager::setAwdlAutoMode "
             "Resuming AWDL")}),
    Sample("loghub_zookeeper.log", {"format": "plain"}, 30, {"info": 6, "medium": 24}, "UTC",
           True, {
        0: ("2015-07-29T17:41:44.747000+00:00", "info", None, None,
            "- INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - "
            "Notification time out: 3200"),
        29: ("2015-07-29T19:16:07.659000+00:00", "medium", None, None,
             "- WARN  [RecvWorker:188978561024:QuorumCnxManager$RecvWorker@765] - "
             "Interrupting SendWorker")}),
    Sample("loghub_spark.log", {"format": "plain", "time_format": "%y/%m/%d %H:%M:%S"}, 30,
           {"info": 30}, "UTC", True, {
        0: ("2017-06-09T20:10:40+00:00", "info", None, None,
            "executor.CoarseGrainedExecutorBackend: Registered signal handlers for "
            "[TERM, HUP, INT]"),
        29: ("2017-06-09T20:10:45+00:00", "info", None, None,
             "executor.Executor: Running task 4.0 in stage 0.0 (TID 4)")}),
    Sample("loghub_hdfs.log", {"format": "plain", "time_format": "%y%m%d %H%M%S",
                               "timezone": "America/Los_Angeles"}, 31,
           {"info": 13, "medium": 18}, "America/Los_Angeles", True, {
        # 2008-11-09 is PST (UTC-8): 21:34:36 local is 05:34:36 the next day in UTC.
        0: ("2008-11-10T05:34:36+00:00", "info", None, None,
            "13 INFO dfs.DataBlockScanner: Verification succeeded for blk_-2827716238972737794"),
        30: ("2008-11-10T06:42:34+00:00", "medium", None, None,
             "3638 WARN dfs.DataNode$DataXceiver: 10.251.73.220:50010:Got exception while "
             "serving blk_4934527196392001803 to /10.251.203.246:")}),
    Sample("loghub_apache.log", {"format": "plain"}, 30, {"low": 22, "high": 8}, "UTC", True, {
        0: ("2005-12-04T04:47:44+00:00", "low", None, None,
            "workerEnv.init() ok /etc/httpd/conf/workers2.properties"),
        1: ("2005-12-04T04:47:44+00:00", "high", None, None,
            "mod_jk child workerEnv in error state 6")}),
    Sample("loghub_hadoop.log", {"format": "plain"}, 21, {"info": 20, "high": 1}, "UTC", True, {
        8: ("2015-10-18T18:04:11.034000+00:00", "high", None, None,
            "[RMCommunicator Allocator] org.apache.hadoop.mapreduce.v2.app.rm."
            "RMContainerAllocator: Container complete event for unknown container id "
            "container_1445144423722_0020_01_000012")}),
    Sample("lnav_postgres_pdt.log", {"format": "plain"}, 21, {"info": 20, "high": 1}, "PDT",
           False, {
        # PDT is UTC-7: 01:45:01.123 PDT is 08:45:01.123 UTC.
        0: ("2025-08-13T08:45:01.123000+00:00", "info", None, None,
            "[12345] LOG:  starting PostgreSQL 15.4 on x86_64-pc-linux-gnu, compiled by gcc "
            "(Debian 12.2.0-14) 12.2.0, 64-bit"),
        9: ("2025-08-13T08:46:12.212000+00:00", "high", None, None,
            '[12389] ERROR:  relation "nonexistent_table" does not exist at character 15'),
        20: ("2025-08-13T08:50:02.010000+00:00", "info", None, None,
             "[12347] LOG:  database system is shut down")}),
    Sample("lnav_postgres_cest.log", {"format": "plain"}, 8, {"info": 6, "high": 2}, "CEST",
           False, {
        # CEST is UTC+2.
        0: ("2025-08-16T11:02:58.095000+00:00", "high", None, None,
            "[885178] ERROR:  invalid input syntax for type json at character 61")}),
    Sample("lnav_zap_console.log", {"format": "plain"}, 3, {"info": 2, "high": 1}, "UTC", False, {
        1: ("2025-04-24T22:09:20.856000+00:00", "high", None, None,
            'internal/queue_sender.go:128\tExporting failed. Dropping data.\t{"otelcol.component'
            '.id": "otlphttp/prometheus", "otelcol.component.kind": "Exporter", "otelcol.signal"'
            ': "metrics", "error": "not retryable error: Permanent error: rpc error: code = '
            'Unknown desc = error exporting items, request to http://prometheus:9090/api/v1/otlp'
            '/v1/metrics responded with HTTP Status Code 500", "dropped_items": 60}')}),
    Sample("lnav_java.log", {"format": "plain"}, 20, {"info": 20}, "UTC", True, {
        19: ("2025-01-24T07:05:38.884000+00:00", "info", None, None,
             "[rm-thread-pool1-thread-18] ActivatorIorPool         : Loaded activators from "
             "/objroot/iorroot/activators.")}),
    Sample("lnav_bunyan.log", {"format": "jsonl"}, 10, {"info": 10}, "UTC", False, {
        0: ("2023-03-24T14:26:16.243000+00:00", "info", "renovate",
            "renovate-gitlab-67c4bcb5-9ggbv", "Found gitlabci-include package files")}),
    Sample("lnav_pino.log", {"format": "jsonl"}, 1, {"info": 1}, "UTC", False, {
        # 1745532517537 ms: 1745532517 s is 2025-04-24T22:08:37Z.
        0: ("2025-04-24T22:08:37.537000+00:00", "info", "payment", "7d82d3f28bad",
            "Charge request received.")}),
    Sample("lnav_logfmt.log", {"format": "logfmt"}, 5, {"high": 2, "medium": 1, "info": 2},
           "UTC", False, {
        1: ("2021-09-15T21:17:11.674149+00:00", "medium", None, None,
            "Failed to DeletePod in the provider")}),
    Sample("lnav_journald.json", {"format": "journald"}, 2, {"critical": 1, "info": 1}, "UTC",
           False, {
        # __REALTIME_TIMESTAMP 1534860261221373 us; PRIORITY 1 (alert) and 6 (info).
        0: ("2018-08-21T14:04:21.221373+00:00", "critical", "python", "imx6ul-medusa",
            "GPS Reference longitude: 7.358143333"),
        1: ("2018-08-21T14:04:21.221373+00:00", "info", "python", "imx6ul-medusa",
            "GPS Reference latitude: 46.908706667")}),
    # MongoDB 4.4+ structured log: the time in Extended JSON ({"$date": ...}) sent every
    # line to the DLQ; the level is the one-letter "s". The third line has no newline
    # yet, so a tailing reader holds it (see test_mongodb_levels_line_by_line).
    Sample("lnav_mongodb.log", {"format": "jsonl"}, 2, {"info": 2}, "UTC", False, {
        0: ("2026-03-10T20:58:09.401000+00:00", "info", None, None, "Connection accepted"),
        1: ("2026-03-10T20:58:09.525000+00:00", "info", None, None, "Slow query")}),
    # MySQL 8 error log: thread id between the time and a bracketed [Note]/[Warning].
    Sample("lnav_mysql_error.log", {"format": "plain"}, 4, {"info": 3, "medium": 1}, "UTC",
           False, {
        1: ("2020-08-06T14:25:02.936146+00:00", "medium", None, None,
            "0 [Warning] [MY-010068] [Server] CA certificate /var/mysql/sslinfo/cacert.pem is "
            "self signed.")}),
    Sample("lnav_glog.log", {"format": "regex", "pattern": GLOG,
                             "time_format": "%m%d %H:%M:%S.%f"}, 7,
           {"high": 2, "info": 4, "medium": 1}, "UTC", True, {
        0: ("2026-05-17T15:04:22.619632+00:00", "high", None, None, "Log every 3, iteration 19"),
        3: ("2026-05-17T15:04:22.619751+00:00", "medium", None, None, "log_if this")}),
]


def read(sample: Sample, tmp_path: Path, at: datetime = READ_AT, **extra: Any) -> Batch:
    target = tmp_path / sample.file
    if not target.exists():
        shutil.copy(HERE / sample.file, target)
    config = LogsConfig(name="field", paths=[str(target)], rotate_wait_seconds=0,
                        multiline_flush_seconds=0, **{**sample.config, **extra})
    return LogsConnector(config, clock=lambda: at).poll_sync(None)


def summary(event: NewEvent) -> tuple[str, str, str | None, str | None, str]:
    return (event.occurred_at.isoformat(), event.severity.value, event.service, event.host,
            event.title)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.file)
def test_sample_gives_the_expected_events(sample: Sample, tmp_path: Path) -> None:
    batch = read(sample, tmp_path)
    assert [d.message for d in batch.dead_letters] == []
    events = list(batch.events)
    assert len(events) == sample.count and batch.unmatched == 0
    for index, expected in sample.events.items():
        assert summary(events[index]) == expected, index
    assert Counter(e.severity.value for e in events) == sample.severities
    assert {e.kind for e in events} == {EventKind.LOG}
    assert {e.attributes["timestamp_zone"] for e in events} == {sample.zone}
    assumed = {e.attributes.get("timestamp_zone_assumed") for e in events}
    assert assumed == ({sample.zone} if sample.assumed else {None})
    assert [e.occurred_at for e in events] == sorted(e.occurred_at for e in events) \
        or sample.file == "lnav_java.log"


def test_every_sample_is_stored_once_however_often_it_is_read(store: Store,
                                                              tmp_path: Path) -> None:
    for sample in SAMPLES:
        first, again = read(sample, tmp_path), read(sample, tmp_path)
        assert [e.dedup_key for e in first.events] == [e.dedup_key for e in again.events]
        assert store.ingest(first.events).stored == sample.count
        assert store.ingest(again.events).stored == 0, sample.file


def test_syslog_december_read_in_january_is_last_year(tmp_path: Path) -> None:
    """Issue 9 item 1: read on 1 December the whole file went to the DLQ as future;
    read on 5 January it belongs to the December just past, not 11 months ahead."""
    openssh = SAMPLES[0]
    january = read(openssh, tmp_path, at=datetime(2027, 1, 5, 3, 0, tzinfo=UTC))
    assert january.events[0].occurred_at == datetime(2026, 12, 10, 6, 55, 46, tzinfo=UTC)
    same_day = read(openssh, tmp_path, at=datetime(2026, 12, 10, 7, 0, tzinfo=UTC))
    assert same_day.events[0].occurred_at.year == 2026  # 06:55 is before 07:00: this year
    assert same_day.events[-1].occurred_at.year == 2026  # 07:13 is in the slack (clock skew)


def test_unmatched_lines_are_stored_unparsed_or_dead_lettered_and_counted(
        tmp_path: Path) -> None:
    """glog lines do not fit the plain pattern: each is kept, and counted, both ways."""
    glog = next(s for s in SAMPLES if s.file == "lnav_glog.log")
    plain: dict[str, Any] = {"format": "plain", "pattern": None, "time_format": None,
                             "multiline": False}
    stored = read(glog, tmp_path, **plain)
    assert stored.unmatched == 7 and len(stored.events) == 7
    assert all(e.attributes["unparsed"] and e.attributes["timestamp_missing"]
               for e in stored.events)
    assert stored.events[0].title.startswith("E0517 15:04:22.619632")
    dead = read(glog, tmp_path, on_unmatched="dlq", **plain)
    assert dead.unmatched == 7 and dead.events == []
    assert {d.error_class for d in dead.dead_letters} == {"Unmatched"}


@pytest.mark.parametrize(("choice", "stored", "dead"), [("store", 7, 0), ("dlq", 0, 7)])
async def test_health_counts_unmatched_lines_either_way(sqlite_store: Store, tmp_path: Path,
                                                        choice: str, stored: int,
                                                        dead: int) -> None:
    shutil.copy(HERE / "lnav_glog.log", tmp_path / "glog.log")
    config = LogsConfig(name="glog", paths=[str(tmp_path / "glog.log")], format="plain",
                        multiline=False, on_unmatched=choice)
    sup = Supervisor(sqlite_store, [(LogsConnector(config), config)], persist_health=False)
    summary = (await sup.sync())["glog"]
    health = sup.health.get("glog")
    assert (summary.stored, summary.dead_lettered) == (stored, dead)
    assert (health.unmatched, health.stored, health.dead_lettered) == (7, stored, dead)


def test_mongodb_levels_line_by_line() -> None:
    """Every line of the MongoDB sample, the unterminated last one included, through
    the parser: its "s" letter is the level (W is a warning), its "c" component and
    "attr" stay as fields, and the time is the Extended JSON date."""
    from connectors.logs.parse import LogContext, RecordRef, parse_record

    ctx = LogContext(format="jsonl")
    lines = (HERE / "lnav_mongodb.log").read_bytes().split(b"\n")
    events = [parse_record(line, RecordRef("f", n, "x", READ_AT), ctx)
              for n, line in enumerate(lines)]
    assert [(e.severity.value, e.attributes["level"]) for e in events] == [
        ("info", "I"), ("info", "I"), ("medium", "W")]
    assert events[2].occurred_at == datetime(2026, 3, 10, 20, 58, 10, 4000, tzinfo=UTC)
    assert events[1].attributes["fields"]["attr"]["durationMillis"] == 120
    assert events[1].attributes["fields"]["c"] == "COMMAND"
