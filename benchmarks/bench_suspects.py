"""Suspect ranking on incidents with a known cause: top-1, top-3 and MRR per kind.

Cases come from :mod:`benchmarks.suspect_cases` (seeded; change ``--seed`` to get
incidents the ranking was never tuned on). All cases of a run go into one real
SQLite store (incidents two days apart, so their six-hour look-backs never overlap);
each incident gets an investigation with its linked events and, when the case has
one, a config file with its dependency and host maps. The project's ranking is read
the way a user reads it: ``workbench --db DB --config CFG report ID --format json``,
in process. The anchor is the pre-issue-19 ranking (:mod:`benchmarks.suspects_baseline`)
on the same store, in the same run.

A suspect counts as the cause when it is one of the cause change's events (its
commit, pipeline or deploy). Goals (issue 19): top-1 >= 90% on every kind, top-3 >=
98% overall, and no kind the anchor ranks 100% first may drop.

``--scale N`` also times ranking one investigation with N linked errors (the anchor
loads them all; the product aggregates in SQL and examines at most ``max_errors``).

    .venv/bin/python benchmarks/bench_suspects.py --per-kind 50 --seed 7 --scale 500000
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import Report, Role  # noqa: E402
from benchmarks.suspect_cases import (  # noqa: E402
    HARD,
    KINDS,
    NORMAL,
    Case,
    Difficulty,
    build_case,
)
from benchmarks.suspects_baseline import baseline_ranking  # noqa: E402
from storage import NewInvestigation, Store  # noqa: E402
from storage.tables import EventRow  # noqa: E402

BASE = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@dataclass
class Loaded:
    """A case in the store: its investigation, config file and cause event ids."""

    case: Case
    investigation_id: int
    config: Path
    cause_ids: set[int]


def load(store: Store, cases: Sequence[Case], directory: Path) -> list[Loaded]:
    """Ingest every case, open its investigation, link its events, write its config."""
    store.ingest([event for case in cases for event in case.events])
    with store.read() as session:
        ids = {key: id_ for key, id_ in session.execute(select(EventRow.dedup_key, EventRow.id))}
    out = []
    for n, case in enumerate(cases):
        inv = store.create_investigation(NewInvestigation(
            title=f"{case.kind} #{n}: {case.impacted} failing", services=case.services,
            impact_started_at=case.impact if case.set_impact else None))
        store.link_events(inv.id, [ids[key] for key in case.linked])
        config = directory / f"case-{n}.toml"
        config.write_text(config_text(case))
        out.append(Loaded(case, inv.id, config, {ids[key] for key in case.cause}))
    return out


def config_text(case: Case) -> str:
    """The case's config file: its dependency and host maps under ``[suspects]``."""
    from workbench.config import Config

    if "suspects" not in Config.model_fields:  # a product without the table (the anchor era)
        return ""
    lines = ["[suspects.dependencies]"]
    lines += [f'"{k}" = {orjson.dumps(v).decode()}' for k, v in case.dependencies.items()]
    lines += ["", "[suspects.hosts]"]
    lines += [f'"{k}" = "{v}"' for k, v in case.hosts.items()]
    return "\n".join(lines) + "\n"


def product_report(db: str, loaded: Loaded) -> dict[str, Any]:
    """``workbench report --format json`` of the case's investigation."""
    from workbench.cli.main import main

    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8")
    with contextlib.redirect_stdout(out):
        status = main(["--db", db, "--config", str(loaded.config), "report",
                       str(loaded.investigation_id), "--format", "json"])
    out.flush()
    if status != 0:
        raise RuntimeError(f"workbench report exited {status}")
    document: dict[str, Any] = orjson.loads(raw.getvalue())
    return document


def explain_miss(report: Report, loaded: Loaded, document: dict[str, Any]) -> None:
    """The top three and the cause, with their parts (``--explain``)."""
    case = loaded.case
    report.say(f"-- miss: {case.kind} impacted={case.impacted} "
               f"cause ids={sorted(loaded.cause_ids)}")
    targets = document.get("error_direction", {}).get("targets", [])[:4]
    report.say("   errors point at: " + "; ".join(f"{t['service']} {t['count']} {t['via']}"
                                                  for t in targets))
    events = {e["event"]["id"]: e["event"] for e in document["events"]}
    for rank, suspect in enumerate(document["suspects"][:5], 1):
        mark = "*" if suspect["event_id"] in loaded.cause_ids else " "
        title = events.get(suspect["event_id"], {}).get("title", "")
        report.say(f"  {mark}{rank}. {suspect['score']:.2f} #{suspect['event_id']} {title[:60]}")
        for part in suspect.get("parts", []):
            report.say(f"        {part['points']:+.2f} {part['name']}: {part['reason']}")


def rank_of(ranking: Sequence[int], cause: set[int]) -> int | None:
    """1-based rank of the first suspect that is one of the cause's events."""
    return next((i for i, event_id in enumerate(ranking, 1) if event_id in cause), None)


def summarise(ranks: Sequence[int | None]) -> dict[str, float]:
    """top-1, top-3 and mean reciprocal rank."""
    n = max(len(ranks), 1)
    return {"top1": sum(r == 1 for r in ranks) / n,
            "top3": sum(r is not None and r <= 3 for r in ranks) / n,
            "mrr": sum(1 / r for r in ranks if r) / n}


