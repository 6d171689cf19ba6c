"""Power Fx coercion and comparison rules: how values turn into numbers, text, booleans, dates."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from decimal import Decimal

from postcall.powerfx import numbers as nums
from postcall.powerfx.colors import parse_hex
from postcall.powerfx.dateparse import parse_datetime_text
from postcall.powerfx.types import FxType
from postcall.powerfx.values import (
    EPOCH,
    NUMBER_TYPES,
    TRANSPARENT,
    Color,
    ErrorKind,
    ErrorValue,
    OptionValue,
    Record,
    Table,
    UntypedObject,
    Value,
    format_number,
    type_name,
)

DAY = dt.timedelta(days=1)

_NUMBER_CORE = re.compile(r"(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_PREFIX_CHARS = set("+-%$\u20ac\u00a3\u00a5( \t\u00a0")
_SUFFIX_CHARS = set("%) \t\u00a0")
_CURRENCY = set("$\u20ac\u00a3\u00a5")


def invalid(message: str) -> ErrorValue:
    return ErrorValue(ErrorKind.InvalidArgument, message)


def text_to_number(text: str) -> float | None:
    """Parse text the way Value() does in en-US: thousands commas, a sign, %, a currency symbol
    and accounting parentheses (negative) around the digits; None when it is not a number."""
    parts = _number_parts(text)
    if parts is None:
        return None
    core, negative, percent = parts
    try:
        value = float(core)
    except ValueError:
        return None
    if negative:
        value = -value
    if percent:
        value /= 100
    if math.isinf(value):
        return None
    return value


def text_to_decimal(text: str) -> Decimal | ErrorValue | None:
    """As `text_to_number`, as a Decimal (a Numeric error when out of Decimal's range)."""
    parts = _number_parts(text)
    if parts is None:
        return None
    core, negative, percent = parts
    try:
        value = Decimal(core)
    except decimal.InvalidOperation:
        return None
    if negative:
        value = value.copy_negate()
    if percent:
        value = value.scaleb(-2, context=nums.CONTEXT)
    return nums.to_net(value)


def _number_parts(text: str) -> tuple[str, bool, bool] | None:
    """The digits (thousands commas removed), whether negative, whether a percentage."""
    n = len(text)
    i = 0
    while i < n and text[i] in _PREFIX_CHARS:
        i += 1
    match = _NUMBER_CORE.match(text, i)
    if match is None:
        return None
    prefix = text[:i]
    suffix = text[match.end() :]
    if any(ch not in _SUFFIX_CHARS for ch in suffix):
        return None
    signs = prefix.count("+") + prefix.count("-")
    percents = prefix.count("%") + suffix.count("%")
    currencies = sum(prefix.count(c) for c in _CURRENCY)
    parens = prefix.count("(")
    if signs > 1 or percents > 1 or currencies > 1 or (currencies and percents):
        return None
    if parens != suffix.count(")") or parens > 1 or (parens and signs):
        return None
    return match.group(0).replace(",", ""), bool("-" in prefix or parens), bool(percents)


def date_to_serial(value: dt.date) -> float:
    if isinstance(value, dt.datetime):
        delta = value.replace(tzinfo=None) - EPOCH
        return delta.days + delta.seconds / 86400 + delta.microseconds / 86400e6
    return float((value - EPOCH.date()).days)


def serial_to_datetime(serial: float) -> dt.datetime | ErrorValue:
    try:
        return EPOCH + dt.timedelta(days=serial)
    except (OverflowError, ValueError):
        return ErrorValue(ErrorKind.InvalidArgument, "The number is out of the range of dates.")


def time_to_fraction(value: dt.timedelta) -> float:
    return value.total_seconds() / 86400


def to_number(value: Value) -> float | ErrorValue:
    """Number coercion (Blank is 0)."""
    tp = type(value)
    if tp is float:
        return value  # type: ignore[return-value]
    if value is None:
        return 0.0
    if tp is bool:
        return 1.0 if value else 0.0
    if tp is int or tp is Decimal:
        return float(value)  # type: ignore[arg-type]
    if tp is str:
        if value == "":
            return 0.0
        parsed = text_to_number(value)  # type: ignore[arg-type]
        if parsed is None:
            return invalid(f"The text {value!r} is not a number.")
        return parsed
    if isinstance(value, ErrorValue):
        return value
    if isinstance(value, dt.date):
        return date_to_serial(value)
    if isinstance(value, dt.timedelta):
        return time_to_fraction(value)
    if isinstance(value, UntypedObject):
        return untyped_to_number(value)
    if isinstance(value, OptionValue) and isinstance(value.value, NUMBER_TYPES) and not isinstance(value.value, bool):
        return float(value.value)
    return invalid(f"A {type_name(value)} cannot be used as a number.")


def to_decimal(value: Value) -> Decimal | ErrorValue:
    """Decimal coercion (Blank is 0): what a Decimal operation does to its operands."""
    tp = type(value)
    if tp is Decimal:
        return value  # type: ignore[return-value]
    if value is None:
        return nums.ZERO
    if tp is bool:
        return nums.ONE if value else nums.ZERO
    if tp is float or tp is int:
        return nums.from_float(float(value))  # type: ignore[arg-type]
    if tp is str:
        if value == "":
            return nums.ZERO
        parsed = text_to_decimal(value)  # type: ignore[arg-type]
        if parsed is None or isinstance(parsed, ErrorValue):
            return invalid(f"The text {value!r} is not a Decimal number.")
        return parsed
    if isinstance(value, UntypedObject):
        raw = value.raw
        if isinstance(raw, (str, int, float, Decimal)) and not isinstance(raw, bool):
            parsed = text_to_decimal(str(raw)) if not isinstance(raw, float) else nums.from_float(raw)
            if parsed is None or isinstance(parsed, ErrorValue):
                return invalid(f"The untyped value {raw!s} is not a Decimal number.")
            return parsed
    number = to_number(value)
    return number if isinstance(number, ErrorValue) else nums.from_float(number)


def untyped_to_number(value: UntypedObject) -> float | ErrorValue:
    raw = value.raw
    if raw is None:
        return 0.0
    if isinstance(raw, bool):
        return 1.0 if raw else 0.0
    if isinstance(raw, (int, float, decimal.Decimal)):
        return float(raw)
    if isinstance(raw, str):
        parsed = text_to_number(raw)
        return invalid(f"The text {raw!r} is not a number.") if parsed is None else parsed
    return invalid("The untyped object is not a number.")


def format_date(value: dt.date) -> str:
    return f"{value.month}/{value.day}/{value.year}"


def format_clock(hour: int, minute: int, second: int = 0, with_seconds: bool = False) -> str:
    suffix = "AM" if hour < 12 else "PM"
    h12 = hour % 12 or 12
    if with_seconds:
        return f"{h12}:{minute:02d}:{second:02d} {suffix}"
    return f"{h12}:{minute:02d} {suffix}"


def format_datetime(value: dt.datetime) -> str:
    return f"{format_date(value)} {format_clock(value.hour, value.minute)}"


def format_timespan(value: dt.timedelta) -> str:
    seconds = int(value.total_seconds()) % 86400
    return format_clock(seconds // 3600, (seconds // 60) % 60)


def to_text(value: Value) -> str | ErrorValue:
    """Text coercion (Blank is "")."""
    tp = type(value)
    if tp is str:
        return value  # type: ignore[return-value]
    if value is None:
        return ""
    if tp is float or tp is int:
        return format_number(value)  # type: ignore[arg-type]
    if tp is Decimal:
        return nums.format_decimal(value)  # type: ignore[arg-type]
    if tp is bool:
        return "true" if value else "false"
    if isinstance(value, ErrorValue):
        return value
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, dt.date):
        return format_date(value)
    if isinstance(value, dt.timedelta):
        return format_timespan(value)
    if isinstance(value, OptionValue):
        if isinstance(value.value, str):
            return value.value
        return value.label or value.name
    if isinstance(value, UntypedObject):
        return untyped_to_text(value)
    return invalid(f"A {type_name(value)} cannot be used as text.")


def untyped_to_text(value: UntypedObject) -> str | ErrorValue:
    raw = value.raw
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, (int, float, decimal.Decimal)):
        written = getattr(raw, "text", None)  # a JSON number gives its text as written
        return written if isinstance(written, str) else format_number(float(raw))
    return invalid("The untyped object is not text.")


