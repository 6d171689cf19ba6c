"""Reading names and fields at run time: row scopes, the context's scope, option sets."""

from __future__ import annotations

from collections.abc import Mapping

from postcall.powerfx.convert import from_json
from postcall.powerfx.enums import BUILTIN_ENUMS
from postcall.powerfx.functions.errors import error_record, error_table
from postcall.powerfx.runtime import EMPTY_RECORD, WELL_KNOWN_ROOTS, Frame
from postcall.powerfx.values import ErrorKind, ErrorValue, Record, Table, UntypedObject, Value

MISSING = object()

# Plain Python data a caller may have put in the scope (read as records, tables, numbers).
RAW_TYPES = frozenset({dict, list, tuple, int})


def normalize(value: object) -> Value:
    """Plain dicts, lists and ints from callers as Power Fx values (records, tables, numbers)."""
    if type(value) in RAW_TYPES:

        return from_json(value)
    return value  # type: ignore[return-value]


def get_field(value: Value, name: str) -> Value:
    """`value.name`: record field (missing is Blank), untyped object property, table column."""
    tp = type(value)
    if tp is Record:
        return value._fields.get(name)  # type: ignore[union-attr]
    if value is None:
        return None
    if tp is ErrorValue:
        return value
    if isinstance(value, Mapping):
        return normalize(value.get(name))
    if isinstance(value, UntypedObject):
        raw = value.raw
        if isinstance(raw, dict):
            inner = raw.get(name)
            return None if inner is None else UntypedObject(inner)
        if raw is None:
            return None
        return ErrorValue(ErrorKind.InvalidArgument, f"The untyped value has no property {name!r}.")
    if isinstance(value, Table):
        return Table.of_values(
            (get_field(row, name) if not isinstance(row, ErrorValue) else row for row in value.rows),
            name,
        )
    return ErrorValue(ErrorKind.InvalidArgument, f"Cannot read field {name!r} of a non-record value.")


def lookup_name(frame: Frame, name: str) -> Value:
    """Resolve a plain name: row scopes (innermost first), then the context, then option sets."""
    for row in reversed(frame.rows):
        if row.alias is not None:
            if row.alias == name:
                return row.record
            continue
        if name == "ThisRecord":
            return row.record
        record = row.record
        if type(record) is Record:
            if name in record._fields:
                return record._fields[name]
            if name in row.columns:
                return None
        elif isinstance(record, Mapping) and name in record:
            return record[name]
        elif (record is None or type(record) is ErrorValue) and name in row.columns:
            return record
    value = frame.scope.get(name, MISSING)
    if value is not MISSING:
        return normalize(value)
    if name in frame.ctx.enums:
        return Record(frame.ctx.enums[name])
    if name in BUILTIN_ENUMS:
        return BUILTIN_ENUMS[name]
    if name in WELL_KNOWN_ROOTS:
        return EMPTY_RECORD
    if name in ("FirstError", "AllErrors") and frame.errors_in_scope:
        err = frame.errors_in_scope[-1]

        return error_record(err) if name == "FirstError" else error_table(err)
    return ErrorValue(ErrorKind.NotFound, f"The name {name!r} is not defined.")
