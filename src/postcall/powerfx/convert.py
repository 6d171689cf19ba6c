"""Values to and from JSON (snapshots, HTTP bodies), and printing values in Power Fx syntax."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import re
from typing import Any

from postcall.errors import PowerFxError
from postcall.powerfx.coerce import to_text as _coerce_text
from postcall.powerfx.colors import parse_color
from postcall.powerfx.enums import BUILTIN_OPTION_SETS
from postcall.powerfx.values import (
    ERROR_KIND_NAMES,
    NUMBER_TYPES,
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

JSONable = Any


def to_json(value: Value, *, typed: bool = False) -> JSONable:
    """A JSON-able Python object for a value.

    Records become objects; a table whose only column is `Value` becomes an array of its values,
    other tables arrays of objects.  Dates become ISO text (`2024-01-31`, `2024-01-31T08:00:00`,
    times `08:00:00`).  With `typed=True` dates, times, option values and errors are written as
    `{"$type": ..., "value": ...}` so that `from_json(..., typed=True)` gives them back exactly
    (engine snapshots); without it the output is what an HTTP body wants.  Raises PowerFxError
    for values nested too deeply.
    """
    try:
        return _to_json(value, typed=typed)
    except RecursionError as exc:
        raise PowerFxError("The value is nested too deeply to convert to JSON.") from exc


def from_json(obj: JSONable, *, typed: bool = False) -> Value:
    """A Power Fx value from parsed JSON: objects become Records, arrays Tables (an array of
    objects a table of their fields, any other array a one-column `Value` table), numbers
    floats.  Raises PowerFxError for what JSON cannot hold or for data nested too deeply."""
    try:
        return _from_json(obj, typed=typed)
    except RecursionError as exc:
        raise PowerFxError("The JSON value is nested too deeply.") from exc


def format_value(value: Value) -> str:
    """A value written in Power Fx syntax (as `postcall fx eval` and the conformance runner print)."""
    try:
        return _format_value(value)
    except RecursionError:
        return "<value nested too deeply to print>"


def to_text(value: Value) -> str:
    """Power Fx text coercion (Blank is ""); raises PowerFxError for records, tables and errors."""
    result = _coerce_text(value)
    if isinstance(result, ErrorValue):
        if isinstance(value, ErrorValue):
            raise PowerFxError(f"Error value ({value.kind.name}): {value.message}", value.span)
        raise PowerFxError(result.message)
    return result


def _json_number(value: float) -> int | float | None:
    if math.isnan(value) or math.isinf(value):
        return None
    if value == int(value) and abs(value) < 2**53:
        return int(value)
    return value


def _to_json(value: Value, *, typed: bool = False) -> JSONable:
    """A JSON-able Python object for a value.

    Records become objects; a table whose only column is `Value` becomes an array of its values,
    other tables arrays of objects.  Dates become ISO text (`2024-01-31`, `2024-01-31T08:00:00`,
    times `08:00:00`).  With `typed=True` dates, times, option values and errors are written as
    `{"$type": ..., "value": ...}` so that `from_json(..., typed=True)` gives them back exactly
    (engine snapshots); without it the output is what an HTTP body wants.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**63 else float(value)
    if isinstance(value, NUMBER_TYPES):
        return _json_number(float(value))
    if isinstance(value, dt.datetime):
        text = value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")
        return {"$type": "datetime", "value": text} if typed else text
    if isinstance(value, dt.date):
        return {"$type": "date", "value": value.isoformat()} if typed else value.isoformat()
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
        if typed:
            return {"$type": "time", "value": seconds}
        whole = int(seconds) % 86400
        ms = round((seconds - int(seconds)) * 1000)
        text = f"{whole // 3600:02d}:{(whole // 60) % 60:02d}:{whole % 60:02d}"
        return text + (f".{ms:03d}" if ms else "")
    if isinstance(value, Record):
        return {k: _to_json(v, typed=typed) for k, v in value.items()}
    if isinstance(value, Table):
        if value.columns == ("Value",) and not typed:
            return [
                _to_json(r.get_field("Value"), typed=typed) if isinstance(r, Record) else _to_json(r, typed=typed)
                for r in value.rows
            ]
        if typed:
            return {
                "$type": "table",
                "columns": list(value.columns),
                "rows": [_to_json(r, typed=typed) for r in value.rows],
            }
        return [_to_json(r, typed=typed) for r in value.rows]
    if isinstance(value, OptionValue):
        if typed:
            return {"$type": "option", "set": value.option_set, "name": value.name}
        return value.value if isinstance(value.value, (str, int, float)) else value.name
    if isinstance(value, Color):
        css = f"#{value.r:02x}{value.g:02x}{value.b:02x}{value.a:02x}"
        return {"$type": "color", "value": css} if typed else css
    if isinstance(value, ErrorValue):
        if typed:
            return {"$type": "error", "kind": value.kind.name, "message": value.message}
        return {"error": {"kind": value.kind.name, "message": value.message}}
    if isinstance(value, UntypedObject):
        return _plain(value.raw)
    raise PowerFxError(f"Cannot convert {type(value).__name__} to JSON.")