def to_boolean(value: Value) -> bool | ErrorValue:
    """Boolean coercion (Blank is false; numbers are true unless 0; text "true"/"false")."""
    tp = type(value)
    if tp is bool:
        return value  # type: ignore[return-value]
    if value is None:
        return False
    if tp is float or tp is int or tp is Decimal:
        return value != 0
    if tp is str:
        lowered = value.lower()  # type: ignore[union-attr]
        if lowered == "true":
            return True
        if lowered == "false" or lowered == "":
            return False
        return invalid(f"The text {value!r} is not true or false.")
    if isinstance(value, ErrorValue):
        return value
    if isinstance(value, UntypedObject):
        raw = value.raw
        if raw is None:
            return False
        if isinstance(raw, decimal.Decimal):
            return raw != 0
        if isinstance(raw, (bool, int, float, str)):
            return to_boolean(raw)
        return invalid("The untyped object is not a boolean.")
    if isinstance(value, OptionValue) and isinstance(value.value, bool):
        return value.value  # a Boolean option set member (Yes/No) as its Boolean
    return invalid(f"A {type_name(value)} cannot be used as a boolean.")


def is_blank(value: Value) -> bool:
    """IsBlank: Blank, empty text."""
    if value is None or value == "":
        return True
    if isinstance(value, UntypedObject):
        return value.raw is None or value.raw == ""
    return False


