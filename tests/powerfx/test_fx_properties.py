"""Property tests: any text given to the parser, and any small formula evaluated, yields the
project's own results (a Formula or diagnostics; a value or an ErrorValue), never a stray exception."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postcall.diagnostics import Diagnostic
from postcall.powerfx import (
    ErrorKind,
    ErrorValue,
    EvalContext,
    Formula,
    Limits,
    Template,
    from_json,
    parse_formula,
    parse_template,
)
from postcall.powerfx.functions import FUNCTIONS

NOW = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
CTX = EvalContext(
    scope={
        "Topic": from_json({"x": 3, "s": "text", "t": [1, 2, 3], "r": {"a": 1}, "n": None}),
        "System": from_json({"Conversation": {"EndReason": "CUSTOMER_HANGUP"}}),
    },
    now=lambda: NOW,
    limits=Limits(max_text_length=10_000, max_table_rows=1_000, max_row_visits=20_000),
)

FORMULA_ALPHABET = st.sampled_from(
    list("abcXYZ019 .,;:()[]{}\"'$&|!=<>+-*/^%@#\n\t_") + ["If", "Topic", "Value", "And", "in", "{", "}", "\"\""]
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.one_of(st.text(max_size=60), st.lists(FORMULA_ALPHABET, max_size=40).map("".join)))
def test_parse_formula_never_raises(text: str) -> None:
    result = parse_formula(text)
    assert result.formula is None or isinstance(result.formula, Formula)
    assert all(isinstance(d, Diagnostic) for d in result.diagnostics)
    if result.formula is None:
        assert any(d.is_error for d in result.diagnostics)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.one_of(st.text(max_size=80), st.lists(FORMULA_ALPHABET, max_size=40).map("".join)))
def test_parse_template_never_raises(text: str) -> None:
    result = parse_template(text)
    assert result.template is None or isinstance(result.template, Template)
    assert all(isinstance(d, Diagnostic) for d in result.diagnostics)


LEAVES = st.sampled_from(
    [
        "0", "1", "-1", "2.5", "1e308", "1e-300", "\"\"", "\"abc\"", "\"12\"", "\"true\"", "true", "false",
        "Blank()", "Topic.x", "Topic.s", "Topic.t", "Topic.r", "Topic.n", "Topic.missing",
        "System.Conversation.EndReason", "[1, 2, 3]", "[]", "{a: 1, b: \"x\"}", "Date(2024, 2, 29)",
        "DateTime(2024,1,1,0,0,0)", "Time(1,2,3)", "ParseJSON(\"[1,{\"\"a\"\":2}]\")", "Now()", "1/0",
        "Sequence(5)", "Value", "ThisRecord", "DateTimeFormat.UTC", "ErrorKind.Div0",
    ]
)
OPERATORS = ["+", "-", "*", "/", "^", "&", "=", "<>", "<", ">=", "&&", "||", "in", "exactin"]
NAMES = sorted(FUNCTIONS)


def _call(name: str, args: list[str]) -> str:
    spec = FUNCTIONS[name]
    count = max(spec.min_args, min(len(args), spec.max_args if spec.max_args is not None else len(args)))
    padded = (args * (count // max(len(args), 1) + 1))[:count] if args else ["1"] * count
    return f"{name}({', '.join(padded)})"


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(OPERATORS), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        children.map(lambda c: f"-({c})"),
        children.map(lambda c: f"!({c})"),
        children.map(lambda c: f"({c}).a"),
        st.tuples(st.sampled_from(NAMES), st.lists(children, max_size=4)).map(lambda t: _call(t[0], t[1])),
        st.lists(children, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
        st.lists(children, max_size=2).map(lambda items: "{" + ", ".join(f"f{i}: {v}" for i, v in enumerate(items)) + "}"),
        children.map(lambda c: f'$"<{{{c}}}>"'),
    )


FORMULAS = st.recursive(LEAVES, _extend, max_leaves=12)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(FORMULAS)
def test_evaluation_never_raises_a_stray_exception(source: str) -> None:
    result = parse_formula(source)
    if result.formula is None:
        assert any(d.is_error for d in result.diagnostics)
        return
    value = result.formula.evaluate(CTX)  # must not raise anything
    # An Internal error means a Python exception was caught by the last-resort guard: a bug.
    assert not (isinstance(value, ErrorValue) and value.kind is ErrorKind.Internal), value.message


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(FORMULAS)
def test_templates_with_formula_holes_render_or_raise_powerfx_errors(source: str) -> None:
    from postcall.errors import PowerFxError

    result = parse_template("before {" + source + "} after")
    if result.template is None:
        return
    try:
        text = result.template.render(CTX)
    except PowerFxError:
        return
    assert isinstance(text, str)