def _plain(raw: object) -> JSONable:
    """Parsed JSON with exact numbers (Decimal) as plain ints and floats."""
    if isinstance(raw, decimal.Decimal):
        return int(raw) if raw == raw.to_integral_value() and abs(raw) < 2**63 else float(raw)
    if isinstance(raw, dict):
        return {k: _plain(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return [_plain(v) for v in raw]
    return raw


def _from_json(obj: JSONable, *, typed: bool = False) -> Value:
    """A Power Fx value from parsed JSON: objects become Records, arrays Tables, numbers floats."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, NUMBER_TYPES):
        return float(obj)
    if isinstance(obj, dt.datetime):
        return obj.astimezone(dt.UTC).replace(tzinfo=None) if obj.tzinfo is not None else obj
    if isinstance(obj, (dt.date, dt.timedelta, Record, Table, OptionValue, Color, ErrorValue, UntypedObject)):
        return obj
    if isinstance(obj, dict):
        if typed and "$type" in obj:
            return _from_typed(obj)
        return Record({str(k): _from_json(v, typed=typed) for k, v in obj.items()})
    if isinstance(obj, (list, tuple)):
        items = [_from_json(v, typed=typed) for v in obj]
        if items and all(isinstance(i, Record) for i in items):
            return Table(items)
        return Table.of_values(items)
    raise PowerFxError(f"Cannot convert {type(obj).__name__} from JSON.")


def _from_typed(obj: dict[str, Any]) -> Value:
    kind = obj["$type"]
    try:
        if kind == "datetime":
            return dt.datetime.fromisoformat(obj["value"])
        if kind == "date":
            return dt.date.fromisoformat(obj["value"])
        if kind == "time":
            return dt.timedelta(seconds=float(obj["value"]))
        if kind == "table":
            return Table([_from_json(r, typed=True) for r in obj["rows"]], obj.get("columns"))
        if kind == "option":

            option_set = BUILTIN_OPTION_SETS.get(obj["set"])
            member = option_set.member(obj["name"]) if option_set is not None else None
            return member if member is not None else OptionValue(obj["set"], obj["name"], obj.get("value"))
        if kind == "color":
            color = parse_color(obj["value"])
            if color is None:
                raise ValueError("not #rrggbbaa")
            return color
        if kind == "error":
            return ErrorValue(ERROR_KIND_NAMES.get(obj["kind"], ErrorKind.Unknown), obj.get("message", ""))
    except (KeyError, ValueError, TypeError) as exc:
        raise PowerFxError(f"Bad typed JSON value {obj!r}: {exc}") from exc
    raise PowerFxError(f"Unknown typed JSON value {kind!r}.")


_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def format_name(name: str) -> str:
    if _PLAIN_NAME.match(name) and name not in ("true", "false", "And", "Or", "Not", "in", "exactin", "As"):
        return name
    return "'" + name.replace("'", "''") + "'"


def _format_value(value: Value) -> str:
    """A value written in Power Fx syntax (as `postcall fx eval` and the conformance runner print)."""
    if value is None:
        return "Blank()"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, decimal.Decimal):
        return format_number(value)
    if isinstance(value, NUMBER_TYPES):
        return format_number(float(value))
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    if isinstance(value, dt.datetime):
        return (
            f"DateTime({value.year},{value.month},{value.day},{value.hour},{value.minute},"
            f"{value.second},{value.microsecond // 1000})"
        )
    if isinstance(value, dt.date):
        return f"Date({value.year},{value.month},{value.day})"
    if isinstance(value, dt.timedelta):
        # Shown as a time of day, as Power Fx shows a Time; the value itself is kept whole.
        total_ms = round(value.total_seconds() * 1000) % 86_400_000
        hours, rem = divmod(total_ms, 3_600_000)
        minutes, rem = divmod(rem, 60_000)
        seconds, ms = divmod(rem, 1000)
        return f"Time({hours},{minutes},{seconds},{ms})"
    if isinstance(value, Record):
        inner = ",".join(f"{format_name(k)}:{_format_value(value[k])}" for k in sorted(value))
        return "{" + inner + "}"
    if isinstance(value, Table):
        return "Table(" + ",".join(_format_value(r) for r in value.rows) + ")"
    if isinstance(value, OptionValue):
        return f"{value.option_set}.{format_name(value.name)}"
    if isinstance(value, Color):
        return f"RGBA({value.r},{value.g},{value.b},{format_number(value.alpha)})"
    if isinstance(value, ErrorValue):
        kinds = [e.kind for e in value.all()]
        if len(kinds) == 1:
            return f"Error({{Kind:ErrorKind.{_kind_name(kinds[0])}}})"
        return "Error(Table(" + ",".join(f"{{Kind:ErrorKind.{_kind_name(k)}}}" for k in kinds) + "))"
    if isinstance(value, UntypedObject):
        return "ParseJSON(" + _format_value(_raw_json(value.raw)) + ")"
    return repr(value)


def _raw_json(raw: object) -> str:
    """Parsed JSON written back (numbers with their digits as read)."""
    if isinstance(raw, decimal.Decimal):
        return str(getattr(raw, "text", raw))
    if isinstance(raw, dict):
        return "{" + ",".join(json.dumps(k) + ":" + _raw_json(v) for k, v in raw.items()) + "}"
    if isinstance(raw, list):
        return "[" + ",".join(_raw_json(v) for v in raw) + "]"
    return json.dumps(raw)


def _kind_name(kind: ErrorKind) -> str:
    return "None" if kind is ErrorKind.NONE else kind.name
