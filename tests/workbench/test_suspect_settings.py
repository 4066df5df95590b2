"""The ``[suspects]`` table of the config file."""

from __future__ import annotations

import pytest

from workbench.config import ConfigError, parse_config


def test_suspects_table_sets_weights_maps_and_keeps_defaults() -> None:
    config = parse_config("""
[suspects]
lookback_minutes = 120
weights = { evidence = 4.0 }

[suspects.dependencies]
checkout = ["payments", "ledger"]

[suspects.hosts]
"10.0.3.17" = "payments"
"*.ledger.internal" = "ledger"
""")
    suspects = config.suspects
    assert suspects.lookback_minutes == 120
    assert suspects.weights.evidence == 4.0 and suspects.weights.sha == 1.5
    assert suspects.dependencies == {"checkout": ["payments", "ledger"]}
    assert suspects.hosts["*.ledger.internal"] == "ledger"
    assert parse_config("").suspects.weights.evidence == 3.0


def test_bad_suspects_keys_are_reported_with_their_path() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("[suspects]\nweights = { evidense = 1.0, time = -1 }\n")
    problems = caught.value.problems
    assert "suspects.weights.evidense: unknown key" in problems
    assert any(p.startswith("suspects.weights.time:") for p in problems)
