"""Conversion functions: Text (with formats), Value, JSON, ParseJSON, IsNumeric."""

from __future__ import annotations

import contextvars
import datetime as dt
import decimal
import json
import math
import re
from decimal import Decimal

from postcall.powerfx import numbers as nums
from postcall.powerfx.coerce import (
    date_to_serial,
    serial_to_datetime,
    text_to_decimal,
    text_to_number,
    to_decimal,
    to_number,
    to_text,
    untyped_to_text,
)
from postcall.powerfx.culture import EN_US, Culture, get_culture
from postcall.powerfx.dateparse import parse_datetime_text
from postcall.powerfx.functions.common import check_text
from postcall.powerfx.functions.dates import to_datetime
from postcall.powerfx.functions.registry import CallSite, eager
from postcall.powerfx.functions.text import tabular
from postcall.powerfx.functions.text import tabular as lift
from postcall.powerfx.functions.typed import parse_json_typed
from postcall.powerfx.runtime import Frame
from postcall.powerfx.textformat import (
    MAX_FORMAT_LENGTH,
    NOT_FORMATTABLE,
    FormatError,
    check_format,
    format_datetime_code,
    format_named,
    format_number_code,
)
from postcall.powerfx.values import (
    Color,
    ErrorKind,
    ErrorValue,
    OptionValue,
    Record,
    Table,
    UntypedObject,
    Value,
    format_number,
)


def _culture(site: CallSite, value: Value) -> Culture | ErrorValue:
    """The culture named by a language argument (en-US when empty)."""
    lang = to_text(value)
    if isinstance(lang, ErrorValue):
        return lang
    culture = get_culture(lang)
    if culture is None:
        return site.error(ErrorKind.BadLanguageCode, f"Unknown language code {lang!r}.")
    return culture


