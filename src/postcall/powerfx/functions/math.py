"""Math functions: Abs, Round/RoundUp/RoundDown, Int, Trunc, Mod, Sqrt, Power, Ln, Log, Exp, Sum..."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TypeVar

from postcall.powerfx import numbers as nums
from postcall.powerfx.coerce import compare, serial_to_datetime, to_decimal, to_number
from postcall.powerfx.dateparse import parse_datetime_text
from postcall.powerfx.functions.common import as_table, eval_in_row, iter_rows
from postcall.powerfx.functions.registry import CallSite, Fn, eager, lazy
from postcall.powerfx.functions.text import tabular
from postcall.powerfx.operators import decimal_operands, numeric, power, read_untyped
from postcall.powerfx.runtime import Frame
from postcall.powerfx.values import ErrorKind, ErrorValue, Table, Value, format_number

T = TypeVar("T")


def _converted(args: list[Value], convert: Callable[[Value], T | ErrorValue]) -> list[T] | ErrorValue:
    """The arguments converted, or every conversion error at once."""
    out: list[T] = []
    errors: list[ErrorValue] = []
    for a in args:
        n = convert(a)
        if isinstance(n, ErrorValue):
            errors.append(n)
        else:
            out.append(n)
    return ErrorValue.merge(errors) if errors else out


def _numbers(args: list[Value]) -> list[float] | ErrorValue:
    """The arguments as numbers, or every conversion error at once."""
    return _converted(args, to_number)


def _unary(name: str, func: Callable[[CallSite, float], Value]) -> None:
    def impl(frame: Frame, site: CallSite, args: list[Value]) -> Value:
        number = to_number(args[0])
        if isinstance(number, ErrorValue):
            return number
        try:
            return func(site, number)
        except (OverflowError, ValueError):
            return site.error(ErrorKind.Numeric, f"{name}: the result is not a finite number.")

    impl.__doc__ = f"{name}(number)"
    eager(name, 1, 1)(tabular(impl))


def _sqrt(site: CallSite, n: float) -> Value:
    return site.error(ErrorKind.Numeric, "Sqrt of a negative number.") if n < 0 else math.sqrt(n)


def _ln(site: CallSite, n: float) -> Value:
    return site.error(ErrorKind.Numeric, "Ln of a number that is not positive.") if n <= 0 else math.log(n)


def _exact_unary(name: str, exact: Callable[[Decimal], Value], func: Callable[[CallSite, float], Value]) -> None:
    """A function with a Decimal form: a Decimal argument (or, in Decimal mode, a non-Float one)
    gives a Decimal result."""

    def impl(frame: Frame, site: CallSite, args: list[Value]) -> Value:
        value = args[0]
        if type(value) is float:
            return func(site, value)
        if type(value) is Decimal or (frame.decimal and type(value) is not float and value is not None
                                      and not isinstance(value, (dt.date, dt.timedelta))):
            number = to_decimal(value)
            return number if isinstance(number, ErrorValue) else exact(number)
        converted = to_number(value)
        if isinstance(converted, ErrorValue):
            return converted
        return func(site, converted)

    impl.__doc__ = f"{name}(number)"
    eager(name, 1, 1)(tabular(impl))


def _angle(name: str, func: Callable[[float], float], domain: Callable[[float], bool] | None = None) -> None:
    def run(site: CallSite, n: float) -> Value:
        if domain is not None and not domain(n):
            return site.error(ErrorKind.Numeric, f"{name}: {format_number(n)} is outside the function's domain.")
        return numeric(func(n))

    _unary(name, run)


def _cot(site: CallSite, n: float) -> Value:
    tangent = math.tan(n)
    return site.error(ErrorKind.Div0, "Cot of 0.") if tangent == 0 else numeric(1 / tangent)


_exact_unary("Abs", lambda d: d.copy_abs(), lambda site, n: abs(n))
_unary("Sqrt", _sqrt)
_unary("Ln", _ln)
_unary("Exp", lambda site, n: numeric(math.exp(n)))
_exact_unary("Int", lambda d: d.to_integral_value(rounding=decimal.ROUND_FLOOR), lambda site, n: float(math.floor(n)))
_exact_unary("Sign", lambda d: Decimal((d > 0) - (d < 0)), lambda site, n: float((n > 0) - (n < 0)))
_angle("Sin", math.sin)
_angle("Cos", math.cos)
_angle("Tan", math.tan)
_unary("Cot", _cot)
_angle("Asin", math.asin, lambda n: -1 <= n <= 1)
_angle("Acos", math.acos, lambda n: -1 <= n <= 1)
_angle("Atan", math.atan)
_angle("Acot", lambda n: math.pi / 2 - math.atan(n))
_angle("Degrees", math.degrees)
_angle("Radians", math.radians)


@eager("Atan2", 2, 2)
@tabular
def _atan2(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Atan2(x, y): the angle of the point (x, y) from the x axis (Excel's argument order)."""
    numbers = _numbers(args)
    if isinstance(numbers, ErrorValue):
        return numbers
    x, y = numbers
    if x == 0 and y == 0:
        return site.error(ErrorKind.Div0, "Atan2(0, 0) is undefined.")
    return math.atan2(y, x)


