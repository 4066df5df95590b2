"""The styles used under ``NO_COLOR`` (``workbench.tui.fmt``): no colour anywhere, and
each severity its own attributes, high and critical marked by one nothing below
carries. ``test_tmux_no_color.py`` checks what a real terminal shows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rich.style import Style

from storage.models import InvestigationStatus, Severity
from workbench.tui import fmt


@pytest.fixture
def plain() -> Iterator[None]:
    fmt.use_colour(False)
    try:
        yield
    finally:
        fmt.use_colour(True)


def test_no_colour_in_any_plain_style(plain: None) -> None:
    styles = [fmt.severity_style(s) for s in Severity]
    styles += [fmt.status_style(s) for s in InvestigationStatus]
    for style in map(Style.parse, styles):
        assert style.color is None and style.bgcolor is None, style


def test_each_severity_looks_different_and_high_ones_are_marked(plain: None) -> None:
    looks = {s: Style.parse(fmt.severity_style(s)) for s in Severity}
    assert len(set(looks.values())) == len(Severity)
    assert looks[Severity.CRITICAL].reverse and looks[Severity.HIGH].underline
    for severity in (Severity.MEDIUM, Severity.LOW, Severity.INFO):
        assert not (looks[severity].reverse or looks[severity].underline), severity


def test_colour_is_the_default() -> None:
    assert fmt.severity_style(Severity.HIGH) == fmt.SEVERITY_STYLE[Severity.HIGH]
    assert fmt.status_style(InvestigationStatus.OPEN) == \
        fmt.STATUS_STYLE[InvestigationStatus.OPEN]


def test_tone_keeps_attributes_only_without_colour(plain: None) -> None:
    assert [fmt.tone(s) for s in ("bold red", "magenta", "dim italic", "")] == \
        ["bold", "", "dim italic", ""]
    assert {fmt.source_style(s) for s in fmt.SOURCE_STYLE} <= {"", "bold"}


def test_tone_is_the_identity_in_colour() -> None:
    assert fmt.tone("bold red") == "bold red"
