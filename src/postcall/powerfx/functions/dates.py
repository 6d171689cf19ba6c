"""Date and time functions: Now, Today, Date, DateAdd, DateDiff, DateValue, Year..., Weekday."""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from collections.abc import Callable

from postcall.powerfx.coerce import date_to_serial, serial_to_datetime, to_number, to_text
from postcall.powerfx.culture import Culture, get_culture
from postcall.powerfx.dateparse import parse_datetime_text
from postcall.powerfx.functions.registry import CallSite, eager
from postcall.powerfx.functions.text import tabular
from postcall.powerfx.runtime import Frame
from postcall.powerfx.values import ErrorKind, ErrorValue, OptionValue, UntypedObject, Value
from postcall.powerfx.zones import from_utc as _from_utc
from postcall.powerfx.zones import to_utc as _to_utc
from postcall.powerfx.zones import utc_offset as _utc_offset

_ISO_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2}([T ].*)?|\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)$")



def to_datetime(site: CallSite, value: Value, *, day_first: bool = False) -> dt.datetime | None | ErrorValue:
    """DateTime coercion: dates, numbers (serial days), text (DateTimeValue rules)."""
    if value is None:
        return None
    if isinstance(value, ErrorValue):
        return value
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, dt.timedelta):
        return dt.datetime(1899, 12, 30) + value
    if isinstance(value, UntypedObject):
        raw = value.raw
        if raw is None:
            return None
        if isinstance(raw, str):
            if not _ISO_DATE.match(raw):
                return site.invalid(f"{raw!r} is not an ISO 8601 date.")
            return to_datetime(site, raw)
        return site.invalid("the untyped value is not a date (dates in JSON are ISO 8601 text).")
    if isinstance(value, str):
        if value == "":
            return None
        parsed = parse_datetime_text(value, day_first=day_first)
        if parsed is None:
            return site.invalid(f"{value!r} is not a date or time.")
        date = parsed.date or dt.date(1899, 12, 30)
        result = dt.datetime(date.year, date.month, date.day) + (parsed.time or dt.timedelta())
        if parsed.offset is not None:
            result = result - parsed.offset  # to UTC; the local zone of the context is applied later
        return result
    if isinstance(value, bool):
        return site.invalid("a boolean is not a date.")
    number = to_number(value)
    if isinstance(number, ErrorValue):
        return number
    return serial_to_datetime(number)


def to_date(site: CallSite, value: Value) -> dt.date | None | ErrorValue:
    result = to_datetime(site, value)
    if isinstance(result, dt.datetime):
        return result.date()
    return result


def _language_ok(site: CallSite, args: list[Value], index: int) -> ErrorValue | None:
    culture = _culture_arg(site, args, index)
    return culture if isinstance(culture, ErrorValue) else None


def _culture_arg(site: CallSite, args: list[Value], index: int) -> Culture | ErrorValue | None:
    """The culture a language argument names (None when there is none), or BadLanguageCode."""
    if len(args) <= index or args[index] is None:
        return None
    lang = to_text(args[index])
    if isinstance(lang, ErrorValue):
        return lang
    culture = get_culture(lang)
    if culture is None:
        return site.error(ErrorKind.BadLanguageCode, f"Unknown language code {lang!r}.")
    return culture


def _day_first(culture: Culture | ErrorValue | None) -> bool:
    return isinstance(culture, Culture) and culture.day_first


def _local_from_utc(frame: Frame, value: dt.datetime, text: Value) -> dt.datetime:
    if isinstance(text, UntypedObject):  # ParseJSON's text reads as the text does
        text = text.raw if isinstance(text.raw, str) else None
    if isinstance(text, str) and (text.endswith("Z") or (len(text) > 6 and text[-6] in "+-" and text[-3] == ":")):
        return value.replace(tzinfo=dt.UTC).astimezone(frame.ctx.timezone).replace(tzinfo=None)
    return value


