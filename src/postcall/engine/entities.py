"""Prebuilt entity recognisers: turn what the caller said or keyed into a typed value.

Each recogniser takes the caller's text (and the current time, for relative dates) and returns
an `EntityMatch` or None.  They are deliberately rule-based and deterministic: the same words give
the same value on every replay.  Spoken digits ("one two three") and number words ("forty two")
are understood because speech recognisers often transcribe them that way.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from postcall.engine.textnorm import normalise, words


@dataclass(frozen=True, slots=True)
class EntityMatch:
    """A recognised value; `text` is the part of the input it came from."""

    value: Any
    text: str


# ---------------------------------------------------------------------------------------------
# Boolean

_YES = {
    "yes", "yeah", "yep", "yup", "ya", "yea", "sure", "correct", "right", "ok", "okay", "affirmative",
    "absolutely", "definitely", "certainly", "indeed", "true", "please", "aye", "uh huh", "of course",
    "that's right", "that is right", "that's correct", "yes please", "go ahead", "sounds good",
    "i do", "i would", "please do", "do it", "alright", "all right", "exactly", "positive", "sí",
    "si", "oui", "ja",
}
_NO = {
    "no", "nope", "nah", "negative", "incorrect", "wrong", "false", "not really", "no thanks",
    "no thank you", "never", "not at all", "i don't", "i do not", "don't", "do not", "no way",
    "not now", "nein", "non", "absolutely not", "definitely not", "of course not", "cancel",
}
_NEGATORS = {"not", "don't", "dont", "no", "never", "isn't", "isnt"}


def recognize_boolean(text: str, now: dt.datetime | None = None) -> EntityMatch | None:
    """Yes/no in its common spoken variants; DTMF 1 is yes and 2 is no."""
    norm = normalise(text)
    if norm in {"1"}:
        return EntityMatch(True, text)
    if norm in {"2"}:
        return EntityMatch(False, text)
    if norm in _YES:
        return EntityMatch(True, text)
    if norm in _NO:
        return EntityMatch(False, text)
    toks = words(norm)
    if not toks:
        return None
    # Longest phrase first so "not really" wins over "really", "absolutely not" over "absolutely".
    for n in (3, 2):
        for i in range(len(toks) - n + 1):
            phrase = " ".join(toks[i : i + n])
            if phrase in _NO:
                return EntityMatch(False, phrase)
    for n in (3, 2):
        for i in range(len(toks) - n + 1):
            phrase = " ".join(toks[i : i + n])
            if phrase in _YES:
                return EntityMatch(True, phrase)
    has_negator = any(t in _NEGATORS for t in toks)
    for tok in toks:
        if tok in _NO:
            return EntityMatch(False, tok)
    for tok in toks:
        if tok in _YES:
            return EntityMatch(not has_negator, tok)
    return None


# ---------------------------------------------------------------------------------------------
# Numbers

_UNITS = {
    "zero": 0, "oh": 0, "o": 0, "nought": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "a": 1, "an": 1,
}
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_DIGIT_WORDS = {
    "zero": "0", "oh": "0", "o": "0", "nought": "0", "one": "1", "two": "2", "three": "3",
    "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "last": -1,
}
_MULTIPLIERS = {"double": 2, "triple": 3}
_NUMERIC = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")


def spoken_digits(text: str) -> str | None:
    """Digits spoken or typed one by one: "one two three", "1 2 3", "double five" -> "123"/"55".

    Returns None unless every word is a digit word, a run of digits, or double/triple.
    """
    toks = [t for t in re.split(r"[\s,.\-]+", text.lower().strip()) if t]
    if not toks:
        return None
    out: list[str] = []
    repeat = 1
    for tok in toks:
        if tok in _MULTIPLIERS:
            repeat = _MULTIPLIERS[tok]
            continue
        if tok.isdigit():
            out.append(tok * repeat if len(tok) == 1 else tok)
        elif tok in _DIGIT_WORDS and tok not in {"a", "an"}:
            out.append(_DIGIT_WORDS[tok] * repeat)
        else:
            return None
        repeat = 1
    if repeat != 1:
        return None
    return "".join(out)


def _words_to_number(toks: list[str]) -> int | None:
    """English number words to an int: "one hundred and five", "forty two", "two thousand"."""
    total = 0
    current = 0
    seen = False
    for tok in toks:
        if tok == "and" and seen:
            continue
        if tok in _UNITS and not (tok in {"a", "an", "o"} and seen):
            current += _UNITS[tok]
        elif tok in _TENS:
            current += _TENS[tok]
        elif tok == "hundred":
            current = max(current, 1) * 100
        elif tok in _SCALES:
            total += max(current, 1) * _SCALES[tok]
            current = 0
        else:
            return None
        seen = True
    if not seen:
        return None
    return total + current


def _is_single_digit_sequence(toks: list[str]) -> bool:
    digitish = [t for t in toks if t not in _MULTIPLIERS]
    return len(digitish) >= 2 and all(t in _DIGIT_WORDS for t in digitish)


def _to_number(raw: str) -> float | int:
    value = Decimal(raw.replace(",", ""))
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def recognize_number(text: str, now: dt.datetime | None = None) -> EntityMatch | None:
    """A number: "42", "-3.5", "1,234", "forty two", "one hundred and five", "one two three" (123)."""
    stripped = text.strip()
    compact = stripped.replace(" ", "")
    if _NUMERIC.match(compact):
        try:
            return EntityMatch(_to_number(compact), stripped)
        except InvalidOperation:
            return None
    norm = normalise(stripped)
    for match in re.finditer(r"[+-]?\d+(?:,\d{3})*(?:\.\d+)?", norm):
        try:
            return EntityMatch(_to_number(match.group(0)), match.group(0))
        except InvalidOperation:  # pragma: no cover - the pattern only matches numerals
            continue
    toks = [t for t in re.split(r"[\s\-]+", norm) if t]
    whole = spoken_digits(norm)
    if whole is not None and len(toks) >= 2:
        return EntityMatch(int(whole), norm)
    # The longest run of number words anywhere in the sentence ("it's forty two please").
    best: EntityMatch | None = None
    for start in range(len(toks)):
        for end in range(len(toks), start, -1):
            run = toks[start:end]
            if run[0] in {"and", "a", "an", "o"} or run[-1] == "and":
                continue
            if _is_single_digit_sequence(run):
                digits = spoken_digits(" ".join(run))
                if digits is not None:
                    cand = EntityMatch(int(digits), " ".join(run))
                    if best is None or len(cand.text) > len(best.text):
                        best = cand
                    break
            value = _words_to_number(run)
            if value is not None:
                cand = EntityMatch(value, " ".join(run))
                if best is None or len(cand.text) > len(best.text):
                    best = cand
                break
    if best is not None:
        neg = re.search(r"\b(minus|negative)\s+" + re.escape(best.text), norm)
        if neg and isinstance(best.value, int):
            return EntityMatch(-best.value, neg.group(0))
    return best


def recognize_ordinal(text: str) -> int | None:
    """"the second one" -> 2, "last" -> -1; None when no ordinal is said."""
    for tok in words(normalise(text)):
        if tok in _ORDINALS:
            return _ORDINALS[tok]
        m = re.fullmatch(r"(\d+)(st|nd|rd|th)", tok)
        if m:
            return int(m.group(1))
    return None


# ---------------------------------------------------------------------------------------------
# Date and time

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sep": 9, "sept": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12,
    "dec": 12,
}
_TIME = re.compile(
    r"\b(?:at\s+)?(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<ampm>a\.?m\.?|p\.?m\.?)?(?=\s|$|[,.])"
)


def _parse_time(norm: str) -> tuple[int, int] | None:
    if "noon" in norm or "midday" in norm:
        return 12, 0
    if "midnight" in norm:
        return 0, 0
    for m in _TIME.finditer(norm):
        hour = int(m.group("h"))
        minute = int(m.group("m") or 0)
        ampm = (m.group("ampm") or "").replace(".", "")
        if not ampm and m.group("m") is None and not m.group(0).startswith("at"):
            continue
        if ampm == "pm" and hour < 12:
            hour += 12
        if not ampm and m.group("m") is None and 1 <= hour <= 7:
            hour += 12  # "at 3" said on a call means the afternoon (business hours), not 3 am
        if ampm == "am" and hour == 12:
            hour = 0
        if 0 <= hour < 24 and 0 <= minute < 60:
            return hour, minute
    return None


def _parse_date(norm: str, today: dt.date) -> dt.date | None:
    m = re.search(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", norm)
    if m:
        return _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = re.search(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b", norm)
    if m:  # US order, as Copilot Studio's en-US recogniser reads it
        year = int(m.group(3)) if m.group(3) else today.year
        year = year + 2000 if year < 100 else year
        return _safe_date(year, int(m.group(1)), int(m.group(2)))
    if "day after tomorrow" in norm:
        return today + dt.timedelta(days=2)
    if "tomorrow" in norm:
        return today + dt.timedelta(days=1)
    if "yesterday" in norm:
        return today - dt.timedelta(days=1)
    if re.search(r"\b(today|tonight|now)\b", norm):
        return today
    m = re.search(r"\bin (\w+) (day|days|week|weeks)\b", norm)
    if m:
        amount = recognize_number(m.group(1))
        if amount is not None and isinstance(amount.value, int):
            days = amount.value * (7 if m.group(2).startswith("week") else 1)
            return today + dt.timedelta(days=days)
    toks = words(norm)
    for i, tok in enumerate(toks):
        if tok in _MONTHS:
            month = _MONTHS[tok]
            day = _ordinal_or_number(toks[i + 1]) if i + 1 < len(toks) else None
            if day is None and i > 0:
                day = _ordinal_or_number(toks[i - 1])
                if day is None and i > 1 and toks[i - 1] == "of":
                    day = _ordinal_or_number(toks[i - 2])
            if day is None:
                continue
            year = today.year
            for follow in toks[i + 1 : i + 4]:
                if re.fullmatch(r"\d{4}", follow):
                    year = int(follow)
                    break
            return _safe_date(year, month, day)
    for i, tok in enumerate(toks):
        if tok in _WEEKDAYS:
            target = _WEEKDAYS.index(tok)
            delta = (target - today.weekday()) % 7
            if delta == 0 or (i > 0 and toks[i - 1] == "next"):
                delta = delta or 7
            return today + dt.timedelta(days=delta)
    return None


def _ordinal_or_number(tok: str) -> int | None:
    m = re.fullmatch(r"(\d{1,2})(st|nd|rd|th)?", tok)
    if m:
        return int(m.group(1))
    if tok in _ORDINALS and _ORDINALS[tok] > 0:
        return _ORDINALS[tok]
    return None


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def recognize_datetime(text: str, now: dt.datetime | None = None) -> EntityMatch | None:
    """A date and/or time relative to `now`: "tomorrow at 3pm", "March 5", "2026-05-01", "next friday"."""
    if now is None:
        return None
    norm = normalise(text)
    try:
        parsed = dt.datetime.fromisoformat(text.strip())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=now.tzinfo)
        return EntityMatch(parsed, text.strip())
    except ValueError:
        pass
    date = _parse_date(norm, now.date())
    time = _parse_time(norm)
    if date is None and time is None:
        return None
    date = date or now.date()
    hour, minute = time or (0, 0)
    return EntityMatch(dt.datetime(date.year, date.month, date.day, hour, minute, tzinfo=now.tzinfo), text)


# ---------------------------------------------------------------------------------------------
# Names and strings

_NAME_LEADS = (
    r"my name is", r"my name's", r"the name is", r"name is", r"i am", r"i'm", r"im", r"this is",
    r"it's", r"it is", r"call me", r"you can call me", r"they call me",
)
_NOT_NAMES = {
    "yes", "no", "hello", "hi", "hey", "okay", "ok", "thanks", "thank", "you", "the", "a", "an",
    "not", "sure", "calling", "looking", "trying", "here", "fine", "good", "well",
}


def recognize_person_name(text: str, now: dt.datetime | None = None) -> EntityMatch | None:
    """A person's name: "my name is Ada Lovelace", "this is Ada", or just "Ada Lovelace"."""
    cleaned = re.sub(r"[^\w\s'\-]", " ", text).strip()
    lowered = cleaned.lower()
    for lead in _NAME_LEADS:
        m = re.search(r"\b" + lead + r"\s+(.+)$", lowered)
        if m:
            start = m.start(1)
            candidate = cleaned[start:].split()
            break
    else:
        candidate = cleaned.split()
    candidate = [w for w in candidate[:4] if re.fullmatch(r"[^\W\d_][\w'\-]*", w)]
    while candidate and candidate[-1].lower() in {"please", "thanks", "here", "speaking"}:
        candidate.pop()
    if not candidate or len(candidate) > 3 or candidate[0].lower() in _NOT_NAMES:
        return None
    name = " ".join(w[:1].upper() + w[1:] for w in candidate)
    return EntityMatch(name, " ".join(candidate))


