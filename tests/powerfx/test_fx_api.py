"""The public API of postcall.powerfx: parsing, names, evaluation, templates, JSON conversion."""

from __future__ import annotations

import datetime as dt

import pytest

from postcall.diagnostics import TextOrigin
from postcall.errors import PowerFxError
from postcall.powerfx import (
    KNOWN_FUNCTIONS,
    ErrorKind,
    ErrorValue,
    EvalContext,
    Record,
    Table,
    from_json,
    is_formula,
    parse_formula,
    parse_template,
    to_json,
    walk,
)

NOW = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)


def ctx(**scope: object) -> EvalContext:
    return EvalContext(scope={k: from_json(v) for k, v in scope.items()}, now=lambda: NOW)


def test_end_reason_condition() -> None:
    result = parse_formula('System.Conversation.EndReason = "CUSTOMER_HANGUP"')
    assert result.formula is not None and result.diagnostics == []
    formula = result.formula
    assert formula.names == frozenset({"System.Conversation.EndReason"})
    assert formula.evaluate(ctx(System={"Conversation": {"EndReason": "CUSTOMER_HANGUP"}})) is True
    assert formula.evaluate(ctx(System={"Conversation": {"EndReason": "AGENT_HANGUP"}})) is False


def test_names_and_functions_as_written() -> None:
    formula = parse_formula("If(IsBlank(Topic.'case id'), Env.crm_BaseUrl, Global.x & Text(Now()))").formula
    assert formula is not None
    assert formula.names == frozenset({"Topic.case id", "Env.crm_BaseUrl", "Global.x"})
    assert formula.functions == frozenset({"If", "IsBlank", "Text", "Now"})
    assert any(True for _ in walk(formula.ast))


def test_unknown_function_has_suggestion_and_file_span() -> None:
    origin = TextOrigin("topics/a.yaml", 12, 20)
    result = parse_formula('IF(Topic.x, "a", "b")', origin)
    assert result.formula is None
    [diag] = result.diagnostics
    assert diag.code == "PFX301"
    assert "If" in diag.message
    assert diag.span is not None and (diag.span.path, diag.span.line, diag.span.column) == ("topics/a.yaml", 12, 20)


def test_syntax_error_points_into_file() -> None:
    result = parse_formula("1 + ) + 2", TextOrigin("f.yaml", 3, 10))
    assert result.formula is None
    assert result.diagnostics[0].code.startswith("PFX1")
    assert result.diagnostics[0].span is not None
    assert result.diagnostics[0].span.column == 14


def test_now_requires_a_clock() -> None:
    formula = parse_formula("Now()").formula
    assert formula is not None
    with pytest.raises(PowerFxError):
        formula.evaluate(EvalContext(scope={}))
    assert formula.evaluate(ctx()) == dt.datetime(2024, 5, 6, 7, 8, 9)


def test_runtime_error_is_a_value() -> None:
    formula = parse_formula("1/0").formula
    assert formula is not None
    value = formula.evaluate(ctx())
    assert isinstance(value, ErrorValue) and value.kind is ErrorKind.Div0


def test_template_holes() -> None:
    result = parse_template('Hello {Topic.name}, {If(Global.de, "ja", "nein")}!')
    assert result.template is not None and result.diagnostics == []
    assert result.template.names == frozenset({"Topic.name", "Global.de"})
    assert result.template.render(ctx(Topic={"name": "Ann"}, Global={"de": True})) == "Hello Ann, ja!"


def test_template_bad_hole_is_literal_with_warning() -> None:
    result = parse_template("Price {1 +} now")
    assert result.template is not None
    assert [d.code for d in result.diagnostics] == ["PFX110"]
    assert result.template.render(ctx()) == "Price {1 +} now"


def test_json_round_trip() -> None:
    value = from_json({"a": 1, "b": [1, 2], "c": [{"x": "y"}], "d": None})
    assert isinstance(value, Record)
    assert isinstance(value["b"], Table) and value["b"].columns == ("Value",)
    assert to_json(value) == {"a": 1, "b": [1, 2], "c": [{"x": "y"}], "d": None}


def test_known_functions_and_is_formula() -> None:
    assert {"If", "Text", "LookUp", "ParseJSON", "EncodeUrl"} <= KNOWN_FUNCTIONS
    assert is_formula("=1") and not is_formula("1")
