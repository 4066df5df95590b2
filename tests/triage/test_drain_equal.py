"""The faster miner (issue 16) against the miner as first written
(:mod:`tests.triage.drain_reference`): every message joins the same cluster, with the
same template and the same "changed" answer, on loghub's six labelled samples (with
the product's masks and with the benchmark's), on numbered variants of their lines,
and on generated text; and masking token by token equals masking the whole line for
the default masks."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.triage.drain_reference import ReferenceDrain
from tests.triage.loghub import SETTINGS, sample
from workbench.patterns.drain import DEFAULT_MASKS, WILD, Drain


def _same_run(fast: Drain, reference: ReferenceDrain, messages: list[str]) -> None:
    for message in messages:
        got, changed = fast.add(message)
        want, want_changed = reference.add(message)
        assert (got.id, got.tokens, changed, got.route, got.size) == (
            want.id, want.tokens, want_changed, want.route, want.size), message
    assert [(c.id, c.tokens, c.route, c.size) for c in fast.clusters] == [
        (c.id, c.tokens, c.route, c.size) for c in reference.clusters]


def _numbered(lines: list[str], seed: int) -> list[str]:
    """The lines with fresh numbers, ids and addresses, as a live log repeats its shapes."""
    rng = random.Random(seed)
    extras = [lambda: str(rng.randint(0, 10**6)), lambda: f"{rng.random():.3f}ms",
              lambda: f"10.0.{rng.randint(0, 255)}.{rng.randint(0, 255)}:{rng.randint(1, 9)}",
              lambda: f"{rng.getrandbits(64):016x}", lambda: f"blk_-{rng.randint(1, 10**9)}"]
    return [f"{line} #{i} {rng.choice(extras)()}" for i, line in enumerate(lines)]


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_equal_with_the_default_masks(name: str) -> None:
    lines = [content for content, _ in sample(name)]
    _same_run(Drain(), ReferenceDrain(), lines + _numbered(lines, 16))


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_equal_with_the_benchmark_masks(name: str) -> None:
    masks, similarity, depth, _ = SETTINGS[name]
    kwargs: dict[str, Any] = {"masks": masks, "similarity": similarity, "depth": depth}
    lines = [content for content, _ in sample(name)]
    _same_run(Drain(**kwargs), ReferenceDrain(**kwargs), lines + _numbered(lines, 7))


def test_equal_when_the_token_memory_starts_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    import workbench.patterns.drain as drain

    monkeypatch.setattr(drain, "TOKEN_CACHE", 50)
    lines = [content for content, _ in sample("BGL")]
    _same_run(Drain(), ReferenceDrain(), _numbered(lines, 3))


WORDS = st.sampled_from(["a", "ab", "deadbeefcafe", "DEADBEEF-1234-5678-9abc-def012345678",
                         "0x1F", "0xzz", "blk_-12", "blk_3", "1.2.3.4", "1.2.3.4:80",
                         "1.2.3", "12", "-7", "3.5", "10ms", "5%", "7KB", "x1", "1x",
                         "v1.2", ".5", "5.", "a.b", "=", ":", "-", "/", "(", ")", ",",
                         "µs", "é", "٣", "_", "a_1"])
SPACES = st.sampled_from([" ", "  ", "\t", "\n", "\x1c", "\x1f", "\xa0", "\u3000", "\u2028"])
PIECES = st.lists(st.one_of(WORDS, SPACES, st.text(max_size=3)), max_size=20)


@settings(max_examples=400, deadline=None)
@given(pieces=PIECES)
def test_masking_token_by_token_equals_masking_the_line(pieces: list[str]) -> None:
    line = "".join(pieces)
    by_token = Drain(by_token=True)
    whole = Drain(by_token=False)
    assert by_token.tokens(line) == whole.tokens(line)
    assert by_token.by_token and Drain(masks=DEFAULT_MASKS).by_token
    assert not Drain(masks=(r"a b",)).by_token


@settings(max_examples=200, deadline=None)
@given(messages=st.lists(st.lists(st.one_of(WORDS, st.just(WILD)), min_size=0, max_size=6)
                         .map(" ".join), max_size=40),
       similarity=st.sampled_from([0.3, 0.5, 0.7, 1.0]), depth=st.sampled_from([3, 4, 5]),
       children=st.sampled_from([2, 100]))
def test_equal_on_generated_messages(messages: list[str], similarity: float, depth: int,
                                     children: int) -> None:
    kwargs: dict[str, Any] = {"similarity": similarity, "depth": depth,
                              "max_children": children}
    _same_run(Drain(**kwargs), ReferenceDrain(**kwargs), messages)