@eager("Text", 1, 3)
def _text(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Text(value, [format], [language])"""
    value = args[0]
    if isinstance(value, Table):

        return lift(_text_scalar)(frame, site, args)
    return _text_scalar(frame, site, args)


def _text_scalar(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    value = args[0]
    if len(args) == 1:
        if value is None:
            return None
        if isinstance(value, UntypedObject):
            raw = value.raw
            if isinstance(raw, (dict, list)):
                return site.invalid("the untyped value is not text.")
            if raw is None:
                return None
            return untyped_to_text(value)
        return to_text(value)
    if any(a is None for a in args[1:]):
        return ""
    for arg in args[1:]:
        if isinstance(arg, ErrorValue):
            return arg
    culture = _culture(site, args[2]) if len(args) > 2 else EN_US
    if isinstance(culture, ErrorValue):
        return culture
    fmt_value = args[1]
    if isinstance(fmt_value, OptionValue) and site.features.strongly_typed_builtin_enums:
        return _text_named(frame, site, value, str(fmt_value.value), culture)
    # Without strongly typed enums a DateTimeFormat member is its text ("'shortdate'"), read
    # as a format code like any other (Text.cs coerces it to String).
    fmt = to_text(fmt_value)
    if isinstance(fmt, ErrorValue):
        return fmt
    if len(fmt) > MAX_FORMAT_LENGTH:
        return site.invalid(f"the format is longer than {MAX_FORMAT_LENGTH} characters.")
    code = check_format(fmt)
    if code is None:
        return site.invalid(f"incorrect format specifier {fmt!r} for 'Text'.")
    if value is None:
        value = 0.0
    if isinstance(value, UntypedObject):
        raw = value.raw
        if isinstance(raw, (int, float, decimal.Decimal)) and not isinstance(raw, bool):
            value = float(raw)
        elif raw is None:
            value = 0.0
        else:
            return site.invalid("the untyped value cannot be formatted.")
    if isinstance(value, (str, bool)):
        return site.invalid(NOT_FORMATTABLE)
    try:
        if isinstance(value, (dt.date, dt.timedelta)):
            serial = to_number(value)
            if isinstance(serial, ErrorValue):
                return serial
            if code.is_numeric:
                return check_text(frame, site, format_number_code(serial, code.code, culture))
            when = to_datetime(site, value)
            if not isinstance(when, dt.datetime):
                return when
            return check_text(frame, site, format_datetime_code(when, code.section_for(serial), culture))
        number_value = value if isinstance(value, decimal.Decimal) else to_number(value)
        if isinstance(number_value, ErrorValue):
            return number_value
        if code.is_datetime:
            when = serial_to_datetime(float(number_value))
            if isinstance(when, ErrorValue):
                return when
            section = code.section_for(float(number_value))
            return check_text(frame, site, format_datetime_code(when, section, culture))
        if code.code == "":
            return ""
        return check_text(frame, site, format_number_code(number_value, code.code, culture))
    except (FormatError, OverflowError, ValueError):
        return site.invalid(f"cannot format the value with {fmt!r}.")


def _text_named(frame: Frame, site: CallSite, value: Value, name: str, culture: Culture) -> Value:
    """Text(value, DateTimeFormat.X): a named date/time format."""
    if value is None:
        value = 0.0
    if isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool):
        when_value: Value = serial_to_datetime(float(value))
    else:
        when_value = to_datetime(site, value)
    if not isinstance(when_value, dt.datetime):
        return when_value
    when = when_value
    name = name.strip("'")
    if name.lower() == "utc":
        aware = when.replace(tzinfo=frame.ctx.timezone).astimezone(dt.UTC)
        return aware.strftime("%Y-%m-%dT%H:%M:%S.") + f"{aware.microsecond // 1000:03d}Z"
    text = format_named(when, name, culture)
    if text is None:
        return site.invalid(f"{name!r} is not a date/time format.")
    return check_text(frame, site, text)


def _value_of_text(site: CallSite, text: str, culture: Culture) -> Value:
    if text == "":
        return None
    candidate: str | None = text
    if culture.decimal != ".":
        candidate = _localized_to_invariant(text, culture)
    number = text_to_number(candidate) if candidate is not None else None
    if number is None:
        when = parse_date_number(text)
        if when is not None:
            return when
        return site.invalid(f"{text!r} is not a number.")
    return number


_SPACES = {" ", "\u00a0", "\u202f"}


def _localized_to_invariant(text: str, culture: Culture) -> str | None:
    """`1 234,56` (fr) or `1.234,56` (de) as en-US text, or None when it cannot be one."""
    thousands = ({culture.group} | (_SPACES if culture.group in _SPACES else set())) - {culture.decimal}
    point = text.find(culture.decimal)
    if point >= 0 and any(ch in thousands or ch == "." for ch in text[point + 1 :]):
        return None
    out = []
    for i, ch in enumerate(text):
        if ch in thousands and 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit():
            continue
        if ch == "." and "." not in thousands:
            return None
        out.append("." if ch == culture.decimal else "-" if ch == culture.negative else ch)
    return "".join(out)


def parse_date_number(text: str) -> float | None:

    if not re.search(r"[-/:]", text):
        return None
    parsed = parse_datetime_text(text)
    if parsed is None:
        return None
    base = parsed.date or dt.date(1899, 12, 30)
    when = dt.datetime(base.year, base.month, base.day) + (parsed.time or dt.timedelta())
    if parsed.offset is not None:
        when -= parsed.offset
    return date_to_serial(when)


def _to_number_type(frame: Frame, site: CallSite, args: list[Value], decimal_result: bool, name: str) -> Value:
    """Value/Decimal/Float: a number of the requested type from text, untyped, Boolean, date..."""
    value = args[0]
    culture = _culture(site, args[1]) if len(args) > 1 and args[1] is not None else EN_US
    if isinstance(culture, ErrorValue):
        return culture
    if value is None:
        return None
    if isinstance(value, OptionValue):
        # A number option set member gives its number (Value(StartOfWeek.Friday) is 15).
        if isinstance(value.value, (int, float, Decimal)) and not isinstance(value.value, bool):
            value = float(value.value)
        elif isinstance(value.value, str):
            value = value.value
        else:
            return site.invalid(f"{name}: the option {value.name} has no number.")
    if isinstance(value, UntypedObject):
        raw = value.raw
        if raw is None:
            return None
        if isinstance(raw, bool):
            value = raw
        elif isinstance(raw, (int, float, decimal.Decimal)):
            if decimal_result:
                return _decimal_or_invalid(site, str(getattr(raw, "text", raw)), name)
            return _finite(site, float(raw), name)
        elif isinstance(raw, str):
            value = raw
        else:
            return site.invalid(f"{name}: the untyped value is not a number.")
    if isinstance(value, str):
        if value == "":
            return None
        candidate: str | None = value
        if culture.decimal != ".":
            candidate = _localized_to_invariant(value, culture)
        if decimal_result and candidate is not None:
            exact = text_to_decimal(candidate)
            if isinstance(exact, Decimal):
                return exact
            if isinstance(exact, ErrorValue):
                return site.invalid(f"{name}: {value!r} is outside the range of a Decimal number.")
        number = _value_of_text(site, value, culture)
        if not isinstance(number, float):
            return number
        return nums.from_float(number) if decimal_result else number
    if isinstance(value, (bool, int, float, Decimal, dt.date, dt.timedelta)):
        if decimal_result:
            return to_decimal(value)
        return to_number(value)
    return site.invalid(f"{name}: the value cannot be turned into a number.")


def _decimal_or_invalid(site: CallSite, text: str, name: str) -> Value:
    exact = text_to_decimal(text)
    if isinstance(exact, Decimal):
        return exact
    return site.invalid(f"{name}: {text} is not a Decimal number (or is outside its range).")


def _finite(site: CallSite, number: float, name: str) -> Value:
    if math.isinf(number) or math.isnan(number):
        return site.invalid(f"{name}: {number} is not a finite number.")
    return number


@eager("Value", 1, 2)
@tabular
def _value(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Value(text, [language]): a number (a Decimal in Decimal mode, else a Float)."""
    return _to_number_type(frame, site, args, frame.decimal, "Value")


@eager("Decimal", 1, 2)
@tabular
def _decimal(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Decimal(value, [language]): a Decimal number (28-29 significant digits)."""
    return _to_number_type(frame, site, args, True, "Decimal")


@eager("Float", 1, 2)
@tabular
def _float(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Float(value, [language]): a Float (binary floating point) number."""
    return _to_number_type(frame, site, args, False, "Float")


@eager("IsNumeric", 1, 1)
def _is_numeric(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """IsNumeric(value)"""
    value = args[0]
    if isinstance(value, (int, float, Decimal, dt.date, dt.timedelta)) and not isinstance(value, bool):
        return True  # dates and times are numbers (serial days) too
    if isinstance(value, str):
        return text_to_number(value) is not None
    return False


# ----------------------------------------------------------------------------------------
# JSON


def _json_string(text: str) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif code < 0x20 or 0x7F <= code <= 0x9F:
            out.append(f"\\u{code:04X}")
        elif code > 0xFFFF:
            # Beyond the Basic Multilingual Plane: a UTF-16 surrogate pair, escaped.
            high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
            out.append(f"\\u{high:04X}\\u{low:04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


class _JsonFail(Exception):
    def __init__(self, error: ErrorValue) -> None:
        super().__init__(error.message)
        self.error = error


# Characters JSON() may still write in this evaluation: spent as each string is written, so that
# a table of long texts is refused at the limit instead of after building all of it (issue 16).
_JSON_ROOM: contextvars.ContextVar[list[int]] = contextvars.ContextVar("postcall_json_room")


def _json_spend(size: int) -> None:
    room = _JSON_ROOM.get(None)
    if room is None:
        return
    room[0] -= size
    if room[0] < 0:
        raise _JsonFail(ErrorValue(ErrorKind.InvalidArgument, "JSON: the text would be longer than the limit."))


def _json_number(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        raise _JsonFail(ErrorValue(ErrorKind.Numeric, "JSON cannot hold a number that is not finite."))
    return format_number(value).replace("E+", "e+").replace("E-", "e-")


def _to_json_text(frame: Frame, value: Value, flatten: bool, indent: int | None, depth: int) -> str:
    if depth > 20:
        raise _JsonFail(ErrorValue(ErrorKind.InvalidArgument, "JSON: the value is nested too deeply."))
    pad = "" if indent is None else "\r\n" + " " * (indent * (depth + 1))
    end_pad = "" if indent is None else "\r\n" + " " * (indent * depth)
    colon = ":" if indent is None else ": "
    if isinstance(value, ErrorValue):
        raise _JsonFail(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return nums.format_decimal(value)
    if isinstance(value, (int, float)):
        return _json_number(float(value))
    if isinstance(value, str):
        _json_spend(len(value) + 2)  # before escaping: the escaped text is at least this long
        return _json_string(value)
    if isinstance(value, dt.datetime):
        aware = value.replace(tzinfo=frame.ctx.timezone).astimezone(dt.UTC)
        return '"' + aware.strftime("%Y-%m-%dT%H:%M:%S.") + f"{aware.microsecond // 1000:03d}Z" + '"'
    if isinstance(value, dt.date):
        return '"' + value.isoformat() + '"'
    if isinstance(value, dt.timedelta):
        total = value.total_seconds()
        whole = int(total)
        ms = round((total - whole) * 1000)
        return f'"{whole // 3600:02d}:{(whole // 60) % 60:02d}:{whole % 60:02d}.{ms:03d}"'
    if isinstance(value, OptionValue):
        inner = value.value
        if isinstance(inner, str):
            return _json_string(inner)
        if isinstance(inner, (int, float, Decimal)):
            return _json_number(float(inner))
        if isinstance(inner, Color):
            return _json_color(inner)
        return _json_string(value.name)
    if isinstance(value, Color):
        return _json_color(value)
    if isinstance(value, Record):
        if not value:
            return "{}"
        items = [
            _json_string(k) + colon + _to_json_text(frame, value[k], flatten, indent, depth + 1)
            for k in sorted(value)
        ]
        return "{" + pad + ("," + pad).join(items) + end_pad + "}"
    if isinstance(value, Table):
        if not value.rows:
            return "[]"
        items = []
        for row in value.rows:
            if flatten and value.columns == ("Value",):
                inner_value = row.get_field("Value") if isinstance(row, Record) else row
                items.append(_to_json_text(frame, inner_value, flatten, indent, depth + 1))
            else:
                items.append(_to_json_text(frame, row, flatten, indent, depth + 1))
        return "[" + pad + ("," + pad).join(items) + end_pad + "]"
    if isinstance(value, UntypedObject):
        return _untyped_json(value.raw, depth)
    raise _JsonFail(ErrorValue(ErrorKind.InvalidArgument, "JSON cannot serialize this value."))


def _json_color(color: Color) -> str:
    """A color in JSON: CSS's "#rrggbbaa"."""
    return f'"#{color.r:02x}{color.g:02x}{color.b:02x}{color.a:02x}"'


def _untyped_json(raw: object, depth: int) -> str:
    if depth > 20:
        raise _JsonFail(ErrorValue(ErrorKind.InvalidArgument, "JSON: the value is nested too deeply."))
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, JsonNumber):
        return raw.text
    if isinstance(raw, (int, decimal.Decimal)):
        return str(raw)
    if isinstance(raw, float):
        return _json_number(raw)
    if isinstance(raw, str):
        return _json_string(raw)
    if isinstance(raw, dict):
        return "{" + ",".join(_json_string(k) + ":" + _untyped_json(raw[k], depth + 1) for k in sorted(raw)) + "}"
    if isinstance(raw, list):
        return "[" + ",".join(_untyped_json(v, depth + 1) for v in raw) + "]"
    raise _JsonFail(ErrorValue(ErrorKind.InvalidArgument, "JSON cannot serialize this value."))


@eager("JSON", 1, 2)
def _json(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """JSON(value, [JSONFormat]): the value as JSON text (keys sorted)."""
    options = ""
    if len(args) > 1 and args[1] is not None:
        opt = args[1].value if isinstance(args[1], OptionValue) else args[1]
        text_opt = to_text(opt)  # type: ignore[arg-type]
        if isinstance(text_opt, ErrorValue):
            return text_opt
        options = text_opt
    # JSONFormat's letters, concatenated as the set allows: "_" flattens one-column tables.
    flatten = "_" in options
    indent = 4 if "4" in options else None
    room = _JSON_ROOM.set([frame.ctx.limits.max_text_length])
    try:
        return check_text(frame, site, _to_json_text(frame, args[0], flatten, indent, 0))
    except _JsonFail as failure:
        err = failure.error
        return ErrorValue(err.kind, err.message, err.span or site.span)
    finally:
        _JSON_ROOM.reset(room)


class JsonNumber(decimal.Decimal):
    """A JSON number as written (JSON(ParseJSON(x)) gives the same digits back)."""

    text: str

    def __new__(cls, text: str) -> JsonNumber:
        number = super().__new__(cls, text)
        number.text = text
        return number


def _bad_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


@eager("ParseJSON", 1, 2)
def _parse_json(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """ParseJSON(text, [type]): an untyped object (read it with Text(), Value(), Boolean(), Table()...),
    or with a type argument the value of that type (see postcall.powerfx.functions.typed)."""
    parsed = _parse_untyped(frame, site, args[0])
    return parse_json_typed(site, parsed, frame) if len(args) == 2 else parsed


def _parse_untyped(frame: Frame, site: CallSite, value: Value) -> Value:
    if value is None:
        return None
    text = to_text(value)
    if isinstance(text, ErrorValue):
        return text
    if len(text) > frame.ctx.limits.max_text_length:
        return site.invalid("the JSON text is too long.")
    try:
        raw = json.loads(text, parse_float=JsonNumber, parse_int=JsonNumber, parse_constant=_bad_constant)
    except (ValueError, RecursionError) as exc:
        return site.error(ErrorKind.InvalidJSON, f"ParseJSON: {exc}")
    return UntypedObject(raw)


__all__ = ["Record"]


@eager("ColumnNames", 1, 1)
def _column_names_of(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """ColumnNames(untyped object): its field names, as a one-column table of text."""
    value = args[0]
    if value is None or (isinstance(value, UntypedObject) and value.raw is None):
        return None  # Blank, or JSON null
    if not isinstance(value, UntypedObject) or not isinstance(value.raw, dict):
        return site.invalid("expects an untyped object (ParseJSON of a JSON object).")
    return Table.of_values(list(value.raw))


@eager("Column", 2, 2)
def _column_of(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Column(untyped object, name): one field of it, untyped (Blank when it has no such field)."""
    value, name = args
    if value is None or (isinstance(value, UntypedObject) and value.raw is None):
        return None  # Blank, or JSON null
    if not isinstance(value, UntypedObject) or not isinstance(value.raw, dict):
        return site.invalid("expects an untyped object (ParseJSON of a JSON object).")
    key = to_text(name)
    if isinstance(key, ErrorValue):
        return key
    if key not in value.raw:
        return None
    return UntypedObject(value.raw[key])
