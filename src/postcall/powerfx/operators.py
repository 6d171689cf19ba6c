"""Power Fx operators on values: arithmetic (with dates and times), text concatenation, `in`."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from decimal import Decimal

from postcall.powerfx import numbers as nums
from postcall.powerfx.coerce import (
    DAY,
    date_to_serial,
    equals,
    exact_serial,
    serial_to_datetime,
    to_boolean,
    to_decimal,
    to_number,
    to_text,
)
from postcall.powerfx.values import (
    ErrorKind,
    ErrorValue,
    Record,
    Table,
    UntypedObject,
    Value,
    type_name,
)
from postcall.powerfx.zones import shift_local, valid_local


def numeric(value: float) -> float | ErrorValue:
    if math.isfinite(value):
        return value
    return ErrorValue(ErrorKind.Numeric, "The result is not a finite number.")


def _num_pair(left: Value, right: Value) -> tuple[float, float] | ErrorValue:
    """Both operands as Floats, or both operands' errors."""
    a = to_number(left)
    b = to_number(right)
    if isinstance(a, ErrorValue) or isinstance(b, ErrorValue):
        return ErrorValue.merge([e for e in (a, b) if isinstance(e, ErrorValue)])
    return a, b


def _timelike(value: Value) -> bool:
    return isinstance(value, (dt.date, dt.timedelta))


def _decimal_pair(left: Value, right: Value, mode: bool) -> tuple[Decimal, Decimal] | ErrorValue | None:
    """Both operands as Decimals when the operation is a Decimal one, else None (a Float one).

    Decimal when either operand is a Decimal, or in Decimal mode (`mode`) when neither is a
    Float; never with a Float.  A date or time takes part only in Decimal mode beside a Decimal
    (as its exact serial number).  In Float mode a Decimal beside text or an untyped value is a Float
    operation (see postcall.powerfx.numbers)."""
    tl, tr = type(left), type(right)
    if tl is float or tr is float:
        return None
    if not (mode or tl is Decimal or tr is Decimal):
        return None
    if _timelike(left) or _timelike(right):
        if not mode or (tl is not Decimal and tr is not Decimal):
            return None  # in Float mode a date makes the operation a Float one
        a, b = (exact_serial(v) if isinstance(v, (dt.date, dt.timedelta)) else to_decimal(v) for v in (left, right))
        if isinstance(a, ErrorValue) or isinstance(b, ErrorValue):
            return ErrorValue.merge([e for e in (a, b) if isinstance(e, ErrorValue)])
        return a, b
    if not mode and (tl in (str, UntypedObject) or tr in (str, UntypedObject)):
        return None
    a = to_decimal(left)
    b = to_decimal(right)
    if isinstance(a, ErrorValue) or isinstance(b, ErrorValue):
        return ErrorValue.merge([e for e in (a, b) if isinstance(e, ErrorValue)])
    return a, b


def _read_untyped(left: Value, right: Value, mode: bool, negated: bool = False) -> tuple[Value, Value] | ErrorValue:
    """An untyped operand (ParseJSON) read as a number, as Power Fx types it: as a Float beside
    a Float (and always in Float mode), else in Decimal mode as a Decimal, so that one beyond
    Decimal's range is an InvalidArgument error (beside a date too).  Text beside it is read
    the same way, and both operands' errors are reported.  `negated`: the right operand of `-`,
    which Power Fx negates first, as a Decimal in Decimal mode even beside a Float."""
    if type(left) is not UntypedObject and type(right) is not UntypedObject:
        return left, right
    if not mode:
        a, b = (to_number(v) if type(v) is UntypedObject else v for v in (left, right))
    elif type(left) is float or type(right) is float:
        a = to_number(left) if type(left) is UntypedObject else left
        b = (to_decimal if negated else to_number)(right) if type(right) is UntypedObject else right
    else:
        a, b = (to_decimal(v) if type(v) in (UntypedObject, str) else v for v in (left, right))
    if isinstance(a, ErrorValue) or isinstance(b, ErrorValue):
        return ErrorValue.merge([e for e in (a, b) if isinstance(e, ErrorValue)])
    return a, b


decimal_operands = _decimal_pair
read_untyped = _read_untyped
Arith = Callable[[Value, Value], Value]


def decimal_mode(func: Callable[[Value, Value, bool], Value]) -> Arith:
    """The operator as a formula in Decimal mode calls it."""
    return lambda left, right: func(left, right, True)


def _arith(
    left: Value,
    right: Value,
    mode: bool,
    exact: Callable[[Decimal, Decimal], Value],
    inexact: Callable[[float, float], Value],
) -> Value:
    """The one number model of `+ - * /` on numbers (untyped values already read): Decimal
    when `_decimal_pair` says so, else Float."""
    pair = _decimal_pair(left, right, mode)
    if pair is not None:
        return pair if isinstance(pair, ErrorValue) else exact(*pair)
    floats = _num_pair(left, right)
    if isinstance(floats, ErrorValue):
        return floats
    return inexact(*floats)