def recognize_string(text: str, now: dt.datetime | None = None) -> EntityMatch | None:
    """Any non-empty text, as said."""
    stripped = text.strip()
    return EntityMatch(stripped, stripped) if stripped else None


# A match starts where a run of address characters starts, so a long run without a valid
# address fails once instead of once per position (caller text; linear, not quadratic).
_EMAIL = re.compile(r"(?<![\w.+\-])[\w.+\-]+@[\w\-]+(\.[\w\-]+)+")


def recognize_email(text: str, now: dt.datetime | None = None) -> EntityMatch | None:
    spoken = re.sub(r"\s+at\s+", "@", re.sub(r"\s+dot\s+", ".", text.strip().lower()))
    m = _EMAIL.search(spoken)
    return EntityMatch(m.group(0), m.group(0)) if m else None


def recognize_phone_number(text: str, now: dt.datetime | None = None) -> EntityMatch | None:
    digits = spoken_digits(text)
    if digits is None:
        m = re.search(r"\+?[\d\s().\-]{7,}", text)
        if not m:
            return None
        raw = m.group(0).strip()
        digits = ("+" if raw.startswith("+") else "") + re.sub(r"\D", "", raw)
    return EntityMatch(digits, text.strip()) if len(digits.lstrip("+")) >= 7 else None


