"""Error values as records (FirstError, AllErrors) and the Error() function's argument forms."""

from __future__ import annotations

from postcall.powerfx.coerce import to_number, to_text
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
    default_error_message,
)


def error_record(err: ErrorValue) -> Record:
    return Record({"Kind": float(err.number), "Message": err.message or None})


def error_table(err: ErrorValue) -> Table:
    return Table([error_record(e) for e in err.all()], ("Kind", "Message"))


def _kind_of(value: Value) -> int | None:
    """The number of an error kind given as ErrorKind.X, a number, or anything that is one."""
    if isinstance(value, OptionValue) and value.option_set == "ErrorKind":
        return int(value.value) if isinstance(value.value, NUMBER_TYPES) else None
    if value is None or isinstance(value, (Record, Table, ErrorValue)):
        return None
    number = to_number(value)
    if isinstance(number, ErrorValue) or number != number:
        return None
    return int(number)


def _error(number: int, message: str, site: CallSite) -> ErrorValue:
    try:
        kind, code = ErrorKind(number), None
    except ValueError:
        kind, code = ErrorKind.Custom, number
    return ErrorValue(kind, message or default_error_message(number), site.span, code=code)


def error_from_value(site: CallSite, value: Value) -> Value:
    if isinstance(value, ErrorValue):
        return value
    if isinstance(value, str):
        return ErrorValue(ErrorKind.Custom, value, site.span)
    if isinstance(value, Record):
        given = value.get_field("Kind")
        kind = _kind_of(given)
        if kind is None and given is not None and not isinstance(given, ErrorValue):
            # A kind that is no number (`Kind: "Validation"`) is itself an invalid argument.
            return ErrorValue(ErrorKind.InvalidArgument, f"Error: the kind {given!r} is not an error kind.", site.span)
        message = value.get_field("Message")
        text = to_text(message) if message is not None and not isinstance(message, (Record, Table)) else ""
        return _error(int(ErrorKind.Custom) if kind is None else kind, text if isinstance(text, str) else "", site)
    if isinstance(value, Table):
        errors = [error_from_value(site, row) for row in value.rows]
        errs = [e for e in errors if isinstance(e, ErrorValue)]
        if not errs:
            return None
        return ErrorValue(errs[0].kind, errs[0].message, site.span, tuple(errs[1:]), errs[0].code)
    if value is None:
        return None
    return ErrorValue(ErrorKind.Custom, "Error()", site.span)


__all__ = ["error_from_value", "error_kind_option", "error_record", "error_table"]