def _operands(left: Value, right: Value, mode: bool, negated: bool = False) -> tuple[Value, Value] | ErrorValue:
    """The operands' errors (both, aggregated, as Power Fx does), else the operands with
    untyped values read."""
    if isinstance(left, ErrorValue):
        return ErrorValue.merge([left, right]) if isinstance(right, ErrorValue) else left
    if isinstance(right, ErrorValue):
        return right
    return _read_untyped(left, right, mode, negated)


def add(left: Value, right: Value, mode: bool = False, zone: dt.tzinfo | None = None) -> Value:
    """`+`; `zone`: the evaluation's time zone, through which date-times move (zones.py)."""
    if type(left) is float and type(right) is float:
        return numeric(left + right)
    read = _operands(left, right, mode)
    if isinstance(read, ErrorValue):
        return read
    left, right = read
    if _timelike(left) or _timelike(right):
        return _add_dates(left, right, zone)
    return _arith(left, right, mode, nums.add, lambda a, b: numeric(a + b))


def _add_dates(left: Value, right: Value, zone: dt.tzinfo | None = None) -> Value:
    """Date + Time -> DateTime; Date/DateTime + number -> same kind shifted by days; Time +
    number -> Time shifted by days (fraction of a day).  A time added to a date-time moves it
    through UTC in `zone`; days move it on the wall clock (see zones.py)."""
    if isinstance(left, dt.timedelta) and isinstance(right, dt.date):
        left, right = right, left
    if isinstance(left, dt.date) and isinstance(right, dt.timedelta):
        base = left if isinstance(left, dt.datetime) else dt.datetime(left.year, left.month, left.day)
        try:
            return shift_local(base, right, zone)
        except OverflowError:
            return ErrorValue(ErrorKind.InvalidArgument, "The date is out of range.")
    if isinstance(left, dt.timedelta) and isinstance(right, dt.timedelta):
        return left + right
    if not isinstance(left, (dt.date, dt.timedelta)):
        left, right = right, left
    if isinstance(right, (dt.date, dt.timedelta)):
        pair = _num_pair(left, right)
        if isinstance(pair, ErrorValue):
            return pair
        return numeric(pair[0] + pair[1])
    days = to_number(right)
    if isinstance(days, ErrorValue):
        return days
    try:
        if isinstance(left, dt.datetime):
            return valid_local(left + dt.timedelta(days=days), zone)  # days on the wall clock
        if isinstance(left, dt.date):
            result = serial_to_datetime(date_to_serial(left) + days)
            if isinstance(result, ErrorValue):
                return result
            return result if days != int(days) else result.date()
        if isinstance(left, dt.timedelta):
            return left + dt.timedelta(days=days)  # kept whole; shown as a time of day
    except (OverflowError, ValueError):
        return ErrorValue(ErrorKind.InvalidArgument, "The date is out of range.")
    return ErrorValue(ErrorKind.InvalidArgument, "Invalid date arithmetic.")


def subtract(left: Value, right: Value, mode: bool = False, zone: dt.tzinfo | None = None) -> Value:
    if type(left) is float and type(right) is float:
        return numeric(left - right)
    if _timelike(right) and not _timelike(left) and not isinstance(left, ErrorValue):
        return ErrorValue(ErrorKind.NotSupported, "A date or time cannot be subtracted from a number.")
    read = _operands(left, right, mode, negated=True)
    if isinstance(read, ErrorValue):
        return read
    left, right = read
    if isinstance(left, dt.date) and isinstance(right, dt.date):
        return numeric(date_to_serial(left) - date_to_serial(right))
    if isinstance(left, dt.timedelta) and isinstance(right, dt.timedelta):
        return numeric((left - right).total_seconds() / 86400)
    if isinstance(left, dt.date) and isinstance(right, dt.timedelta):
        return _add_dates(left, -right, zone)
    if _timelike(left) and not _timelike(right):
        days = to_number(right)
        if isinstance(days, ErrorValue):
            return days
        return _add_dates(left, -days, zone)
    return _arith(left, right, mode, nums.subtract, lambda a, b: numeric(a - b))


def multiply(left: Value, right: Value, mode: bool = False) -> Value:
    if type(left) is float and type(right) is float:
        return numeric(left * right)
    read = _operands(left, right, mode)
    if isinstance(read, ErrorValue):
        return read
    return _arith(*read, mode, nums.multiply, lambda a, b: numeric(a * b))


def _float_divide(a: float, b: float) -> Value:
    if b == 0:
        return ErrorValue(ErrorKind.Div0, "Division by zero.")
    return numeric(a / b)


def divide(left: Value, right: Value, mode: bool = False) -> Value:
    read = _operands(left, right, mode)
    if isinstance(read, ErrorValue):
        return read
    return _arith(*read, mode, nums.divide, _float_divide)


