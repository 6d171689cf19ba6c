"""Dates in a time zone with daylight saving: elapsed time goes through UTC, skipped times move on."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from postcall.powerfx import EvalContext, parse_formula

NOW = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)


def _eval(source: str, zone: str) -> object:
    formula = parse_formula(source).formula
    assert formula is not None, source
    return formula.evaluate(EvalContext(scope={}, now=lambda: NOW, timezone=zoneinfo.ZoneInfo(zone)))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # Chicago springs forward at 2:00 on 2024-03-10: one hour after 1:30 is 3:30.
        ("DateAdd(DateTime(2024,3,10,1,30,0), 1, TimeUnit.Hours)", dt.datetime(2024, 3, 10, 3, 30)),
        ("DateAdd(DateTime(2024,3,10,3,10,0), -20, TimeUnit.Minutes)", dt.datetime(2024, 3, 10, 1, 50)),
        # Days keep the clock time.
        ("DateAdd(DateTime(2024,3,9,12,0,0), 1, TimeUnit.Days)", dt.datetime(2024, 3, 10, 12, 0)),
        # A time the clocks skipped becomes the first time after the gap.
        ("DateTime(2024,3,10,2,15,0)", dt.datetime(2024, 3, 10, 3, 0)),
        ("DateDiff(DateTime(2024,3,10,1,0,0), DateTime(2024,3,10,4,0,0), TimeUnit.Hours)", 2.0),
        ("DateDiff(DateTime(2024,11,3,0,30,0), DateTime(2024,11,3,3,30,0), TimeUnit.Minutes)", 240.0),
    ],
)
def test_daylight_saving_in_chicago(source: str, expected: object) -> None:
    assert _eval(source, "America/Chicago") == expected


def test_utc_context_is_plain_arithmetic() -> None:
    assert _eval("DateAdd(DateTime(2024,3,10,1,30,0), 1, TimeUnit.Hours)", "UTC") == dt.datetime(2024, 3, 10, 2, 30)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # Beirut springs forward at midnight on 2021-03-28 (00:00 -> 01:00).
        # `+`/`-` of a time goes through UTC: the skipped hour is not on the clock.
        ("Date(2021,3,29) - Time(12,0,0) - Time(12,0,0)", dt.datetime(2021, 3, 27, 23, 0)),
        ("Date(2021,3,27) + Time(12,0,0) + Time(12,0,0)", dt.datetime(2021, 3, 28, 1, 0)),
        ("Date(2021,3,28) + Time(6,0,0)", dt.datetime(2021, 3, 28, 7, 0)),
        # `+`/`-` of days is on the wall clock; a skipped time becomes the valid one.
        ("DateTime(2021,3,27,0,0,0) + 1", dt.datetime(2021, 3, 28, 1, 0)),
        ("DateTime(2021,3,29,0,0,0) - 2", dt.datetime(2021, 3, 27, 0, 0)),
        ("DateTime(2021,3,26,12,0,0) + 4", dt.datetime(2021, 3, 30, 12, 0)),
    ],
)
def test_operators_across_daylight_saving_in_beirut(source: str, expected: object) -> None:
    assert _eval(source, "Asia/Beirut") == expected
