"""Logical and error functions: If, Switch, And/Or/Not, IsBlank, Coalesce, IfError, With, Error."""

from __future__ import annotations

import decimal
from collections.abc import Callable, Sequence

from postcall.powerfx.coerce import equals, is_blank, to_boolean
from postcall.powerfx.functions.common import eval_in_row
from postcall.powerfx.functions.errors import error_from_value
from postcall.powerfx.functions.registry import CallSite, Fn, eager, lazy
from postcall.powerfx.runtime import Frame
from postcall.powerfx.values import (
    NUMBER_TYPES,
    ErrorKind,
    ErrorValue,
    OptionValue,
    Record,
    Table,
    UntypedObject,
    Value,
)


@lazy("If", 2, None)
def _if(site: CallSite, args: Sequence[Fn]) -> Fn:
    """If(condition, then, [condition2, then2, ...], [else])"""
    pairs = [(args[i], args[i + 1]) for i in range(0, len(args) - 1, 2)]
    otherwise = args[-1] if len(args) % 2 == 1 else None

    def run(frame: Frame) -> Value:
        for cond, result in pairs:
            value = cond(frame)
            if value is True:
                return result(frame)
            if value is False:
                continue
            flag = to_boolean(value)
            if isinstance(flag, ErrorValue):
                return flag
            if flag:
                return result(frame)
        return otherwise(frame) if otherwise is not None else None

    return run


@lazy("Switch", 3, None)
def _switch(site: CallSite, args: Sequence[Fn]) -> Fn:
    """Switch(value, match1, result1, [match2, result2, ...], [default])"""
    subject = args[0]
    rest = args[1:]
    pairs = [(rest[i], rest[i + 1]) for i in range(0, len(rest) - 1, 2)]
    otherwise = rest[-1] if len(rest) % 2 == 1 else None

    def run(frame: Frame) -> Value:
        value = subject(frame)
        if isinstance(value, ErrorValue):
            return value
        for match, result in pairs:
            candidate = match(frame)
            if isinstance(candidate, ErrorValue):
                return candidate
            same = equals(value, candidate)
            if isinstance(same, ErrorValue):
                return same
            if same:
                return result(frame)
        return otherwise(frame) if otherwise is not None else None

    return run


@lazy("And", 0, None)
def _and(site: CallSite, args: Sequence[Fn]) -> Fn:
    """And(a, b, ...): true when all are true (stops at the first false)."""

    def run(frame: Frame) -> Value:
        for arg in args:
            flag = to_boolean(arg(frame))
            if isinstance(flag, ErrorValue):
                return flag
            if not flag:
                return False
        return True

    return run


@lazy("Or", 0, None)
def _or(site: CallSite, args: Sequence[Fn]) -> Fn:
    """Or(a, b, ...): true when any is true (stops at the first true)."""

    def run(frame: Frame) -> Value:
        for arg in args:
            flag = to_boolean(arg(frame))
            if isinstance(flag, ErrorValue):
                return flag
            if flag:
                return True
        return False

    return run


