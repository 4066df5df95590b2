"""The OpenAPI document fuzzed with schemathesis against the real server on loopback.

``st run --checks all`` over every phase (examples, coverage, fuzzing and the
stateful phase that chains operations through the links it infers), 50 examples
per operation, a fixed seed, on each engine: no server error, and every answer is
one the document describes -- status, content type, headers, body schema, 405 with
``Allow`` for undeclared methods, schema-valid input accepted and invalid input
refused. The few rules JSON Schema cannot state are in ``schemathesis.toml`` with
their reasons. The wider random run is ``benchmarks/bench_fuzz.py``.
"""

from __future__ import annotations

import pytest

from storage import Store
from tests.api.fuzz_target import fuzz_target, run_schemathesis

SEED = 20261128
EXAMPLES = 50


@pytest.mark.slow
@pytest.mark.timeout(1_200)
def test_openapi_conformance_all_checks_all_phases(store: Store) -> None:
    with fuzz_target(store) as api:
        run = run_schemathesis(api, examples=EXAMPLES, seed=SEED)
    assert run.returncode == 0, run.summary()
    assert "Stateful" in run.output and "Fuzzing" in run.output, run.summary()
