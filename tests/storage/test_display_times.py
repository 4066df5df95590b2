"""The time module's display zone, clock offset and skew (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.times import TimeRangeError, ZoneError, display_zone, shifted, skew_of

SUMMER = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
WINTER = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_named_zones_follow_their_rules() -> None:
    paris = display_zone("Europe/Paris")
    assert paris.local(WINTER).hour == 13 and paris.label(WINTER) == "CET"
    assert paris.local(SUMMER).hour == 14 and paris.label(SUMMER) == "CEST"
    assert display_zone("utc").name == "UTC" and display_zone("Z").label() == "UTC"


def test_local_is_the_machine_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    zone = display_zone("local")
    assert zone.name == "local" and zone.local(WINTER).strftime("%H:%M") == "17:30"
    assert zone.label(WINTER) == "IST"


def test_an_unknown_zone_is_an_error_not_utc() -> None:
    with pytest.raises(ZoneError, match="display zone 'Europe/Pariss'"):
        display_zone("Europe/Pariss")


def test_shift_and_its_range() -> None:
    assert shifted(WINTER, timedelta(seconds=90)) == WINTER + timedelta(seconds=90)
    with pytest.raises(TimeRangeError):
        shifted(datetime(9999, 12, 31, 23, tzinfo=UTC), timedelta(hours=2))


def test_skew_is_the_median_gap_with_its_spread() -> None:
    pairs = [(WINTER, WINTER + timedelta(seconds=s)) for s in (10, 20, 30, 40, 1000)]
    skew = skew_of(pairs)
    assert skew is not None and skew.seconds == 30 and skew.count == 5
    assert skew.spread == 20  # the outlier does not move the median or the IQR much
    assert skew_of([]) is None