def power(left: Value, right: Value, mode: bool = False) -> Value:
    if isinstance(left, ErrorValue):
        return left
    if isinstance(right, ErrorValue):
        return right
    pair = _num_pair(left, right)
    if isinstance(pair, ErrorValue):
        return pair
    base, exp = pair
    if base == 0 and exp == 0:
        return 1.0  # as Excel and Power Fx
    if base == 0 and exp < 0:
        return ErrorValue(ErrorKind.Div0, "Division by zero.")
    try:
        result = math.pow(base, exp)
    except (OverflowError, ValueError):
        return ErrorValue(ErrorKind.Numeric, "The result is not a finite number.")
    return numeric(result)


def negate(value: Value, mode: bool = False) -> Value:
    """Unary `-`: a date or date-time stays one (its serial number negated); in Decimal mode
    (`mode`) text and untyped values are read as Decimals."""
    if type(value) is float:
        return -value if value != 0 else value
    if type(value) is Decimal:
        return value.copy_negate() if value != 0 else value  # exact (no context rounding)
    if isinstance(value, ErrorValue):
        return value
    if isinstance(value, dt.timedelta):
        return -value
    if isinstance(value, dt.date):
        moved = serial_to_datetime(-date_to_serial(value))
        if isinstance(moved, ErrorValue) or isinstance(value, dt.datetime):
            return moved
        return moved.date()
    if mode and type(value) in (str, UntypedObject):
        exact = to_decimal(value)
        return exact if isinstance(exact, ErrorValue) else negate(exact)
    number = to_number(value)
    if isinstance(number, ErrorValue):
        return number
    return -number if number != 0 else 0.0


def percent(value: Value, mode: bool = False) -> Value:
    """Postfix `%`: the value divided by 100 (Decimal mode reads text and untyped values as
    Decimals)."""
    if isinstance(value, ErrorValue):
        return value
    if mode and type(value) in (str, UntypedObject):
        exact = to_decimal(value)
        if isinstance(exact, ErrorValue):
            return exact
        value = exact
    if type(value) is Decimal:
        return nums.to_net(value.scaleb(-2, context=nums.CONTEXT))
    number = to_number(value)
    if isinstance(number, ErrorValue):
        return number
    return number / 100


def logical_not(value: Value) -> Value:
    if type(value) is bool:
        return not value
    result = to_boolean(value)
    if isinstance(result, ErrorValue):
        return result
    return not result


def concat(left: Value, right: Value, limit: int) -> Value:
    a = left if type(left) is str else to_text(left)
    if isinstance(a, ErrorValue):
        return a
    b = right if type(right) is str else to_text(right)
    if isinstance(b, ErrorValue):
        return b
    if len(a) + len(b) > limit:
        return ErrorValue(ErrorKind.InvalidArgument, f"Text longer than the limit of {limit} characters.")
    return a + b


def membership(left: Value, right: Value, exact: bool) -> Value:
    """`left in right`: substring of text, or a value (or record) among a table's rows."""
    if isinstance(left, ErrorValue):
        return left
    if isinstance(right, ErrorValue):
        return right
    if isinstance(right, Table):

        for row in right.rows:
            if isinstance(row, ErrorValue):
                return row
            if row is None:
                continue  # a blank row holds no value, not a Blank one (inTable_V1Compat)
            candidate: Value
            if isinstance(left, Record):
                candidate = row
            elif isinstance(row, Record) and len(right.columns) == 1:
                candidate = row.get_field(right.columns[0])
            else:
                candidate = row
            if isinstance(candidate, ErrorValue):
                return candidate
            if not exact and isinstance(left, str) and isinstance(candidate, str):
                if left.lower() == candidate.lower():
                    return True
                continue
            if isinstance(left, Record) and isinstance(candidate, Record):
                if _records_equal(left, candidate, exact):
                    return True
                continue
            same = equals(left, candidate)
            if same is True:
                return True
        return False
    if isinstance(right, Record):
        return ErrorValue(ErrorKind.InvalidArgument, "'in' needs text or a table on its right.")
    needle = to_text(left)
    if isinstance(needle, ErrorValue):
        return needle
    hay = to_text(right)
    if isinstance(hay, ErrorValue):
        return hay
    if exact:
        return needle in hay
    return needle.lower() in hay.lower()


def _records_equal(a: Record, b: Record, exact: bool) -> bool:

    if set(a) != set(b):
        return False
    for key in a:
        x, y = a[key], b[key]
        if not exact and isinstance(x, str) and isinstance(y, str):
            if x.lower() != y.lower():
                return False
        elif equals(x, y) is not True:
            return False
    return True


def describe(value: Value) -> str:
    return type_name(value)


__all__ = ["DAY", "add", "concat", "divide", "logical_not", "membership", "multiply", "negate", "percent", "power", "subtract"]
