"""Math functions: Abs, Round/RoundUp/RoundDown, Int, Trunc, Mod, Sqrt, Power, Ln, Log, Exp, Sum..."""

from __future__ import annotations

import decimal
import math
from collections.abc import Callable, Sequence

from postcall.powerfx.coerce import compare, to_number
from postcall.powerfx.functions.common import as_table, eval_in_row, iter_rows
from postcall.powerfx.functions.registry import CallSite, Fn, eager, lazy
from postcall.powerfx.functions.text import tabular
from postcall.powerfx.operators import numeric, power
from postcall.powerfx.runtime import Frame
from postcall.powerfx.values import ErrorKind, ErrorValue, Table, Value


def _numbers(args: list[Value]) -> list[float] | ErrorValue:
    """The arguments as numbers, or every conversion error at once."""
    out: list[float] = []
    errors: list[ErrorValue] = []
    for a in args:
        n = to_number(a)
        if isinstance(n, ErrorValue):
            errors.append(n)
        else:
            out.append(n)
    return ErrorValue.merge(errors) if errors else out


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


_unary("Abs", lambda site, n: abs(n))
_unary("Sqrt", _sqrt)
_unary("Ln", _ln)
_unary("Exp", lambda site, n: numeric(math.exp(n)))
_unary("Int", lambda site, n: float(math.floor(n)))
_unary("Sign", lambda site, n: float((n > 0) - (n < 0)))


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


_rounder("Round", decimal.ROUND_HALF_UP)
_rounder("RoundUp", decimal.ROUND_UP)
_rounder("RoundDown", decimal.ROUND_DOWN)


@eager("Trunc", 1, 2)
@tabular
def _trunc(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Trunc(number, [digits])"""
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
    numbers = _numbers(args)
    if isinstance(numbers, ErrorValue):
        return numbers
    number, divisor = numbers
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


def _aggregate(name: str, combine: Callable[[list[float]], float | None]) -> None:
    def build(site: CallSite, args: Sequence[Fn]) -> Fn:
        first = args[0]
        rest = list(args[1:])
        alias = site.aliases[0] if site.aliases else None

        def run(frame: Frame) -> Value:
            head = first(frame)
            if isinstance(head, ErrorValue):
                return head
            values: list[Value]
            if isinstance(head, Table) and len(rest) == 1:
                table = as_table(site, head)
                if isinstance(table, ErrorValue):
                    return table
                values = []
                for row in iter_rows(frame, table):
                    if isinstance(row, ErrorValue):
                        return row
                    values.append(eval_in_row(frame, row, alias, rest[0], table.columns))
            else:
                values = [head, *(a(frame) for a in rest)]
            numbers: list[float] = []
            for v in values:
                if isinstance(v, ErrorValue):
                    return v
                if v is None:
                    continue
                n = to_number(v)
                if isinstance(n, ErrorValue):
                    return n
                numbers.append(n)
            result = combine(numbers)
            if result is None:
                return None if name != "Average" else site.error(ErrorKind.Div0, "Average of no values.")
            return numeric(result)

        return run

    build.__doc__ = f"{name}(number, ...) or {name}(table, formula)"
    lazy(name, 1, None)(build)


_aggregate("Sum", lambda ns: math.fsum(ns))
_aggregate("Min", lambda ns: min(ns) if ns else None)
_aggregate("Max", lambda ns: max(ns) if ns else None)
_aggregate("Average", lambda ns: math.fsum(ns) / len(ns) if ns else None)


__all__ = ["compare"]
