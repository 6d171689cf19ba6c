"""The one number model of the operators (postcall.powerfx.operators / coerce): which operand
types make an operation Decimal or Float, how untyped numbers are read, dates beside Decimals."""

from __future__ import annotations

import pytest

from postcall.devtools.conformance import values_equal
from postcall.powerfx import ErrorKind, ErrorValue, EvalContext, format_value, parse_formula


def _eval(expr: str, decimal: bool) -> object:
    result = parse_formula(expr, number_is_float=not decimal)
    assert result.formula is not None, result.diagnostics
    return result.formula.evaluate(EvalContext(scope={}))


@pytest.mark.parametrize(
    ("expr", "decimal", "expected"),
    [
        # An untyped number beside a Float is read as a Float (1e100 fits), else as a Decimal.
        ('Float(2) * ParseJSON("1e100")', True, "2E+100"),
        ('ParseJSON("1e100") / Float(4)', True, "2.5E+99"),
        ('ParseJSON("0.1") + 0.2', True, "0.3"),
        # Dates beside a Decimal compare and divide exactly in Decimal mode, as Floats otherwise.
        ('Date(1900,1,1) < Decimal("2.000000000000000000000002")', True, "true"),
        ('Date(1900,1,1) < Decimal("2.000000000000000000000002")', False, "false"),
        ('Date(1900,1,1) = Decimal("2.000000000000000000000002")', True, "false"),
        ('Mod(Date(2000,1,1), Decimal("2.000000000000000000000002"))', True, "1.999999999999999999963476"),
        # Untyped values take the other operand's type in comparisons.
        ('ParseJSON("""2000-01-01T09:00:00""") = Date(2000,1,1)', True, "true"),
        ('ParseJSON("null") < Date(2000,1,1)', False, "true"),
        # A negated date stays a date.
        ("-Date(2000,1,1)", True, "Date(1799,12,28)"),
        # In Float mode, text beside a Decimal makes a Float operation.
        ('"1e100" / Decimal("2")', False, "5E+99"),
    ],
)
def test_number_model(expr: str, decimal: bool, expected: str) -> None:
    actual = _eval(expr, decimal)
    want = _eval(expected, decimal and "E+" not in expected)  # beyond Decimal's range: a Float
    assert values_equal(actual, want), f"{expr} gave {format_value(actual)}"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("expr", "kinds"),
    [
        ('ParseJSON("1e100") + ParseJSON("1e100")', [ErrorKind.InvalidArgument, ErrorKind.InvalidArgument]),
        ('"1e100" * ParseJSON("1e100")', [ErrorKind.InvalidArgument, ErrorKind.InvalidArgument]),
        ('Date(2000,1,1) / ParseJSON("1e100")', [ErrorKind.InvalidArgument]),
        ('DateTime(2000,1,1,0,0,0) + ParseJSON("1e100")', [ErrorKind.InvalidArgument]),
        ('Float(16) - ParseJSON("1e100")', [ErrorKind.InvalidArgument]),
        ('ParseJSON("1e100") - Date(2000,1,1)', [ErrorKind.NotSupported]),
        ('-"1e100"', [ErrorKind.InvalidArgument]),
    ],
)
def test_number_model_errors_in_decimal_mode(expr: str, kinds: list[ErrorKind]) -> None:
    actual = _eval(expr, True)
    assert isinstance(actual, ErrorValue), format_value(actual)  # type: ignore[arg-type]
    assert sorted(e.kind for e in actual.all()) == sorted(kinds)


def test_not_of_a_date_does_not_compile() -> None:
    assert parse_formula("!Date(2000,1,1)").formula is None


def test_untyped_number_beside_blank_is_read_as_a_decimal_in_comparisons() -> None:
    actual = _eval('Blank() < ParseJSON("1e100")', True)
    assert isinstance(actual, ErrorValue) and actual.kind is ErrorKind.InvalidArgument
    assert _eval('Blank() = ParseJSON("1e100")', True) is False