def _text_fold(value: str) -> str:
    return value


def equals(left: Value, right: Value, mode: bool = False) -> bool | ErrorValue:
    """The `=` operator (types are expected to match; Blank equals only Blank).  `mode`: Decimal
    mode, where a date or time beside a Decimal compares as an exact Decimal."""
    if isinstance(left, ErrorValue):
        return left
    if isinstance(right, ErrorValue):
        return right
    if type(left) is UntypedObject or type(right) is UntypedObject:
        left, right = _resolve_pair(left, right)  # `=` with Blank reads nothing
        if isinstance(left, ErrorValue):
            return left
        if isinstance(right, ErrorValue):
            return right
    if left is None or right is None:
        return left is None and right is None
    lt, rt = type(left), type(right)
    if lt is rt:
        if lt is float or lt is str or lt is bool or lt is Decimal:
            return left == right
    if lt is OptionValue or rt is OptionValue or lt is Color or rt is Color:
        return _equals_option(left, right)
    if lt is Decimal or rt is Decimal:
        if lt in (float, int, Decimal) and rt in (float, int, Decimal):
            return float(left) == float(right)  # type: ignore[arg-type]
        if mode and (isinstance(left, (dt.date, dt.timedelta)) or isinstance(right, (dt.date, dt.timedelta))):
            # A date or time next to a Decimal is compared as an exact Decimal serial number.
            return _date_decimal_order(left, right) == 0
        if isinstance(left, (dt.date, dt.timedelta)) or isinstance(right, (dt.date, dt.timedelta)):
            a, b = to_number(left), to_number(right)
            return a if isinstance(a, ErrorValue) else b if isinstance(b, ErrorValue) else a == b
        if isinstance(left, bool) or isinstance(right, bool):
            a, b = to_number(left), to_number(right)
            return a if isinstance(a, ErrorValue) else b if isinstance(b, ErrorValue) else a == b
    if isinstance(left, bool) or isinstance(right, bool):
        if isinstance(left, bool) and isinstance(right, bool):
            return left == right
        if isinstance(left, NUMBER_TYPES) or isinstance(right, NUMBER_TYPES):
            return to_number(left) == to_number(right)
        return False
    if isinstance(left, NUMBER_TYPES) and isinstance(right, NUMBER_TYPES):
        return float(left) == float(right)
    if isinstance(left, dt.date) and isinstance(right, dt.date):
        return date_to_serial(left) == date_to_serial(right)
    if isinstance(left, (dt.date, dt.timedelta)) and isinstance(right, NUMBER_TYPES):
        return to_number(left) == float(right)
    if isinstance(right, (dt.date, dt.timedelta)) and isinstance(left, NUMBER_TYPES):
        return to_number(right) == float(left)
    if isinstance(left, dt.timedelta) and isinstance(right, dt.timedelta):
        return left == right
    if isinstance(left, (dt.date, dt.timedelta)) and isinstance(right, (dt.date, dt.timedelta)):
        # A Time beside a Date or DateTime is promoted to a DateTime on 1899-12-30 (BinderUtils).
        return to_number(left) == to_number(right)
    if isinstance(left, Record) and isinstance(right, Record):
        return left is right or left == right
    if isinstance(left, Table) and isinstance(right, Table):
        return left is right
    if isinstance(left, str) and isinstance(right, NUMBER_TYPES):
        return left == format_number(right)
    if isinstance(right, str) and isinstance(left, NUMBER_TYPES):
        return right == format_number(left)
    return False


