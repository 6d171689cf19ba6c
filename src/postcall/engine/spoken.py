"""More prebuilt entities, read from what a speech recogniser writes down.

Money ("twenty five dollars", "$25.50", "ten euros and five cents"), Percentage ("fifty
percent"), Ordinal ("the second one"), Duration ("two and a half hours", "ninety minutes"),
Temperature, Dimension, Speed and Weight (a number with its unit), Zip code ("nine eight zero
five two"), URL ("contoso dot com") and the place and name entities (City, State, Country or
region, Continent, Organization, Point of interest, Event, Language, Color: the words said, with
"I live in"-style lead-ins taken off).  Deterministic rules, like engine.entities, so a replay
gives the same value.  `PREBUILT_ALL` is every prebuilt entity the Question node recognises.
"""

from __future__ import annotations

import datetime as dt
import re

from postcall.engine.entities import (
    PREBUILT,
    EntityMatch,
    EntityRecognizer,
    recognize_number,
    recognize_ordinal,
    spoken_digits,
)
from postcall.engine.textnorm import normalise

_CURRENCY_WORDS = r"dollars?|bucks?|usd|euros?|eur|pounds?|gbp|quid|yen|rupees?|francs?|pesos?"
_CENTS = re.compile(r"\band\s+(?P<cents>.+?)\s+(cents?|pence|p)\b")


def recognize_money(text: str, now: dt.datetime | None = None) -> EntityMatch | None:
    """An amount of money as a number: "twenty five dollars" -> 25, "$25.50" -> 25.5."""
    norm = normalise(text)
    symbol = re.search(r"[$€£¥]\s*(\d[\d,]*(?:\.\d+)?)", text)
    if symbol:
        return EntityMatch(_number(symbol.group(1).replace(",", "")), symbol.group(0))
    cents = _CENTS.search(norm)
    head = norm[: cents.start()] if cents else norm
    head = re.sub(rf"\b({_CURRENCY_WORDS})\b", " ", head)
    amount = recognize_number(head)
    if amount is None or not isinstance(amount.value, (int, float)):
        return None
    value: float | int = amount.value
    if cents:
        extra = recognize_number(cents.group("cents"))
        if extra is not None and isinstance(extra.value, int) and 0 <= extra.value < 100:
            value = round(value + extra.value / 100, 2)
    return EntityMatch(value, text.strip())


def recognize_percentage(text: str, now: dt.datetime | None = None) -> EntityMatch | None:
    """ "fifty percent" -> 50, "12.5%" -> 12.5 (the number said, not a fraction)."""
    norm = normalise(text)
    m = re.search(r"(\d+(?:\.\d+)?)\s*%", text)
    if m:
        return EntityMatch(_number(m.group(1)), m.group(0))
    if "percent" not in norm and "per cent" not in norm:
        return None
    number = recognize_number(re.sub(r"\bper\s*cent\b|\bpercent(age)?\b", " ", norm))
    return EntityMatch(number.value, text.strip()) if number is not None else None


def recognize_ordinal_entity(text: str, now: dt.datetime | None = None) -> EntityMatch | None:
    """ "the second one" -> 2, "3rd" -> 3, "last" -> -1."""
    value = recognize_ordinal(text)
    return EntityMatch(value, text.strip()) if value is not None else None


_DURATION_UNITS = {
    "second": 1, "sec": 1, "minute": 60, "min": 60, "hour": 3600, "hr": 3600, "day": 86400,
    "week": 604800,
}


def recognize_duration(text: str, now: dt.datetime | None = None) -> EntityMatch | None:
    """A length of time: "two hours" -> 2:00:00, "an hour and a half", "ninety minutes"."""
    norm = normalise(text).replace("half an hour", "thirty minutes")
    total = 0.0
    found = False
    for m in re.finditer(r"(?P<n>[\w.\- ]+?)\s+(?P<u>second|sec|minute|min|hour|hr|day|week)s?\b", norm):
        words = m.group("n").split()
        amount = None
        for start in range(len(words)):
            amount = recognize_number(" ".join(words[start:]))
            if amount is not None and " ".join(words[start:]) == amount.text:
                break
            amount = None
        if amount is None and words[-1:] in (["a"], ["an"]):
            value: float = 1
        elif amount is not None and isinstance(amount.value, (int, float)):
            value = float(amount.value)
        else:
            continue
        total += value * _DURATION_UNITS[m.group("u")]
        found = True
        rest = norm[m.end():]
        if re.match(r"\s+and\s+a\s+half\b", rest):
            total += 0.5 * _DURATION_UNITS[m.group("u")]
    if not found:
        return None
    return EntityMatch(dt.timedelta(seconds=total), text.strip())


