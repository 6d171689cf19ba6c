"""Prebuilt entity recognisers, table-driven from data/entities.yaml."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import yaml

from postcall.engine.dtmf import DigitEntry, read_digits
from postcall.engine.entities import PREBUILT, spoken_digits

from .helpers import DATA

TABLE = yaml.safe_load((DATA / "entities.yaml").read_text())
NOW = dt.datetime.fromisoformat(TABLE["now"])
CASES = [(entity, text, value) for entity, rows in TABLE["cases"].items() for text, value in rows]


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat()
    return value


@pytest.mark.parametrize(("entity", "text", "expected"), CASES, ids=[f"{e}:{t}" for e, t, _ in CASES])
def test_prebuilt_entity(entity: str, text: str, expected: Any) -> None:
    match = PREBUILT[entity](text, NOW)
    got = None if match is None else _plain(match.value)
    assert got == expected


@pytest.mark.parametrize(
    ("text", "digits"),
    [("one two three", "123"), ("1 2 3", "123"), ("oh nine", "09"), ("triple seven", "777"),
     ("12 34", "1234"), ("one hundred", None), ("call me", None), ("double", None)],
)
def test_spoken_digits(text: str, digits: str | None) -> None:
    assert spoken_digits(text) == digits


@pytest.mark.parametrize(
    ("entry", "dtmf", "text", "digits", "problem"),
    [
        (DigitEntry(4, 8, "#"), "12345#", None, "12345", None),
        (DigitEntry(4, 8, "#"), "123#", None, None, "too-short"),
        (DigitEntry(4, 8, "#"), "123456789", None, None, "too-long"),
        (DigitEntry(4, 8, "#"), "1234#99", None, "1234", None),
        (DigitEntry(5, 5, None), "12345", None, "12345", None),
        (DigitEntry(4, 8, "#"), None, "four two four two", "4242", None),
        (DigitEntry(4, 8, "#", accepts_voice=False), None, "four two four two", None, "not-digits"),
        (DigitEntry(4, 8, "*"), "4242*", None, "4242", None),
        (DigitEntry(None, None, "#"), None, "talk to a person", None, "not-digits"),
    ],
)
def test_digit_entry(entry: DigitEntry, dtmf: str | None, text: str | None, digits: str | None, problem: str | None) -> None:
    result = read_digits(entry, dtmf=dtmf, text=text)
    assert (result.digits, result.problem) == (digits, problem)


@pytest.mark.timeout(30)
def test_email_recognition_stays_linear_on_long_caller_text() -> None:
    # Caller text reaches these regular expressions; a run of address characters without a
    # valid address used to be retried from every position (quadratic: seconds at 20,000).
    from postcall.engine.entities import recognize_email

    assert recognize_email("a" * 20_000 + "@" + "b" * 20_000) is None
    assert recognize_email("x" * 20_000 + " ada at example dot com") is not None