@eager("Not", 1, 1)
def _not(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Not(a)"""
    flag = to_boolean(args[0])
    return flag if isinstance(flag, ErrorValue) else not flag


@eager("IsBlank", 1, 1)
def _is_blank(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """IsBlank(value): Blank or empty text."""
    value = args[0]
    if isinstance(value, (Table,)):
        return False
    return is_blank(value)


@eager("IsEmpty", 1, 1)
def _is_empty(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """IsEmpty(table): no rows."""
    value = args[0]
    if value is None:
        return True
    if isinstance(value, Table):
        return len(value.rows) == 0
    if isinstance(value, UntypedObject) and isinstance(value.raw, list):
        return len(value.raw) == 0
    return site.invalid("IsEmpty needs a table.")


@lazy("Coalesce", 1, None)
def _coalesce(site: CallSite, args: Sequence[Fn]) -> Fn:
    """Coalesce(a, b, ...): the first argument that is neither Blank nor empty text."""

    def run(frame: Frame) -> Value:
        for arg in args:
            value = arg(frame)
            if isinstance(value, ErrorValue):
                return value
            if not is_blank(value):
                return value
        return None

    return run


@lazy("IsError", 1, 1)
def _is_error(site: CallSite, args: Sequence[Fn]) -> Fn:
    """IsError(value)"""
    arg = args[0]
    return lambda frame: isinstance(arg(frame), ErrorValue)


@lazy("IsBlankOrError", 1, 1)
def _is_blank_or_error(site: CallSite, args: Sequence[Fn]) -> Fn:
    """IsBlankOrError(value)"""
    arg = args[0]

    def run(frame: Frame) -> Value:
        value = arg(frame)
        return isinstance(value, ErrorValue) or is_blank(value)

    return run


@lazy("IfError", 2, None)
def _if_error(site: CallSite, args: Sequence[Fn]) -> Fn:
    """IfError(value, fallback, [value2, fallback2, ...], [default])"""
    pairs = [(args[i], args[i + 1]) for i in range(0, len(args) - 1, 2)]
    default = args[-1] if len(args) % 2 == 1 else None

    def run(frame: Frame) -> Value:
        last: Value = None
        for value_fn, fallback in pairs:
            value = value_fn(frame)
            if isinstance(value, ErrorValue):
                frame.errors_in_scope.append(value)
                try:
                    return fallback(frame)
                finally:
                    frame.errors_in_scope.pop()
            last = value
        return default(frame) if default is not None else last

    return run


@eager("Error", 0, 1, propagate=False)
def _error(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Error({Kind: ErrorKind.X, Message: "..."}) or Error("message")"""
    if not args:
        return site.error(ErrorKind.Custom, "Error()")
    return error_from_value(site, args[0])


@eager("Blank", 0, 0)
def _blank(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Blank()"""
    return None


@lazy("With", 2, 2)
def _with(site: CallSite, args: Sequence[Fn]) -> Fn:
    """With(record, formula): the record's fields are names inside formula."""
    record_fn, body = args
    alias = site.aliases[0] if site.aliases else None

    def run(frame: Frame) -> Value:
        record = record_fn(frame)
        if isinstance(record, ErrorValue):
            return record
        if record is None:
            record = Record()
        if not isinstance(record, Record):
            return site.invalid("the first argument must be a record.")
        return eval_in_row(frame, record, alias, body, tuple(record))

    return run


@eager("Boolean", 1, 1)
def _boolean(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Boolean(value): text "true"/"false", numbers (0 is false)."""
    value = args[0]
    if value is None or value == "":
        return None
    if isinstance(value, ErrorValue):  # a row's error stays that error
        return value
    if isinstance(value, Table):
        return _map_table(value, lambda v: _boolean(frame, site, [v]))
    if isinstance(value, OptionValue) and isinstance(value.value, bool):
        return value.value  # a Boolean option set member gives its Boolean
    if isinstance(value, UntypedObject):
        raw = value.raw
        if raw is None:
            return None
        if isinstance(raw, decimal.Decimal):
            return raw != 0
        if isinstance(raw, (bool, int, float, str)):
            return _boolean(frame, site, [raw])
        return site.invalid("the value is not a boolean.")
    if isinstance(value, str):
        lowered = value.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        return site.invalid(f"the text {value!r} is not true or false.")
    if isinstance(value, bool):
        return value
    if isinstance(value, NUMBER_TYPES):
        return value != 0
    return site.invalid("the value is not a boolean.")


def _map_table(table: Table, func: object) -> Value:
    assert callable(func)
    fn: Callable[[Value], Value] = func
    out: list[Value] = []
    for row in table.rows:
        if isinstance(row, Record) and len(table.columns) == 1:
            out.append(fn(row.get_field(table.columns[0])))
        elif isinstance(row, ErrorValue):
            out.append(row)
        else:
            out.append(fn(row))
    return Table.of_values(out)
