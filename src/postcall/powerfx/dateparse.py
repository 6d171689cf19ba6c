"""Reading dates and times from text the way DateValue/DateTimeValue/TimeValue do (en-US first)."""

from __future__ import annotations

import datetime as dt
import re

MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [
            ("january", "jan", "janvier", "janv", "enero", "januar", "gennaio", "ene"),
            ("february", "feb", "février", "fevrier", "févr", "febrero", "februar", "febbraio"),
            ("march", "mar", "mars", "marzo", "märz"),
            ("april", "apr", "avril", "abril", "aprile", "avr", "abr"),
            ("may", "mai", "mayo", "maggio"),
            ("june", "jun", "juin", "junio", "juni", "giugno"),
            ("july", "jul", "juillet", "julio", "juli", "luglio", "juil"),
            ("august", "aug", "août", "aout", "agosto", "ago"),
            ("september", "sep", "sept", "septembre", "septiembre", "settembre"),
            ("october", "oct", "octobre", "octubre", "oktober", "ottobre", "okt"),
            ("november", "nov", "novembre", "noviembre"),
            ("december", "dec", "décembre", "decembre", "diciembre", "dezember", "dicembre", "dic", "dez", "déc"),
        ]
    )
    for name in names
}

WEEKDAYS = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun",
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
}

_ISO = re.compile(
    r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[T ](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d+))?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)
_TIME = re.compile(
    r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d+))?)?\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?"
)


class ParsedDateTime:
    __slots__ = ("date", "time", "offset")

    def __init__(self, date: dt.date | None, time: dt.timedelta | None, offset: dt.timedelta | None) -> None:
        self.date = date
        self.time = time
        self.offset = offset


def _year(text: str) -> int:
    value = int(text)
    if len(text) <= 2:
        return 2000 + value if value < 50 else 1900 + value
    return value


def _fraction_ms(text: str | None) -> int:
    if not text:
        return 0
    return int((text + "000")[:3])


def _time_of(match: re.Match[str]) -> dt.timedelta | None:
    hour = int(match.group("H"))
    minute = int(match.group("M"))
    second = int(match.group("S") or 0)
    ampm = match.group("ampm")
    if ampm:
        if hour > 12:
            return None
        is_pm = ampm[0] in "Pp"
        hour = (hour % 12) + (12 if is_pm else 0)
    # Hours past 23 run into the next day, as Excel reads "27:00:00" (TimeValue keeps the time).
    if hour > 99 or minute > 59 or second > 59:
        return None
    return dt.timedelta(hours=hour, minutes=minute, seconds=second, milliseconds=_fraction_ms(match.group("f")))


def parse_datetime_text(text: str, day_first: bool = False) -> ParsedDateTime | None:
    """Parse a date and/or time; None when the text is not one."""
    raw = text.strip()
    if not raw:
        return None
    iso = _ISO.match(raw)
    if iso:
        try:
            date = dt.date(int(iso.group("y")), int(iso.group("m")), int(iso.group("d")))
        except ValueError:
            return None
        time = None
        if iso.group("H") is not None:
            if int(iso.group("H")) > 23:
                return None
            time = dt.timedelta(
                hours=int(iso.group("H")),
                minutes=int(iso.group("M")),
                seconds=int(iso.group("S") or 0),
                milliseconds=_fraction_ms(iso.group("f")),
            )
        offset = None
        tz = iso.group("tz")
        if tz:
            if tz == "Z":
                offset = dt.timedelta(0)
            else:
                sign = -1 if tz[0] == "-" else 1
                digits = tz[1:].replace(":", "")
                offset = sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return ParsedDateTime(date, time, offset)
    time_value: dt.timedelta | None = None
    rest = raw
    tmatch = _TIME.search(raw)
    if tmatch:
        time_value = _time_of(tmatch)
        if time_value is None:
            return None
        rest = (raw[: tmatch.start()] + " " + raw[tmatch.end() :]).strip()
    if not rest:
        return ParsedDateTime(None, time_value, None)
    parsed_date = _parse_date_part(rest, day_first)
    if parsed_date is None:
        return None
    return ParsedDateTime(parsed_date, time_value, None)


def _parse_date_part(text: str, day_first: bool) -> dt.date | None:
    cleaned = text.replace("年", "/").replace("月", "/").replace("日", " ")
    tokens = [t for t in re.split(r"[\s,/.\-]+", cleaned.lower()) if t]
    tokens = [t for t in tokens if t not in WEEKDAYS and t not in ("de", "the", "of")]
    numbers: list[str] = []
    month_name: int | None = None
    for tok in tokens:
        if tok.isdigit():
            numbers.append(tok)
        elif tok.rstrip(".") in MONTHS:
            month_name = MONTHS[tok.rstrip(".")]
        elif re.fullmatch(r"\d+(st|nd|rd|th)", tok):
            numbers.append(re.sub(r"\D", "", tok))
        else:
            return None
    try:
        if month_name is not None:
            if len(numbers) == 2:
                a, b = numbers
                if len(a) == 4:
                    return dt.date(int(a), month_name, int(b))
                return dt.date(_year(b), month_name, int(a))
            if len(numbers) == 1:
                return None
            return None
        if len(numbers) == 3:
            a, b, c = numbers
            if len(a) == 4:
                return dt.date(int(a), int(b), int(c))
            if day_first:
                return dt.date(_year(c), int(b), int(a))
            return dt.date(_year(c), int(a), int(b))
        if len(numbers) == 2:
            a, b = numbers
            today_year = 2000
            return dt.date(today_year, int(a), int(b))
    except ValueError:
        return None
    return None
