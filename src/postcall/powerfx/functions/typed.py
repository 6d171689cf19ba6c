"""Typed reading of JSON: `ParseJSON(json, type)`, `AsType(untyped, type)`, `IsType(untyped, type)`.

The type argument is read at compile time (postcall.powerfx.typeargs) and arrives on the call
site.  Reading follows Power Fx's JSON reader: a JSON number is a Number (Float) or a Decimal,
never text; a string is Text, or a Date/DateTime (ISO text, an explicit offset read as UTC and
shown in the context's time zone) or a Time (`hh:mm:ss[.fffffff]`); `true`/`false` only a
Boolean; `null` Blank; an object a record (fields the type does not name are dropped; fields it
names but the JSON lacks stay absent); an array a table (an object where a table is expected is
a table of one row, an array of one element where a scalar or record is expected is that element).
A value of another shape is a mismatch: AsType and ParseJSON give an InvalidArgument error,
IsType false.  `Dynamic` keeps the JSON untyped.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
from collections.abc import Callable, Sequence
from decimal import Decimal

from postcall.powerfx import numbers as nums
from postcall.powerfx.convert import to_json
from postcall.powerfx.dateparse import parse_datetime_text
from postcall.powerfx.functions.registry import CallSite, Fn, lazy
from postcall.powerfx.runtime import Frame
from postcall.powerfx.typeargs import TypeSpec
from postcall.powerfx.values import ErrorKind, ErrorValue, Record, Table, UntypedObject, Value

_TIME = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$")


class Mismatch(Exception):
    """The JSON does not have the shape the type asks for (the message says where)."""


def read_typed(raw: object, spec: TypeSpec, frame: Frame, path: str = "") -> Value:
    """The JSON value `raw` (as ParseJSON holds it) read as `spec`; Mismatch when it is not one."""
    kind = spec.kind
    if kind in ("Dynamic", "UntypedObject"):
        return UntypedObject(raw)
    if raw is None:
        return None
    where = f" at {path}" if path else ""
    if isinstance(raw, bool):
        if kind == "Boolean":
            return raw
        raise Mismatch(f"Expecting {kind} but received a Boolean{where}.")
    if isinstance(raw, (int, float, Decimal)):
        return _number(raw, kind, where)
    if isinstance(raw, str):
        return _text(raw, spec, frame, where)
    if isinstance(raw, dict):
        if kind == "Record":
            return _record(raw, spec, frame, path)
        if kind == "Table":
            row = _record(raw, spec, frame, path)
            return Table([row], spec.field_names) if isinstance(row, Record) else row
        raise Mismatch(f"Expecting {kind} but received a Record{where}.")
    if isinstance(raw, list):
        if kind == "Table":
            return _table(raw, spec, frame, path)
        if len(raw) == 1:
            return read_typed(raw[0], spec, frame, path)
        raise Mismatch(f"Expecting {kind} but received a Table with {len(raw)} elements{where}.")
    raise Mismatch(f"Unrecognized JSON value{where}.")


def _number(raw: int | float | Decimal, kind: str, where: str) -> Value:
    if kind == "Number":
        number = float(raw)
        if number != number or number in (float("inf"), float("-inf")):
            raise Mismatch(f"The number{where} is out of range.")
        return number
    if kind == "Decimal":
        try:
            exact = nums.to_net(Decimal(raw) if not isinstance(raw, float) else Decimal(repr(raw)))
        except decimal.InvalidOperation as exc:
            raise Mismatch(f"The number{where} is not a Decimal.") from exc
        if isinstance(exact, ErrorValue):
            raise Mismatch(f"The number{where} is out of the range of a Decimal.")
        return exact
    raise Mismatch(f"Expecting {kind} but received a Number{where}.")


def _text(raw: str, spec: TypeSpec, frame: Frame, where: str) -> Value:
    kind = spec.kind
    if kind == "Text":
        return raw
    if kind in ("Date", "DateTime"):
        if not raw.strip():
            return None
        parsed = parse_datetime_text(raw)
        if parsed is None or parsed.date is None:
            return ErrorValue(ErrorKind.InvalidArgument, f"Date '{raw}' could not be parsed{where}.")
        when = dt.datetime.combine(parsed.date, dt.time()) + (parsed.time or dt.timedelta())
        if parsed.offset is not None:  # an explicit offset: the time is a UTC one
            utc = when - parsed.offset
            if kind == "Date":
                return utc.date()
            return utc.replace(tzinfo=dt.UTC).astimezone(frame.ctx.timezone).replace(tzinfo=None)
        return when.date() if kind == "Date" else when
    if kind == "Time":
        match = _TIME.match(raw)
        if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59 or int(match.group(3)) > 59:
            raise Mismatch(f"Time '{raw}' could not be parsed{where}.")
        fraction = (match.group(4) or "").ljust(7, "0")
        return dt.timedelta(
            hours=int(match.group(1)), minutes=int(match.group(2)), seconds=int(match.group(3)),
            microseconds=round(int(fraction) / 10),
        )
    raise Mismatch(f"Expecting {kind} but received a String{where}.")


def _record(raw: dict[str, object], spec: TypeSpec, frame: Frame, path: str) -> Value:
    fields: dict[str, Value] = {}
    for name, value in raw.items():
        field = spec.field(name)
        if field is None:
            continue  # a field the type does not name is dropped, as Power Apps does
        read = read_typed(value, field, frame, f"{path}/{name}" if path else name)
        fields[name] = read
    return Record(fields)


def _table(raw: list[object], spec: TypeSpec, frame: Frame, path: str) -> Value:
    objects = any(isinstance(item, dict) for item in raw)
    rows: list[Value] = []
    for index, item in enumerate(raw):
        where = f"{path}[{index}]"
        if spec.column and not objects:
            rows.append(Record({"Value": read_typed(item, spec.fields[0][1], frame, where)}))
            continue
        row = read_typed(item, TypeSpec("Record", spec.fields), frame, where)
        rows.append(row if isinstance(row, (Record, ErrorValue)) or row is None else Record({"Value": row}))
    return Table(rows, spec.field_names)


def _first_error(value: Value) -> ErrorValue | None:
    """An error anywhere in a value read from JSON (a date that could not be read)."""
    if isinstance(value, ErrorValue):
        return value
    if isinstance(value, Record):
        for item in value.values():
            found = _first_error(item)
            if found is not None:
                return found
    if isinstance(value, Table):
        for row in value.rows:
            found = _first_error(row)
            if found is not None:
                return found
    return None


def _raw_of(value: Value) -> object:
    """The JSON held by an untyped value; a typed value is first written as JSON."""
    if isinstance(value, UntypedObject):
        return value.raw
    return json.loads(json.dumps(to_json(value)))


def _type_of(site: CallSite) -> TypeSpec:
    spec = site.type_arg
    assert isinstance(spec, TypeSpec), "the compiler puts the type argument on the call site"
    return spec


def _reading(site: CallSite, source: Fn, blank: Value, done: Callable[[Value], Value], mismatch: Callable[[str], Value]) -> Fn:
    """A closure that reads its argument's JSON as the call's type argument: Blank gives `blank`,
    an error is passed on, a value read goes to `done`, a mismatch's message to `mismatch`."""
    spec = _type_of(site)

    def run(frame: Frame) -> Value:
        value = source(frame)
        if isinstance(value, ErrorValue):
            return value
        if value is None:
            return blank
        try:
            return done(read_typed(_raw_of(value), spec, frame))
        except Mismatch as exc:
            return mismatch(str(exc))

    return run


@lazy("AsType", 2, 2)
def _as_type(site: CallSite, args: Sequence[Fn]) -> Fn:
    """AsType(untyped, type): the untyped value read as the type (InvalidArgument when it is not one)."""
    return _reading(site, args[0], None, lambda read: read, site.invalid)


@lazy("IsType", 2, 2)
def _is_type(site: CallSite, args: Sequence[Fn]) -> Fn:
    """IsType(untyped, type): whether AsType would read it (false for Blank)."""
    return _reading(
        site, args[0], False, lambda read: read is not None and _first_error(read) is None, lambda _message: False
    )


def parse_json_typed(site: CallSite, parsed: Value, frame: Frame) -> Value:
    """ParseJSON(json, type): `parsed` (what ParseJSON(json) gave) read as the type."""
    if not isinstance(parsed, UntypedObject):
        return parsed  # Blank, or the JSON's error
    try:
        return read_typed(parsed.raw, _type_of(site), frame)
    except Mismatch as exc:
        return site.invalid(str(exc))