# Customer satisfaction (CSATQuestion): Copilot Studio's five stars, said as words or a number.
_CSAT_PHRASES: tuple[tuple[str, int], ...] = (
    ("very dissatisfied", 1), ("very unsatisfied", 1), ("extremely dissatisfied", 1),
    ("very unhappy", 1), ("very bad", 1), ("very poor", 1), ("terrible", 1), ("awful", 1),
    ("horrible", 1), ("not satisfied", 2), ("not happy", 2), ("dissatisfied", 2),
    ("unsatisfied", 2), ("unhappy", 2), ("poor", 2), ("bad", 2), ("neutral", 3), ("so so", 3),
    ("okay", 3), ("ok", 3), ("average", 3), ("alright", 3), ("fine", 3),
    ("very satisfied", 5), ("extremely satisfied", 5), ("very happy", 5), ("very good", 5),
    ("excellent", 5), ("great", 5), ("perfect", 5), ("amazing", 5), ("fantastic", 5),
    ("satisfied", 4), ("happy", 4), ("good", 4),
)


def recognize_csat(text: str, now: dt.datetime | None = None) -> EntityMatch | None:
    """A 1-5 satisfaction rating: "four", "4 stars", "very satisfied" (5), "dissatisfied" (2)."""
    norm = normalise(text)
    padded = f" {norm} "
    found = [(len(p), p, v) for p, v in _CSAT_PHRASES if f" {p} " in padded]
    number = recognize_number(norm)
    if number is not None and isinstance(number.value, int) and 1 <= number.value <= 5:
        return EntityMatch(number.value, number.text)
    if found:
        found.sort(key=lambda f: -f[0])
        return EntityMatch(found[0][2], found[0][1])
    return None


EntityRecognizer = Callable[[str, "dt.datetime | None"], "EntityMatch | None"]

PREBUILT: dict[str, EntityRecognizer] = {
    "BooleanPrebuiltEntity": recognize_boolean,
    "NumberPrebuiltEntity": recognize_number,
    "DateTimePrebuiltEntity": recognize_datetime,
    "DatePrebuiltEntity": recognize_datetime,
    "PersonNamePrebuiltEntity": recognize_person_name,
    "StringPrebuiltEntity": recognize_string,
    "EmailPrebuiltEntity": recognize_email,
    "PhoneNumberPrebuiltEntity": recognize_phone_number,
    "AgePrebuiltEntity": recognize_number,
}
