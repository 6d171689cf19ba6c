"""Table-driven Power Fx rules: each case in tests/powerfx/cases/*.yaml is an expression, optional
variables (JSON), and the expected value (in Power Fx syntax), error kind, or diagnostic code."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from postcall.devtools.conformance import values_equal
from postcall.diagnostics import TextOrigin
from postcall.powerfx import (
    ErrorKind,
    ErrorValue,
    EvalContext,
    format_value,
    from_json,
    parse_formula,
)

CASES_DIR = Path(__file__).parent / "cases"
NOW = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)


def _load() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for group in yaml.safe_load(path.read_text(encoding="utf-8")):
            for index, case in enumerate(group["cases"]):
                case_id = f"{path.stem}:{group['rule'][:40]}:{index}"
                params.append(pytest.param(case, group["rule"], id=case_id))
    return params


CASES = _load()


def _ctx(variables: dict[str, Any] | None) -> EvalContext:
    scope = {name: from_json(value) for name, value in (variables or {}).items()}
    return EvalContext(scope=scope, now=lambda: NOW)


@pytest.mark.parametrize(("case", "rule"), CASES)
def test_rule(case: dict[str, Any], rule: str) -> None:
    expr = case["expr"]
    result = parse_formula(expr, TextOrigin("case.yaml", 7, 10))
    if "diagnostic" in case:
        codes = [d.code for d in result.diagnostics if d.is_error]
        assert case["diagnostic"] in codes, f"{rule}: {expr!r} gave {result.diagnostics}"
        assert result.formula is None
        diag = next(d for d in result.diagnostics if d.code == case["diagnostic"])
        assert diag.span is not None and diag.span.path == "case.yaml" and diag.span.line == 7
        if "column" in case:
            assert diag.span.column == 10 + case["column"] - 1
        if "message_contains" in case:
            assert case["message_contains"] in diag.message
        return
    assert result.formula is not None, f"{rule}: {expr!r} does not compile: {result.diagnostics}"
    actual = result.formula.evaluate(_ctx(case.get("vars")))
    if "error" in case:
        assert isinstance(actual, ErrorValue), f"{rule}: {expr!r} gave {format_value(actual)}"
        assert actual.kind is ErrorKind[case["error"]]
        return
    expected_parse = parse_formula(case["expect"])
    assert expected_parse.formula is not None, f"bad expectation {case['expect']!r}"
    expected = expected_parse.formula.evaluate(_ctx(None))
    assert values_equal(actual, expected), (
        f"{rule}: {expr!r} gave {format_value(actual)}, expected {format_value(expected)}"
    )


def test_there_are_many_cases() -> None:
    assert len(CASES) >= 150