_CONTEXT = decimal.Context(prec=60)
_QUANTA = {places: decimal.Decimal(1).scaleb(-places) for places in range(-30, 31)}
_ONE = decimal.Decimal(1)


def _round_digits(number: float, digits: float, mode: str) -> float:
    """Round to `digits` decimals after reducing to 15 significant digits, as Power Fx does."""
    if number == 0:
        return 0.0
    places = int(digits)  # toward zero, like Power Fx
    dec = decimal.Decimal(f"{number:.15g}")
    quantum = _QUANTA.get(places) or decimal.Decimal(1).scaleb(-places)
    if places >= 0:
        rounded = dec.quantize(quantum, rounding=mode, context=_CONTEXT)
    else:
        rounded = _CONTEXT.divide(dec, quantum).quantize(_ONE, rounding=mode, context=_CONTEXT) * quantum
    result = float(rounded)
    return 0.0 if result == 0 else result


def _rounder(name: str, mode: str) -> None:
    def impl(frame: Frame, site: CallSite, args: list[Value]) -> Value:
        if type(args[0]) is not float:  # the Float path first, without the Decimal checks
            exact = _exact_round(frame, args, mode)
            if exact is not None:
                return exact
        number: float
        digits: float
        if len(args) == 2 and type(args[0]) is float and type(args[1]) is float:
            number, digits = args[0], args[1]
        else:
            numbers = _numbers(args if len(args) == 2 else [args[0], 0.0])
            if isinstance(numbers, ErrorValue):
                return numbers
            number, digits = numbers
        if math.isinf(number) or math.isnan(number):
            return site.error(ErrorKind.Numeric, f"{name}: not a finite number.")
        digits = max(min(digits, 300), -300)
        try:
            return _round_digits(number, digits, mode)
        except (decimal.InvalidOperation, OverflowError, ValueError):
            return number

    impl.__doc__ = f"{name}(number, digits): rounded {'half away from zero' if name == 'Round' else 'up (away from zero)' if name == 'RoundUp' else 'down (toward zero)'}"
    eager(name, 1, 2)(tabular(impl))


def _exact_round(frame: Frame, args: list[Value], mode: str) -> Value | None:
    """Rounding of a Decimal (or, in Decimal mode, a non-Float) number: exact, no 15-digit step."""
    value = args[0]
    if not (type(value) is Decimal or (frame.decimal and type(value) is not float
                                       and not isinstance(value, (dt.date, dt.timedelta)))):
        return None
    number = to_decimal(value)
    digits_value = to_number(args[1]) if len(args) == 2 else 0.0
    if isinstance(number, ErrorValue) or isinstance(digits_value, ErrorValue):
        return ErrorValue.merge([e for e in (number, digits_value) if isinstance(e, ErrorValue)])
    places = int(max(min(digits_value, 60), -60))
    if places <= -29:  # beyond every Decimal digit: nothing is left (.NET's Decimal rounds to 0)
        return nums.ZERO
    quantum = Decimal(1).scaleb(-places)
    try:
        if places >= 0:
            rounded = number.quantize(quantum, rounding=mode, context=nums.CONTEXT)
        else:
            rounded = (nums.CONTEXT.divide(number, quantum)).quantize(_ONE, rounding=mode, context=nums.CONTEXT) * quantum
    except decimal.InvalidOperation:
        return number
    return nums.to_net(rounded)


