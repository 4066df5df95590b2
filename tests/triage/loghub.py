"""loghub's labelled 2k samples and Drain's published grouping accuracy on them.

Settings (masks, similarity, depth) and the published figures are those of the
reference Drain benchmark (the logparser toolkit's Drain benchmark table).
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

from workbench.patterns.drain import Drain

FIELD = Path(__file__).parents[1] / "field" / "loghub"
IP = r"(\d+\.){3}\d+"
SETTINGS: dict[str, tuple[tuple[str, ...], float, int, float]] = {
    # name: (masks, similarity, depth, Drain's published grouping accuracy)
    "HDFS": ((r"blk_-?\d+", r"(\d+\.){3}\d+(:\d+)?"), 0.5, 4, 0.9975),
    "Spark": ((IP, r"\b[KGTM]?B\b", r"([\w-]+\.){2,}[\w-]+"), 0.5, 4, 0.92),
    "Zookeeper": ((r"(/|)(\d+\.){3}\d+(:\d+)?",), 0.5, 4, 0.9665),
    "BGL": ((r"core\.\d+",), 0.5, 4, 0.9625),
    "Apache": ((IP,), 0.5, 4, 1.0),
    "OpenSSH": ((IP, r"([\w-]+\.){2,}[\w-]+"), 0.6, 5, 0.7875),
}


def sample(name: str) -> list[tuple[str, str]]:
    """``(content, ground-truth event id)`` per line of ``<name>_2k.log_structured.csv``."""
    with (FIELD / f"{name}_2k.log_structured.csv").open(encoding="utf-8", newline="") as f:
        return [(row["Content"], row["EventId"]) for row in csv.DictReader(f)]


def grouping_accuracy(predicted: Sequence[int], truth: Sequence[str]) -> float:
    """Share of lines whose predicted group holds exactly the lines of their true group
    (the benchmark's definition)."""
    truth_sizes = Counter(truth)
    members: dict[int, list[int]] = defaultdict(list)
    for line, group in enumerate(predicted):
        members[group].append(line)
    correct = 0
    for lines in members.values():
        labels = {truth[i] for i in lines}
        if len(labels) == 1 and truth_sizes[labels.pop()] == len(lines):
            correct += len(lines)
    return correct / len(truth)


def measure(name: str, miner: Drain | None = None) -> float:
    """Our grouping accuracy on one sample (with the benchmark's settings by default)."""
    masks, similarity, depth, _ = SETTINGS[name]
    miner = miner or Drain(depth=depth, similarity=similarity, masks=masks)
    rows = sample(name)
    predicted = [miner.add(content)[0].id for content, _ in rows]
    return grouping_accuracy(predicted, [label for _, label in rows])