def _equals_option(left: Value, right: Value) -> bool:
    """`=` with an option set value (by backing value: two names may share one) or a color."""
    if isinstance(left, OptionValue) and isinstance(right, OptionValue):
        return left == right
    if isinstance(left, OptionValue) or isinstance(right, OptionValue):
        other = right if isinstance(left, OptionValue) else left
        option = left if isinstance(left, OptionValue) else right
        assert isinstance(option, OptionValue)
        if option.value is None:
            return option.name == other
        if isinstance(other, NUMBER_TYPES) and isinstance(option.value, NUMBER_TYPES) and not isinstance(other, bool):
            return float(option.value) == float(other)
        return bool(option.value == other)
    return left == right


def ordinal(value: Value) -> float | Decimal | str | ErrorValue:
    """The comparable form of a value for <, <=, >, >= (Blank is 0)."""
    tp = type(value)
    if tp is float or tp is Decimal:
        return value  # type: ignore[return-value]
    if value is None:
        return 0.0
    if tp is int or tp is bool:
        return float(value)  # type: ignore[arg-type]
    if isinstance(value, ErrorValue):
        return value
    if isinstance(value, dt.date):
        return date_to_serial(value)
    if isinstance(value, dt.timedelta):
        return time_to_fraction(value)
    if tp is str:
        return value  # type: ignore[return-value]
    if isinstance(value, UntypedObject):
        return invalid("Untyped objects cannot be compared; convert them first (Text(), Value()...).")
    if isinstance(value, OptionValue) and isinstance(value.value, NUMBER_TYPES) and not isinstance(value.value, bool):
        return float(value.value)  # ErrorKind and sets like it order by their numbers
    return invalid(f"A {type_name(value)} cannot be compared with < or >.")


def resolve_untyped(value: UntypedObject, other: Value) -> Value:
    """An untyped value (ParseJSON) as the type of the value it meets in `=`, `<`...: Power Fx
    converts it to the other operand's type (a date from ISO text, never from a number)."""
    raw = value.raw
    if isinstance(other, (dt.date, dt.timedelta)):
        if raw is None:
            return None
        if not isinstance(raw, str):
            return invalid("The untyped value is not a date or time (it must be text).")
        when = _parse_when(raw)
        if when is None:
            return invalid(f"{raw!r} is not a date or time.")
        if isinstance(other, dt.timedelta):
            return when - dt.datetime(when.year, when.month, when.day)
        return when if isinstance(other, dt.datetime) else when.date()  # read as the other's type
    if raw is None:
        return None
    if isinstance(other, str):
        if isinstance(raw, str):
            return raw
        if isinstance(raw, bool):
            return "true" if raw else "false"
        if isinstance(raw, (int, float, decimal.Decimal)):
            return str(getattr(raw, "text", raw))
        return invalid("The untyped value is not text.")
    if isinstance(other, bool):
        return to_boolean(value)
    if type(other) is Decimal:
        return to_decimal(value)
    return to_number(value)


def exact_serial(value: dt.date | dt.timedelta) -> Decimal:
    return Decimal(date_to_serial(value) if isinstance(value, dt.date) else time_to_fraction(value))


def _date_decimal_order(left: Value, right: Value) -> int:
    """-1, 0 or 1: a date or time against a Decimal, both exact (the serial's binary value is
    exact, and Decimal compares it with a Decimal exactly)."""
    a = exact_serial(left) if isinstance(left, (dt.date, dt.timedelta)) else left
    b = exact_serial(right) if isinstance(right, (dt.date, dt.timedelta)) else right
    assert isinstance(a, Decimal) and isinstance(b, Decimal)
    return (a > b) - (a < b)


def _resolve_pair(left: Value, right: Value, mode: bool = False) -> tuple[Value, Value]:
    """Untyped operands of `=`/`<`... read as the other operand's type; for `<`... in Decimal mode
    (`mode`) an untyped number beside Blank is read as a Decimal (out of range: InvalidArgument)."""
    if type(left) is UntypedObject and type(right) is UntypedObject:
        return to_number(left), to_number(right)
    if type(left) is UntypedObject:
        return _resolve_one(left, right, mode), right
    return left, _resolve_one(right, left, mode)  # type: ignore[arg-type]


def _resolve_one(value: UntypedObject, other: Value, mode: bool) -> Value:
    if mode and other is None and isinstance(value.raw, (int, float, Decimal)) and not isinstance(value.raw, bool):
        return to_decimal(value)
    return resolve_untyped(value, other)


