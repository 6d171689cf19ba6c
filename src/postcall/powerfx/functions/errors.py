"""Error values as records (FirstError, AllErrors) and the Error() function's argument forms."""

from __future__ import annotations

from postcall.powerfx.enums import error_kind_option
from postcall.powerfx.functions.registry import CallSite
from postcall.powerfx.values import (
    NUMBER_TYPES,
    ErrorKind,
    ErrorValue,
    OptionValue,
    Record,
    Table,
    Value,
)


def error_record(err: ErrorValue) -> Record:
    return Record({"Kind": float(err.kind.value), "Message": err.message or None})


def error_table(err: ErrorValue) -> Table:
    return Table([error_record(e) for e in err.all()], ("Kind", "Message"))


def _kind_of(value: Value) -> ErrorKind | None:
    if isinstance(value, OptionValue) and value.option_set == "ErrorKind":
        return ErrorKind(int(value.value)) if isinstance(value.value, NUMBER_TYPES) else None
    if isinstance(value, NUMBER_TYPES) and not isinstance(value, bool):
        try:
            return ErrorKind(int(value))
        except ValueError:
            return ErrorKind.Custom if value >= 1000 else None
    return None


def error_from_value(site: CallSite, value: Value) -> Value:
    if isinstance(value, ErrorValue):
        return value
    if isinstance(value, str):
        return ErrorValue(ErrorKind.Custom, value, site.span)
    if isinstance(value, Record):
        kind = _kind_of(value.get_field("Kind"))
        if kind is None:
            kind = ErrorKind.Custom
        message = value.get_field("Message")
        return ErrorValue(kind, message if isinstance(message, str) else "", site.span)
    if isinstance(value, Table):
        errors = [error_from_value(site, row) for row in value.rows]
        errs = [e for e in errors if isinstance(e, ErrorValue)]
        if not errs:
            return None
        return ErrorValue(errs[0].kind, errs[0].message, site.span, tuple(errs[1:]))
    if value is None:
        return None
    return ErrorValue(ErrorKind.Custom, "Error()", site.span)


__all__ = ["error_from_value", "error_kind_option", "error_record", "error_table"]