@eager("DateValue", 1, 2)
@tabular
def _date_value(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """DateValue(text, [language]): numeric dates in the language's order (10/1/1920 is 10 January in vi-VN)."""
    culture = _culture_arg(site, args, 1)
    if isinstance(culture, ErrorValue):
        return culture
    result = to_datetime(site, args[0], day_first=_day_first(culture))
    if isinstance(result, dt.datetime):
        return _local_from_utc(frame, result, args[0]).date()
    return result


@eager("DateTimeValue", 1, 2)
@tabular
def _datetime_value(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """DateTimeValue(text, [language])"""
    culture = _culture_arg(site, args, 1)
    if isinstance(culture, ErrorValue):
        return culture
    result = to_datetime(site, args[0], day_first=_day_first(culture))
    if isinstance(result, dt.datetime):
        return _local_from_utc(frame, result, args[0])
    return result


@eager("TimeValue", 1, 2)
@tabular
def _time_value(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """TimeValue(text, [language])"""
    bad = _language_ok(site, args, 1)
    if bad is not None:
        return bad
    result = to_datetime(site, args[0])
    if isinstance(result, dt.datetime):
        return dt.timedelta(
            hours=result.hour, minutes=result.minute, seconds=result.second, microseconds=result.microsecond
        )
    return result


@eager("Now", 0, 0)
def _now(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Now(): the current local date and time (from the context's clock)."""
    return frame.ctx.local_now()


@eager("Today", 0, 0)
def _today(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Today(): the current local date."""
    return frame.ctx.local_now().date()


@eager("IsToday", 1, 1)
def _is_today(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """IsToday(date)"""
    value = to_date(site, args[0])
    if isinstance(value, ErrorValue):
        return value
    return value == frame.ctx.local_now().date()


@eager("UTCNow", 0, 0)
def _utc_now(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """UTCNow()"""
    now = frame.ctx.local_now().replace(tzinfo=frame.ctx.timezone)
    return now.astimezone(dt.UTC).replace(tzinfo=None)


@eager("UTCToday", 0, 0)
def _utc_today(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """UTCToday()"""
    now = frame.ctx.local_now().replace(tzinfo=frame.ctx.timezone)
    return now.astimezone(dt.UTC).date()


@eager("TimeZoneOffset", 0, 1)
def _tz_offset(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """TimeZoneOffset([datetime]): minutes to add to local time to get UTC."""
    when = to_datetime(site, args[0]) if args else dt.datetime(2000, 1, 1)
    if isinstance(when, ErrorValue):
        return when
    local = (when or dt.datetime(2000, 1, 1)).replace(tzinfo=frame.ctx.timezone)
    offset = local.utcoffset() or dt.timedelta()
    return -offset.total_seconds() / 60


def _ints(args: list[Value]) -> list[float] | ErrorValue:
    """The arguments as whole numbers, or every argument's error."""
    out: list[float] = []
    errors: list[ErrorValue] = []
    for a in args:
        n = to_number(a)
        if isinstance(n, ErrorValue):
            errors.append(n)
        elif math.isnan(n) or math.isinf(n):
            errors.append(ErrorValue(ErrorKind.InvalidArgument, "Not a finite number."))
        else:
            out.append(float(math.trunc(n)))
    return ErrorValue.merge(errors) if errors else out


def make_date(year: float, month: float, day: float) -> dt.date | None:
    """Date(year, month, day) with month and day overflow rolling over, as Excel does."""
    y = int(year)
    if 0 <= y < 1900 and False:
        y += 1900
    m = int(month) - 1
    y += m // 12
    m = m % 12 + 1
    if not 1 <= y <= 9999:
        return None
    try:
        base = dt.date(y, m, 1)
        return base + dt.timedelta(days=int(day) - 1)
    except (ValueError, OverflowError):
        return None


@eager("Date", 3, 3)
def _date(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Date(year, month, day)"""
    numbers = _ints(args)
    if isinstance(numbers, ErrorValue):
        return numbers
    result = make_date(*numbers)
    return result if result is not None else site.invalid("the date is out of range.")


@eager("DateTime", 6, 7)
def _datetime(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """DateTime(year, month, day, hour, minute, second, [millisecond])"""
    numbers = _ints(args)
    if isinstance(numbers, ErrorValue):
        return numbers
    date = make_date(*numbers[:3])
    if date is None:
        return site.invalid("the date is out of range.")
    h, mi, s = numbers[3:6]
    ms = numbers[6] if len(numbers) > 6 else 0.0
    try:
        local = dt.datetime(date.year, date.month, date.day) + dt.timedelta(
            hours=h, minutes=mi, seconds=s, milliseconds=ms
        )
    except (OverflowError, ValueError):
        return site.invalid("the date is out of range.")
    return existing_local_time(local, frame.ctx.timezone)


@eager("Time", 3, 4)
def _time(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Time(hour, minute, second, [millisecond])"""
    numbers = _ints(args)
    if isinstance(numbers, ErrorValue):
        return numbers
    h, mi, s = numbers[:3]
    ms = numbers[3] if len(numbers) > 3 else 0.0
    try:
        value = dt.timedelta(hours=h, minutes=mi, seconds=s, milliseconds=ms)
    except OverflowError:
        return site.invalid("the time is out of range.")
    return value


def _part(name: str, getter: object) -> None:
    assert callable(getter)
    get: Callable[[dt.datetime], float] = getter

    def impl(frame: Frame, site: CallSite, args: list[Value]) -> Value:
        value = args[0]
        if isinstance(value, dt.timedelta) and name in ("Hour", "Minute", "Second"):
            seconds = int(value.total_seconds()) % 86400
            return float({"Hour": seconds // 3600, "Minute": (seconds // 60) % 60, "Second": seconds % 60}[name])
        when = to_datetime(site, value)
        if isinstance(when, ErrorValue):
            return when
        if when is None:
            when = dt.datetime(1899, 12, 30) if name not in ("Year",) else dt.datetime(1900, 1, 1)
            if name in ("Year", "Month", "Day"):
                return {"Year": 1900.0, "Month": 1.0, "Day": 0.0}[name]
        return float(get(when))

    impl.__doc__ = f"{name}(datetime)"
    eager(name, 1, 1)(tabular(impl))


_part("Year", lambda d: d.year)
_part("Month", lambda d: d.month)
_part("Day", lambda d: d.day)
_part("Hour", lambda d: d.hour)
_part("Minute", lambda d: d.minute)
_part("Second", lambda d: d.second)


def _option_number(value: Value) -> Value:
    if isinstance(value, OptionValue):
        return value.value  # type: ignore[return-value]
    return value


@eager("Weekday", 1, 2)
def _weekday(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Weekday(date, [StartOfWeek]): 1 for Sunday by default."""
    when = to_datetime(site, args[0])
    if isinstance(when, ErrorValue):
        return when
    if when is None:
        when = dt.datetime(1899, 12, 30)
    if len(args) > 1 and args[1] is None:
        return site.invalid("the StartOfWeek argument is blank.")
    start: Value = 1.0 if len(args) < 2 else _option_number(args[1])
    start_n = to_number(start)
    if isinstance(start_n, ErrorValue):
        return start_n
    code = int(start_n)
    iso = when.isoweekday()  # Monday=1 .. Sunday=7
    if code == 1:
        return float(iso % 7 + 1)
    if code == 2:
        return float(iso)
    if code == 3:
        return float(iso - 1)
    if 11 <= code <= 17:
        first = code - 10  # 1=Monday .. 7=Sunday
        return float((iso - first) % 7 + 1)
    return site.invalid(f"{code} is not a StartOfWeek value.")


def existing_local_time(when: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """`when`, or, if the clocks skipped it (spring forward), the first local time after the gap."""
    if zone is dt.UTC:
        return when
    if _from_utc(_to_utc(when, zone), zone) == when:
        return when
    start = when
    for _ in range(24 * 60):  # gaps last minutes to hours; walk back to the gap's start
        earlier = start - dt.timedelta(minutes=1)
        if _from_utc(_to_utc(earlier, zone), zone) == earlier:
            break
        start = earlier
    # The gap's first minute, read with the offset before the change, is the time after the gap.
    return _from_utc(_to_utc(start.replace(second=0, microsecond=0), zone), zone)


@eager("WeekNum", 1, 2)
def _week_num(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """WeekNum(date, [StartOfWeek]): the week of the year; week 1 holds January 1 (Excel's system 1)."""
    when = to_datetime(site, args[0])
    if isinstance(when, ErrorValue):
        return when
    if when is None:
        when = dt.datetime(1899, 12, 30)
    start: Value = 1.0 if len(args) < 2 or args[1] is None else _option_number(args[1])
    start_n = to_number(start)
    if isinstance(start_n, ErrorValue):
        return start_n
    code = float(start_n)
    if code <= 0 or code > 17 or 3 < code < 11 or code != math.floor(code):
        return site.invalid(f"{code:g} is not a StartOfWeek value.")
    if code == 3:
        return site.invalid("StartOfWeek.MondayZero is not supported by WeekNum.")
    # First day of the week, Sunday = 1 ... Saturday = 7.
    first = {1: 1, 2: 2, 17: 1}.get(int(code), int(code) - 9)
    january_first = dt.date(when.year, 1, 1)
    weekday = january_first.isoweekday() % 7 + 1  # Sunday = 1
    offset = (weekday - first + 7) % 7
    return float((when.date() - january_first).days + offset) // 7 + 1


@eager("ISOWeekNum", 1, 1)
def _iso_week_num(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """ISOWeekNum(date): the ISO 8601 week (weeks start on Monday; week 1 holds the first Thursday)."""
    when = to_datetime(site, args[0])
    if isinstance(when, ErrorValue):
        return when
    if when is None:
        when = dt.datetime(1899, 12, 30)
    return float(when.isocalendar()[1])


UNITS = {
    "milliseconds": "milliseconds",
    "seconds": "seconds",
    "minutes": "minutes",
    "hours": "hours",
    "days": "days",
    "months": "months",
    "quarters": "quarters",
    "years": "years",
}


def unit_of(site: CallSite, value: Value) -> str | ErrorValue:
    if value is None:
        return "days"
    if isinstance(value, OptionValue):
        value = value.value  # type: ignore[assignment]
    unit = to_text(value)
    if isinstance(unit, ErrorValue):
        return unit
    key = unit.lower()
    if key not in UNITS:
        return site.invalid(f"{unit!r} is not a time unit.")
    return UNITS[key]


def add_months(when: dt.datetime, months: int) -> dt.datetime:
    total = when.year * 12 + (when.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise OverflowError("year out of range")
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


@eager("DateAdd", 2, 3)
@tabular
def _date_add(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """DateAdd(date, number, [TimeUnit.Days])"""
    base = args[0]
    unit = unit_of(site, args[2] if len(args) > 2 else None)
    if isinstance(unit, ErrorValue):
        return unit
    amount = to_number(args[1])
    if isinstance(amount, ErrorValue):
        return amount
    if base is None:
        base = dt.datetime(1899, 12, 30)
    is_time = isinstance(base, dt.timedelta)
    is_date_only = isinstance(base, dt.date) and not isinstance(base, dt.datetime)
    when = to_datetime(site, base)
    if isinstance(when, ErrorValue):
        return when
    if when is None:
        when = dt.datetime(1899, 12, 30)
    try:
        if unit in ("months", "quarters", "years"):
            months = math.trunc(amount) * {"months": 1, "quarters": 3, "years": 12}[unit]
            result = add_months(when, months)
        else:
            factor = {"milliseconds": 0.001, "seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}[unit]
            delta = dt.timedelta(seconds=amount * factor)
            if unit != "days" and not is_time:
                # Sub-day units count elapsed time: across a daylight saving change, in UTC.
                result = _from_utc(_to_utc(when, frame.ctx.timezone) + delta, frame.ctx.timezone)
            else:
                result = when + delta
    except (OverflowError, ValueError):
        return site.error(ErrorKind.InvalidArgument, "DateAdd: the date is out of range.")
    if is_time:
        return result - dt.datetime(1899, 12, 30)
    if is_date_only:
        return result.date()
    return result


@eager("DateDiff", 2, 3)
def _date_diff(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """DateDiff(start, end, [TimeUnit.Days]): unit boundaries crossed."""
    unit = unit_of(site, args[2] if len(args) > 2 else None)
    if isinstance(unit, ErrorValue):
        return unit
    start = to_datetime(site, args[0])
    end = to_datetime(site, args[1])
    if isinstance(start, ErrorValue):
        return start
    if isinstance(end, ErrorValue):
        return end
    start = start if start is not None else dt.datetime(1899, 12, 30)
    end = end if end is not None else dt.datetime(1899, 12, 30)
    if unit == "years":
        return float(end.year - start.year)
    if unit == "quarters":
        return float((end.year - start.year) * 4 + (end.month - 1) // 3 - (start.month - 1) // 3)
    if unit == "months":
        return float((end.year - start.year) * 12 + end.month - start.month)
    # Elapsed time across a daylight saving change: shift the end by the change of UTC offset.
    end += _utc_offset(start, frame.ctx.timezone) - _utc_offset(end, frame.ctx.timezone)
    if unit == "days":
        return float((end.date() - start.date()).days)
    if unit == "hours":
        return float(math.floor(date_to_serial(end) * 24 + 1e-9) - math.floor(date_to_serial(start) * 24 + 1e-9))
    if unit == "minutes":
        a = end.replace(second=0, microsecond=0)
        b = start.replace(second=0, microsecond=0)
        return float((a - b) // dt.timedelta(minutes=1))
    if unit == "seconds":
        a = end.replace(microsecond=0)
        b = start.replace(microsecond=0)
        return float((a - b) // dt.timedelta(seconds=1))
    return float((end - start) // dt.timedelta(milliseconds=1))


@eager("EDate", 2, 2)
def _edate(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """EDate(date, months)"""
    when = to_datetime(site, args[0])
    months = to_number(args[1])
    if isinstance(when, ErrorValue):
        return when
    if isinstance(months, ErrorValue):
        return months
    if when is None:
        when = dt.datetime(1899, 12, 30)
    try:
        return add_months(when, math.trunc(months)).date()
    except (OverflowError, ValueError):
        return site.invalid("the date is out of range.")


@eager("EOMonth", 2, 2)
def _eomonth(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """EOMonth(date, months): the last day of the month."""
    when = to_datetime(site, args[0])
    months = to_number(args[1])
    if isinstance(when, ErrorValue):
        return when
    if isinstance(months, ErrorValue):
        return months
    if when is None:
        when = dt.datetime(1899, 12, 30)
    try:
        moved = add_months(when.replace(day=1), math.trunc(months))
    except (OverflowError, ValueError):
        return site.invalid("the date is out of range.")
    return moved.replace(day=calendar.monthrange(moved.year, moved.month)[1]).date()


__all__ = ["date_to_serial", "to_date", "to_datetime"]