def compare(op: str, left: Value, right: Value, mode: bool = False) -> bool | ErrorValue:
    """`<`, `<=`, `>`, `>=`; `mode` as for `equals`."""
    if type(left) is UntypedObject or type(right) is UntypedObject:
        left, right = _resolve_pair(left, right, mode)
    if mode and (
        (type(left) is Decimal and isinstance(right, (dt.date, dt.timedelta)))
        or (type(right) is Decimal and isinstance(left, (dt.date, dt.timedelta)))
    ):
        order = _date_decimal_order(left, right)
        return {"<": order < 0, "<=": order <= 0, ">": order > 0}.get(op, order >= 0)
    a = ordinal(left)
    if isinstance(a, ErrorValue):
        return a
    b = ordinal(right)
    if isinstance(b, ErrorValue):
        return b
    if type(a) is not type(b):
        na = to_number(a)
        nb = to_number(b)
        if isinstance(na, ErrorValue):
            return na
        if isinstance(nb, ErrorValue):
            return nb
        a, b = na, nb
    if op == "<":
        return a < b  # type: ignore[operator]
    if op == "<=":
        return a <= b  # type: ignore[operator]
    if op == ">":
        return a > b  # type: ignore[operator]
    return a >= b  # type: ignore[operator]


def _parse_when(text: str) -> dt.datetime | None:

    parsed = parse_datetime_text(text)
    if parsed is None:
        return None
    base = parsed.date or EPOCH.date()
    when = dt.datetime(base.year, base.month, base.day) + (parsed.time or dt.timedelta())
    return when - parsed.offset if parsed.offset is not None else when


def coerce_to_kind(kind: str, value: Value) -> Value:
    """Implicit coercion of a value to a static type kind (Blank and errors pass through)."""
    if value is None or isinstance(value, ErrorValue):
        return value
    if kind == "Number":
        if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            return value
        if value == "":
            return None  # an empty text is no number: Blank, as Value("")
        return to_number(value)
    if kind == "Text":
        return value if isinstance(value, str) else to_text(value)
    if kind == "Boolean":
        return to_boolean(value)
    if kind == "Color":
        return to_color(value)
    if kind in ("Date", "DateTime", "Time"):
        when: dt.datetime | ErrorValue | None
        if isinstance(value, dt.datetime):
            when = value
        elif isinstance(value, dt.date):
            when = dt.datetime(value.year, value.month, value.day)
        elif isinstance(value, dt.timedelta):
            when = EPOCH + value
        elif isinstance(value, str):
            when = _parse_when(value)
            if when is None:
                return invalid(f"{value!r} is not a date or time.")
        else:
            number = to_number(value)
            if isinstance(number, ErrorValue):
                return number
            when = serial_to_datetime(number)
        if isinstance(when, ErrorValue):
            return when
        if kind == "Date":
            return when.date()
        if kind == "DateTime":
            return when
        if isinstance(value, (dt.date, int, float, Decimal)) and not isinstance(value, bool):
            return when - EPOCH  # a date or number as a Time keeps its whole serial value
        return dt.timedelta(hours=when.hour, minutes=when.minute, seconds=when.second, microseconds=when.microsecond)
    return value


def to_color(value: Value) -> Color | ErrorValue:
    """Color coercion: a color, a Color option set member (its color), Blank (transparent)."""
    if type(value) is Color:
        return value
    if value is None:
        return TRANSPARENT
    if isinstance(value, ErrorValue):
        return value
    if isinstance(value, OptionValue) and isinstance(value.value, Color):
        return value.value
    if isinstance(value, UntypedObject) and isinstance(value.raw, str):
        color = parse_hex(value.raw)
        return color if color is not None else invalid(f"The untyped value {value.raw!r} is not a #rrggbb[aa] color.")
    return invalid(f"A {type_name(value)} cannot be used as a color.")


def coerce_to_type(fx_type: FxType, value: Value) -> Value:
    """A value coerced to a static type: scalars by `coerce_to_kind`, records field by field
    (nested records too), so that every row of a table literal has the table's column types."""
    if value is None or isinstance(value, ErrorValue):
        return value
    if fx_type.kind == "Record" and isinstance(value, Record):
        fields = dict(value.fields)
        changed = False
        for name, field_type in fx_type.fields:
            if name in fields:
                new = coerce_to_type(field_type, fields[name])
                if new is not fields[name]:
                    fields[name] = new
                    changed = True
        return Record(fields) if changed else value
    if fx_type.is_scalar and fx_type.kind != "DateTime":
        return coerce_to_kind(fx_type.kind, value)
    return value