_rounder("Round", decimal.ROUND_HALF_UP)
_rounder("RoundUp", decimal.ROUND_UP)
_rounder("RoundDown", decimal.ROUND_DOWN)


@eager("Trunc", 1, 2)
@tabular
def _trunc(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Trunc(number, [digits])"""
    exact = _exact_round(frame, args, decimal.ROUND_DOWN)
    if exact is not None:
        return exact
    numbers = _numbers(args if len(args) == 2 else [args[0], 0.0])
    if isinstance(numbers, ErrorValue):
        return numbers
    try:
        return _round_digits(numbers[0], numbers[1], decimal.ROUND_DOWN)
    except (decimal.InvalidOperation, OverflowError, ValueError):
        return numbers[0]


@eager("Mod", 2, 2)
@tabular
def _mod(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Mod(number, divisor): the remainder, with the sign of the divisor."""
    if type(args[0]) is not float or type(args[1]) is not float:
        read = read_untyped(args[0], args[1], frame.decimal)  # the operators' number model
        if isinstance(read, ErrorValue):
            return read
        args = list(read)
        exact = decimal_operands(args[0], args[1], frame.decimal)
        if exact is not None:
            return exact if isinstance(exact, ErrorValue) else nums.modulo(*exact)
        numbers = _numbers(args)
        if isinstance(numbers, ErrorValue):
            return numbers
        number, divisor = numbers
    else:
        number, divisor = args  # type: ignore[assignment]
    if divisor == 0:
        return site.error(ErrorKind.Div0, "Mod: division by zero.")
    try:
        result = math.fmod(number, divisor)
    except ValueError:
        return site.error(ErrorKind.Numeric, "Mod: not a finite number.")
    if result != 0 and (result < 0) != (divisor < 0):
        result += divisor
    return 0.0 if result == 0 else result


@eager("Power", 2, 2)
@tabular
def _power(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Power(base, exponent)"""
    return power(args[0], args[1])


@eager("Log", 1, 2)
@tabular
def _log(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Log(number, [base=10])"""
    numbers = _numbers(args if len(args) == 2 else [args[0], 10.0])
    if isinstance(numbers, ErrorValue):
        return numbers
    number, base = numbers
    if number <= 0 or base <= 0:
        return site.error(ErrorKind.Numeric, "Log of a number that is not positive.")
    if base == 1:
        return site.error(ErrorKind.Div0, "Log with base 1.")
    return math.log(number) / math.log(base)


@eager("Pi", 0, 0)
def _pi(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Pi()"""
    return math.pi


def _aggregate(
    name: str,
    combine: Callable[[list[float]], float | None],
    exact: Callable[[list[Decimal]], Value] | None = None,
) -> None:
    def build(site: CallSite, args: Sequence[Fn]) -> Fn:
        first = args[0]
        rest = list(args[1:])
        alias = site.aliases[0] if site.aliases else None

        def run(frame: Frame) -> Value:
            head = first(frame)
            if isinstance(head, ErrorValue):
                return head
            values: list[Value]
            if head is None and len(rest) == 1 and site.arg_kind(0) == "Table":
                return None  # over a Blank table
            if isinstance(head, Table) and len(rest) == 1:
                table = as_table(site, head)
                if isinstance(table, ErrorValue):
                    return table
                if not table.rows:  # over no rows: Blank (an average of nothing divides by zero)
                    return site.error(ErrorKind.Div0, "Average of no rows.") if name == "Average" else None
                values = []
                for row in iter_rows(frame, table):
                    # An error row is evaluated too: its fields read as the error (IfError may catch it).
                    value = eval_in_row(frame, row, alias, rest[0], table.columns)
                    if isinstance(value, ErrorValue):
                        return value  # over a table, the first row's error
                    values.append(value)
            else:
                values = [head, *(a(frame) for a in rest)]
                if name in ("Min", "Max") and site.features.v1 and isinstance(head, (dt.date, dt.timedelta)):
                    return _extreme_as_first(name, values)
            present = [v for v in values if v is not None and v != ""]  # "" is no number: Blank
            if not present:  # no values: Blank, and a mean or a variance of nothing divides by zero
                return site.error(ErrorKind.Div0, f"{name} of no values.") if name in ("Average", "VarP", "StdevP") else None
            errors = [v for v in present if isinstance(v, ErrorValue)]
            if errors:  # every argument's error, as for functions that take values
                return ErrorValue.merge(errors)
            if exact is not None and present and all(
                type(v) is Decimal or (frame.decimal and type(v) is not float
                                       and not isinstance(v, (dt.date, dt.timedelta))) for v in present
            ):
                decimals = _converted(list[Value](present), to_decimal)
                return decimals if isinstance(decimals, ErrorValue) else exact(decimals)
            if name in ("Min", "Max") and present and all(isinstance(v, (dt.date, dt.timedelta)) for v in present):
                # Dates and times keep their type (the earliest or latest one).
                serials = [to_number(v) for v in present]
                pick = min if name == "Min" else max
                best = pick(range(len(present)), key=lambda i: serials[i])  # type: ignore[arg-type,return-value]
                return present[best]
            numbers = _numbers(list[Value](present))
            if isinstance(numbers, ErrorValue):
                return numbers  # every argument's conversion error
            result = combine(numbers)
            if result is None:
                return None if name != "Average" else site.error(ErrorKind.Div0, "Average of no values.")
            return numeric(result)

        return run

    build.__doc__ = f"{name}(number, ...) or {name}(table, formula)"
    lazy(name, 1, None)(build)


def _extreme_as_first(name: str, values: list[Value]) -> Value:
    """Min/Max whose first argument is a date, date-time or time (PowerFxV1CompatibilityRules):
    every argument is read as that type (numbers as serial days, text as a date or time) and
    the result has it."""
    first = values[0]
    converted: list[Value] = []
    errors: list[ErrorValue] = []
    for value in values:
        if value is None:
            continue
        if isinstance(value, ErrorValue):
            return value
        as_first = _as_kind_of(first, value)
        if isinstance(as_first, ErrorValue):
            errors.append(as_first)
        else:
            converted.append(as_first)
    if errors:
        return ErrorValue.merge(errors)
    serials = [to_number(v) for v in converted]
    pick = min if name == "Min" else max
    best = pick(range(len(converted)), key=lambda i: serials[i])  # type: ignore[arg-type,return-value]
    return converted[best]


def _as_kind_of(model: Value, value: Value) -> Value:
    """`value` read as the type of `model` (a date, a date-time or a time)."""
    if type(value) is type(model):
        return value
    if isinstance(value, str):
        parsed = parse_datetime_text(value)
        if parsed is None:
            return ErrorValue(ErrorKind.InvalidArgument, f"{value!r} is not a date or time.")
        day = parsed.date or dt.date(1899, 12, 30)
        value = dt.datetime(day.year, day.month, day.day) + (parsed.time or dt.timedelta())
    serial = to_number(value)
    if isinstance(serial, ErrorValue):
        return serial
    if isinstance(model, dt.timedelta):
        return dt.timedelta(days=serial)  # the whole serial: a date is a time far from 0
    when = serial_to_datetime(serial)
    if isinstance(when, ErrorValue) or isinstance(model, dt.datetime):
        return when
    return when.date()


def _decimal_sum(ds: list[Decimal]) -> Value:
    total = nums.ZERO
    for d in ds:
        step = nums.add(total, d)
        if isinstance(step, ErrorValue):
            return step
        total = step
    return total


def _decimal_average(ds: list[Decimal]) -> Value:
    total = nums.ZERO
    for d in ds:
        total = nums.CONTEXT.add(total, d)
    return nums.divide(total, Decimal(len(ds)))


def _variance(ns: list[float]) -> float | None:
    if not ns:
        return None
    mean = math.fsum(ns) / len(ns)
    return math.fsum((n - mean) ** 2 for n in ns) / len(ns)


_aggregate("Sum", lambda ns: math.fsum(ns), _decimal_sum)
_aggregate("Min", lambda ns: min(ns) if ns else None, lambda ds: min(ds))
_aggregate("Max", lambda ns: max(ns) if ns else None, lambda ds: max(ds))
_aggregate("Average", lambda ns: math.fsum(ns) / len(ns) if ns else None, _decimal_average)
_aggregate("VarP", _variance)
_aggregate("StdevP", lambda ns: None if not ns else math.sqrt(_variance(ns) or 0.0))


__all__ = ["compare"]
