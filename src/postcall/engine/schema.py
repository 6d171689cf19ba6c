"""Shaping parsed values to a declared data type (ParseValue.valueType, responseSchema)."""

from __future__ import annotations

import datetime as dt
import json

from postcall.engine.values import from_plain, table_of
from postcall.powerfx.values import Record, Table, UntypedObject, Value
from postcall.topics.model import PropertyType


class SchemaMismatch(ValueError):
    """A value does not fit the declared type (the message says where)."""


def parse_json_text(text: str) -> Value:
    try:
        return from_plain(json.loads(text))
    except ValueError as exc:
        raise SchemaMismatch(f"the text is not JSON ({exc.args[0]})") from exc


def coerce(value: Value, schema: PropertyType | None, path: str = "value") -> Value:
    """`value` shaped to `schema`: fields the schema names, with their types converted."""
    if isinstance(value, UntypedObject):
        value = from_plain(value.raw)
    if schema is None:
        return value
    kind = schema.kind.lower()
    if value is None:
        return Table([]) if kind == "table" else None
    if kind in {"any", "untyped", "blank", ""}:
        return value
    if kind in {"string", "text"}:
        if isinstance(value, (Record, Table)):
            raise SchemaMismatch(f"{path} should be text but is a {type(value).__name__.lower()}")
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return value if isinstance(value, str) else str(value)
    if kind == "number":
        if isinstance(value, bool):
            return 1.0 if value else 0.0
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError as exc:
                raise SchemaMismatch(f"{path} should be a number but is {value!r}") from exc
        raise SchemaMismatch(f"{path} should be a number")
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return value.lower() == "true"
        raise SchemaMismatch(f"{path} should be true or false")
    if kind in {"datetime", "date"}:
        if isinstance(value, (dt.date, dt.datetime)):
            return value
        if isinstance(value, str):
            try:
                parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError as exc:
                raise SchemaMismatch(f"{path} should be a date/time but is {value!r}") from exc
            if parsed.tzinfo is not None:
                parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
            return parsed.date() if kind == "date" else parsed
        raise SchemaMismatch(f"{path} should be a date/time")
    if kind == "record":
        if not isinstance(value, Record):
            raise SchemaMismatch(f"{path} should be a record")
        if not schema.properties:
            return value
        return Record(
            {
                name: coerce(value.get_field(name), prop, f"{path}.{name}")
                for name, prop in schema.properties
            }
        )
    if kind == "table":
        if isinstance(value, Record):
            value = table_of([value])
        if not isinstance(value, Table):
            raise SchemaMismatch(f"{path} should be a table")
        if not schema.properties:
            return value
        row_schema = PropertyType("Record", schema.span, schema.properties)
        rows = [
            coerce(row, row_schema, f"{path}[{i}]") if isinstance(row, Record) else row
            for i, row in enumerate(value.rows)
        ]
        return Table(rows, [name for name, _ in schema.properties])
    return value