def generate(per_kind: int, seed: int, kinds: Sequence[str],
             difficulty: Difficulty = NORMAL) -> list[Case]:
    """``per_kind`` cases of each kind, two days apart."""
    rng = random.Random(seed)
    cases: list[Case] = []
    for kind in kinds:
        for _ in range(per_kind):
            t0 = BASE + timedelta(days=2 * len(cases), minutes=rng.uniform(0, 600))
            cases.append(build_case(kind, rng, t0, f"s{seed}c{len(cases)}", difficulty))
    return cases


def measure(loaded: Sequence[Loaded], store: Store, db: str, report: Report | None = None
            ) -> dict[str, dict[str, list[int | None]]]:
    """Ranks of the cause per variant (anchor, project) and kind; misses explained to
    ``report`` when given."""
    ranks: dict[str, dict[str, list[int | None]]] = {"anchor": {}, "project": {}}
    for item in loaded:
        kind = item.case.kind
        ranks["anchor"].setdefault(kind, []).append(
            rank_of(baseline_ranking(store, item.investigation_id), item.cause_ids))
        document = product_report(db, item)
        rank = rank_of([int(s["event_id"]) for s in document["suspects"]], item.cause_ids)
        ranks["project"].setdefault(kind, []).append(rank)
        if report is not None and rank != 1:
            explain_miss(report, item, document)
    return ranks


def grade(report: Report, ranks: dict[str, dict[str, list[int | None]]]) -> None:
    """Figures per kind and variant, then the issue's goals."""
    for variant, by_kind in ranks.items():
        role: Role = "anchor" if variant == "anchor" else "project"
        for kind, values in by_kind.items():
            for name, value in summarise(values).items():
                report.figure(f"{kind}", f"{variant} {name}", role, value, "ratio",
                              cases=len(values))
        everything = [r for values in by_kind.values() for r in values]
        for name, value in summarise(everything).items():
            report.figure("all", f"{variant} {name}", role, value, "ratio",
                          cases=len(everything))
    project, anchor = ranks["project"], ranks["anchor"]
    for kind, values in project.items():
        report.goal(f"top1 {kind}", summarise(values)["top1"], 0.90, higher_is_better=True)
        before = summarise(anchor[kind])["top1"]
        if before == 1.0:
            report.goal(f"no drop {kind}", summarise(values)["top1"], 1.0,
                        higher_is_better=True, detail="the anchor ranked every case first")
    overall = [r for values in project.values() for r in values]
    report.goal("top3 all", summarise(overall)["top3"], 0.98, higher_is_better=True)


def scale(report: Report, errors: int, directory: Path) -> None:
    """Seconds to rank one investigation with ``errors`` linked errors: the product's
    :func:`~workbench.correlation.analyse` (what the API, report and TUI call) against
    the anchor, which loads every linked event."""
    from benchmarks.harness import interleave, median
    from benchmarks.suspects_scale import build
    from workbench.correlation import analyse

    store = Store.open(directory / "scale.db")
    try:
        inv = store.get_investigation(build(store, errors, BASE))
        times = interleave({"anchor": lambda: baseline_ranking(store, inv.id),
                            "project": lambda: analyse(store, inv)}, reps=3)
    finally:
        store.close()
    for variant, reps in times.items():
        role: Role = "anchor" if variant == "anchor" else "project"
        report.figure(f"S-{errors}", f"{variant} rank one investigation", role,
                      median(reps), "s", reps)
    ratio = median(times["project"]) / median(times["anchor"])
    report.say(f"       project / anchor = {ratio:.3f}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 1 if a goal failed (unless ``--no-fail``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=30)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--kinds", nargs="*", default=list(KINDS), choices=KINDS)
    parser.add_argument("--json-out", type=Path, default=None)
    parser.add_argument("--no-fail", action="store_true")
    parser.add_argument("--explain", action="store_true", help="show each miss's top five")
    parser.add_argument("--db", default=None, metavar="URL",
                        help="an empty store to use (e.g. a postgresql:// URL); default: a "
                             "temporary SQLite file")
    parser.add_argument("--hard", action="store_true",
                        help="muddier evidence: causes up to 2 h before impact, fewer errors "
                             "pointing at the guilty dependency, more pointing elsewhere")
    parser.add_argument("--scale", type=int, default=0, metavar="ERRORS",
                        help="also time ranking one investigation with ERRORS linked errors")
    args = parser.parse_args(argv)
    out = args.json_out.open("w") if args.json_out else sys.stdout
    try:
        report = Report("bench_suspects", out=out)
        with tempfile.TemporaryDirectory() as tmp:
            db = args.db or str(Path(tmp) / "suspects.db")
            store = Store.open(db)
            try:
                cases = generate(args.per_kind, args.seed, args.kinds,
                                 HARD if args.hard else NORMAL)
                report.say(f"{len(cases)} incidents, {sum(len(c.events) for c in cases)} "
                           f"events, seed {args.seed}")
                ranks = measure(load(store, cases, Path(tmp)), store, db,
                                report if args.explain else None)
            finally:
                store.close()
            if args.scale:
                scale(report, args.scale, Path(tmp))
        grade(report, ranks)
    finally:
        if args.json_out:
            out.close()
    return 1 if report.failed() and not args.no_fail else 0


if __name__ == "__main__":
    raise SystemExit(main())
