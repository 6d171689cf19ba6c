"""Prebuilt entities from spoken transcripts and keypad digits (docs/compatibility.md, Entities)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from postcall.engine.spoken import PREBUILT_ALL
from postcall.testing import Conversation

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("entity", "said", "value"),
    [
        ("MoneyPrebuiltEntity", "twenty five dollars", 25),
        ("MoneyPrebuiltEntity", "$25.50", 25.5),
        ("MoneyPrebuiltEntity", "ten euros and five cents", 10.05),
        ("PercentagePrebuiltEntity", "fifty percent", 50),
        ("PercentagePrebuiltEntity", "12.5%", 12.5),
        ("OrdinalPrebuiltEntity", "the second one", 2),
        ("DurationPrebuiltEntity", "an hour and a half", dt.timedelta(minutes=90)),
        ("DurationPrebuiltEntity", "ninety minutes", dt.timedelta(minutes=90)),
        ("ZipCodePrebuiltEntity", "nine eight zero five two", "98052"),
        ("URLPrebuiltEntity", "contoso dot com slash help", "contoso.com/help"),
        ("CityPrebuiltEntity", "I live in Seattle", "Seattle"),
        ("TemperaturePrebuiltEntity", "seventy degrees", 70),
        ("EmailPrebuiltEntity", "j dot smith at contoso dot com", "j.smith@contoso.com"),
        ("AgePrebuiltEntity", "thirty five years old", 35),
        ("NumberPrebuiltEntity", "one hundred and five", 105),
        ("DateTimePrebuiltEntity", "next Tuesday at 3", dt.datetime(2026, 1, 6, 15, 0, tzinfo=dt.UTC)),
        ("DateTimePrebuiltEntity", "next tuesday at 9", dt.datetime(2026, 1, 6, 9, 0, tzinfo=dt.UTC)),
        ("PhoneNumberPrebuiltEntity", "four two five five five five zero one nine nine", "4255550199"),
        ("BooleanPrebuiltEntity", "yes please", True),
    ],
)
def test_spoken_forms(entity: str, said: str, value: object) -> None:
    match = PREBUILT_ALL[entity](said, NOW)
    assert match is not None and match.value == value


@pytest.mark.parametrize(
    ("entity", "said"),
    [
        ("MoneyPrebuiltEntity", "no idea"),
        ("PercentagePrebuiltEntity", "fifty"),
        ("ZipCodePrebuiltEntity", "one two three"),
        ("DurationPrebuiltEntity", "soon"),
    ],
)
def test_words_that_are_not_the_entity_are_not_taken(entity: str, said: str) -> None:
    assert PREBUILT_ALL[entity](said, NOW) is None


def test_money_by_keypad_and_by_speech_in_a_call(tmp_path: Path) -> None:
    (tmp_path / "topics").mkdir()
    (tmp_path / "agent.yaml").write_text("name: Pay\n")
    (tmp_path / "topics" / "Pay.topic.yaml").write_text(
        "kind: AdaptiveDialog\nbeginDialog:\n  kind: OnRecognizedIntent\n  id: main\n"
        "  intent:\n    triggerQueries: [make a payment]\n  actions:\n"
        "    - kind: Question\n      id: q\n      variable: Topic.Amount\n"
        "      prompt: How much?\n      entity: MoneyPrebuiltEntity\n"
        "    - kind: SendActivity\n      id: s\n      activity: \"Paying {Text(Topic.Amount + 1)}\"\n"
    )
    for answer in (("say", "twenty five dollars"), ("press", "25#")):
        conv = Conversation(tmp_path)
        conv.start()
        conv.say("make a payment")
        getattr(conv, answer[0])(answer[1])
        assert conv.replies[-1] == "Paying 26"
