"""Power Fx's two number types, in one place: Float (Python ``float``) and Decimal.

Power Fx has Float (IEEE double) and Decimal (.NET ``System.Decimal``: a 96-bit integer scaled
by 10^0..10^-28, so at most 28-29 significant digits and |x| <= 79228162514264337593543950335).
A Decimal here is a ``decimal.Decimal`` kept inside that range and precision by `to_net`, so the
same formula gives the same digits as Microsoft's engine.  Which type a number literal, a text
coerced to a number, or `Value()` gives is the formula's number mode: Decimal, as Copilot Studio
and Power Fx V1 hosts run (the parser flag NumberIsFloat off), or Float.

Mixing: Decimal with Decimal (or Blank, Boolean, text, untyped) stays Decimal; anything with a
Float becomes Float; functions without an exact decimal form (Sqrt, Ln, trigonometry...) give
Float.  An operation whose Decimal result would leave the range is a Numeric error, as in .NET.
"""

from __future__ import annotations

import decimal
import math
from decimal import Decimal

from postcall.powerfx.values import ErrorKind, ErrorValue

DECIMAL_MAX = Decimal(79228162514264337593543950335)
_MANTISSA_MAX = 2**96 - 1
_MAX_SCALE = 28

# Wide enough for exact sums/products of two in-range decimals before rounding to .NET's.
CONTEXT = decimal.Context(prec=80, rounding=decimal.ROUND_HALF_EVEN, Emax=999999, Emin=-999999,
                          traps=[decimal.InvalidOperation, decimal.DivisionByZero])
ZERO = Decimal(0)
ONE = Decimal(1)


def overflow() -> ErrorValue:
    return ErrorValue(ErrorKind.Numeric, "The result is outside the range of a Decimal number.")


def to_net(value: Decimal) -> Decimal | ErrorValue:
    """`value` rounded as a .NET decimal holds it (half to even), or a Numeric error."""
    if not value.is_finite():
        return overflow()
    if value == 0:
        return ZERO
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    if exponent >= 0:
        if value.copy_abs() > DECIMAL_MAX:
            return overflow()
        return value
    # Scale (digits after the point) at most 28, and the scaled integer within 96 bits.
    scale = min(-exponent, _MAX_SCALE)
    while True:
        quantum = Decimal((0, (1,), -scale))
        rounded = value.quantize(quantum, rounding=decimal.ROUND_HALF_EVEN, context=CONTEXT)
        mantissa = abs(int(rounded.scaleb(scale, context=CONTEXT)))
        if mantissa <= _MANTISSA_MAX or scale == 0:
            break
        scale -= 1
    if rounded.copy_abs() > DECIMAL_MAX:
        return overflow()
    return rounded


def from_float(value: float) -> Decimal | ErrorValue:
    """A Float as a Decimal: .NET's conversion keeps 15 significant digits."""
    if math.isnan(value) or math.isinf(value) or abs(value) > 7.9228162514264337e28:
        return overflow()
    if value == 0:
        return ZERO
    return to_net(Decimal(f"{value:.15g}"))


def from_text(core: str) -> Decimal | ErrorValue:
    """Digits as written (`123.45`, `1e3`): exact, then to .NET's range and precision."""
    try:
        return to_net(Decimal(core))
    except (decimal.InvalidOperation, ValueError):
        return ErrorValue(ErrorKind.InvalidArgument, f"{core!r} is not a number.")


def as_decimal(number: float | Decimal) -> Decimal | ErrorValue:
    return number if type(number) is Decimal else from_float(float(number))


def add(a: Decimal, b: Decimal) -> Decimal | ErrorValue:
    return to_net(CONTEXT.add(a, b))


def subtract(a: Decimal, b: Decimal) -> Decimal | ErrorValue:
    return to_net(CONTEXT.subtract(a, b))


def multiply(a: Decimal, b: Decimal) -> Decimal | ErrorValue:
    return to_net(CONTEXT.multiply(a, b))


def divide(a: Decimal, b: Decimal) -> Decimal | ErrorValue:
    if b == 0:
        return ErrorValue(ErrorKind.Div0, "Division by zero.")
    return to_net(CONTEXT.divide(a, b))


def modulo(a: Decimal, b: Decimal) -> Decimal | ErrorValue:
    """Power Fx Mod: the remainder with the sign of the divisor."""
    if b == 0:
        return ErrorValue(ErrorKind.Div0, "Mod: division by zero.")
    result = CONTEXT.remainder(a, b)
    if result != 0 and (result < 0) != (b < 0):
        result = CONTEXT.add(result, b)
    return to_net(result)


def normalized(value: Decimal) -> Decimal:
    """Trailing zeros dropped (1.500 -> 1.5), without an exponent for whole numbers."""
    if value == 0:
        return ZERO
    reduced = value.normalize(CONTEXT)
    exponent = reduced.as_tuple().exponent
    assert isinstance(exponent, int)
    return reduced.quantize(ONE, context=CONTEXT) if exponent > 0 else reduced


def format_decimal(value: Decimal) -> str:
    """Power Fx's text of a Decimal: every digit it holds, never an exponent."""
    return f"{normalized(value):f}"