def _with_unit(units: str) -> EntityRecognizer:
    pattern = re.compile(rf"\b({units})\b")

    def recognize(text: str, now: dt.datetime | None = None) -> EntityMatch | None:
        norm = normalise(text)
        number = recognize_number(pattern.sub(" ", norm))
        if number is None or not isinstance(number.value, (int, float)):
            return None
        return EntityMatch(number.value, text.strip())

    return recognize


def recognize_zip(text: str, now: dt.datetime | None = None) -> EntityMatch | None:
    """A postal code: "nine eight zero five two" -> "98052", "98052-6399", "SW1A 1AA"."""
    digits = spoken_digits(text)
    if digits is not None and len(digits) in (5, 9):
        return EntityMatch(digits if len(digits) == 5 else f"{digits[:5]}-{digits[5:]}", text.strip())
    m = re.search(r"\b\d{5}(?:-\d{4})?\b", text)
    if m:
        return EntityMatch(m.group(0), m.group(0))
    m = re.search(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", text.upper())
    return EntityMatch(m.group(0), m.group(0)) if m else None


def recognize_url(text: str, now: dt.datetime | None = None) -> EntityMatch | None:
    """A web address, spoken ("contoso dot com slash help") or typed."""
    spoken = re.sub(r"\s+dot\s+", ".", text.strip().lower())
    spoken = re.sub(r"\s+slash\s+", "/", spoken)
    m = re.search(r"(https?://)?[\w\-]+(\.[\w\-]+)+(/[\w\-./?=&%]*)?", spoken)
    return EntityMatch(m.group(0), m.group(0)) if m else None


_LEADS = re.compile(
    r"^(?:(?:i|we)\s+(?:live|am|are|'m|work|was born|come)\s+(?:in|at|from)|i'm\s+(?:in|from)|"
    r"it's|it is|in|at|from|the|my\s+\w+\s+is|i\s+(?:speak|like|prefer|want))\s+",
)


def recognize_name_words(text: str, now: dt.datetime | None = None) -> EntityMatch | None:
    """A place, organization, event, language or color: the words said, lead-ins taken off."""
    cleaned = re.sub(r"[^\w\s'\-&.]", " ", text).strip()
    lowered = cleaned.lower()
    while True:
        m = _LEADS.match(lowered)
        if not m:
            break
        cleaned, lowered = cleaned[m.end():], lowered[m.end():]
    cleaned = re.sub(r"\s+(please|thanks|thank you)$", "", cleaned.strip(), flags=re.IGNORECASE)
    return EntityMatch(cleaned, cleaned) if cleaned else None


def _number(raw: str) -> int | float:
    value = float(raw)
    return int(value) if value.is_integer() else value


PREBUILT_ALL: dict[str, EntityRecognizer] = {
    **PREBUILT,
    "MoneyPrebuiltEntity": recognize_money,
    "CurrencyPrebuiltEntity": recognize_money,
    "PercentagePrebuiltEntity": recognize_percentage,
    "OrdinalPrebuiltEntity": recognize_ordinal_entity,
    "DurationPrebuiltEntity": recognize_duration,
    "TemperaturePrebuiltEntity": _with_unit(r"degrees?|fahrenheit|celsius|centigrade|f|c"),
    "DimensionPrebuiltEntity": _with_unit(
        r"meters?|metres?|kilometers?|kilometres?|km|miles?|feet|foot|inches?|centimeters?|cm|yards?"
    ),
    "SpeedPrebuiltEntity": _with_unit(r"miles? per hour|mph|kilometers? per hour|km/h|kph|knots?"),
    "WeightPrebuiltEntity": _with_unit(r"pounds?|lbs?|kilograms?|kilos?|kg|grams?|g|ounces?|oz|tons?"),
    "ZipCodePrebuiltEntity": recognize_zip,
    "URLPrebuiltEntity": recognize_url,
    "DateTimeNoTimeZonePrebuiltEntity": PREBUILT["DateTimePrebuiltEntity"],
    **{
        name: recognize_name_words
        for name in (
            "CityPrebuiltEntity", "StatePrebuiltEntity", "CountryOrRegionPrebuiltEntity",
            "ContinentPrebuiltEntity", "OrganizationPrebuiltEntity",
            "PointOfInterestPrebuiltEntity", "EventPrebuiltEntity", "LanguagePrebuiltEntity",
            "ColorPrebuiltEntity", "StreetAddressPrebuiltEntity",
        )
    },
}

# Entities a keypad answers: the digits keyed (with `#` to finish) as a number or as text.
DTMF_NUMBER = frozenset({
    "NumberPrebuiltEntity", "AgePrebuiltEntity", "MoneyPrebuiltEntity", "CurrencyPrebuiltEntity",
    "PercentagePrebuiltEntity", "OrdinalPrebuiltEntity", "TemperaturePrebuiltEntity",
})
DTMF_TEXT = frozenset({"StringPrebuiltEntity", "PhoneNumberPrebuiltEntity", "ZipCodePrebuiltEntity"})
