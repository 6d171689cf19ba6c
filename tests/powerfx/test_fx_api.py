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


def test_deep_nesting_is_a_diagnostic_not_a_crash() -> None:
    deep = "Abs(" * 300 + "1" + ")" * 300
    result = parse_formula(deep)
    assert result.formula is None and result.diagnostics[0].code == "PFX103"
    # Parentheses alone add no nesting.
    assert parse_formula("(" * 300 + "1" + ")" * 300).formula is not None
    chain = "+".join(["1"] * 3000)
    result = parse_formula(chain)
    assert result.formula is None and result.diagnostics[0].code == "PFX103"


def test_limits_bound_text_tables_and_work() -> None:
    from postcall.powerfx import Limits

    small = EvalContext(
        scope={}, now=lambda: NOW, limits=Limits(max_text_length=100, max_table_rows=50, max_row_visits=1000)
    )
    for source, kind in (
        ('Rept("ab", 1000)', ErrorKind.InvalidArgument),
        ('Concat(Sequence(40), "abcdef")', ErrorKind.InvalidArgument),
        ("Sequence(1000)", ErrorKind.InvalidArgument),
        ("CountRows(ForAll(Sequence(40), Sequence(40)))", ErrorKind.QuotaExceeded),
        ('"x" & Rept("y", 99) & "z"', ErrorKind.InvalidArgument),
    ):
        formula = parse_formula(source).formula
        assert formula is not None, source
        value = formula.evaluate(small)
        assert isinstance(value, ErrorValue) and value.kind is kind, (source, value)


def test_numeric_overflow_is_an_error_value() -> None:
    for source in ("1e308 * 10", "Power(10, 400)", "Exp(1000)", "-1e308 - 1e308"):
        formula = parse_formula(source).formula
        assert formula is not None
        value = formula.evaluate(ctx())
        assert isinstance(value, ErrorValue) and value.kind is ErrorKind.Numeric, source


def test_parse_once_evaluate_many_with_different_scopes() -> None:
    formula = parse_formula('Topic.count * 2 & " " & Lower(Topic.name)').formula
    assert formula is not None
    assert formula.evaluate(ctx(Topic={"count": 2, "name": "A"})) == "4 a"
    assert formula.evaluate(ctx(Topic={"count": 5, "name": "B"})) == "10 b"


def test_known_names_make_unknown_roots_an_error() -> None:
    known = {"Topic", "Global", "System", "Env"}
    assert parse_formula("Topic.x + Global.y", known_names=known).formula is not None
    result = parse_formula("Topc.x", known_names=known)
    assert result.formula is None
    assert result.diagnostics[0].code == "PFX304" and "Topic" in result.diagnostics[0].message
    # Names inside row scopes are not roots.
    assert parse_formula("ForAll([1,2], Value * 2)", known_names=known).formula is not None


def test_to_json_typed_round_trip() -> None:
    source = '{d: Date(2024,1,2), t: DateTime(2024,1,2,3,4,5), h: Time(1,2,3), o: DateTimeFormat.UTC, n: [1,2]}'
    formula = parse_formula(source).formula
    assert formula is not None
    value = formula.evaluate(ctx())
    assert from_json(to_json(value, typed=True), typed=True) == value
    plain = to_json(value)
    assert plain["d"] == "2024-01-02" and plain["t"] == "2024-01-02T03:04:05" and plain["n"] == [1, 2]


def test_to_text_coerces_like_power_fx() -> None:
    from postcall.powerfx import to_text

    assert to_text(None) == ""
    assert to_text(1.0) == "1"
    assert to_text(0.1 + 0.2) == "0.3"
    assert to_text(True) == "true"
    assert to_text(dt.date(2024, 1, 31)) == "1/31/2024"
    with pytest.raises(PowerFxError):
        to_text(Record({"a": 1.0}))


def test_docs_list_every_function() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "powerfx.md").read_text(encoding="utf-8")
    missing = [name for name in sorted(KNOWN_FUNCTIONS) if f"`{name}`" not in doc]
    assert missing == []


def test_template_hole_spans_point_into_the_file() -> None:
    # A block scalar: text line 2 starts at file line 11, column 9.
    origin = TextOrigin("topic.yaml", 10, 7, line_starts=((10, 7), (11, 9)))
    result = parse_template("Hello\nworld {IF(1, 2)} and {Topic.x +}", origin)
    unknown = next(d for d in result.diagnostics if d.code == "PFX301")
    assert unknown.span is not None
    assert (unknown.span.path, unknown.span.line, unknown.span.column) == ("topic.yaml", 11, 16)
    hole = next(d for d in result.diagnostics if d.code == "PFX110")
    assert hole.span is not None and (hole.span.line, hole.span.column) == (11, 30)


def free(text: str) -> list[str]:
    return [r.path for r in parse_formula(text).free_names]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sytem.FallbackCount + Topic.x", ["Sytem.FallbackCount", "Topic.x"]),
        ("ForAll([{a: 1}], a + Topci.Name)", ["Topci.Name"]),
        ("ForAll([1, 2], Value * 2)", []),
        ("Filter([{a: 1}], ThisRecord.a > 0 && b)", ["b"]),
        ("With({r: 1}, r + ThisRecord.r + Q)", ["Q"]),
        ("ForAll(Sequence(3) As n, n.Value + z)", ["z"]),
        ("IfError(1/0, FirstError.Message & CountRows(AllErrors))", []),
        ("ErrorKind.Div0 = DateTimeFormat.UTC", []),
        # Rows of unknown shape (a variable's table) may hold any name: nothing inside is free.
        ("ForAll(Topic.list, Value & anything)", ["Topic.list"]),
        ("ShowColumns(Topic.rows, 'building Name', id)", ["Topic.rows"]),
        ("SortByColumns(Topic.rows, name, SortOrder.Ascending)", ["Topic.rows"]),
        ("Value", ["Value"]),
    ],
)
def test_free_names_are_the_names_the_scope_must_provide(text: str, expected: list[str]) -> None:
    assert free(text) == expected


def test_free_names_have_root_spans_in_the_file_and_survive_a_failed_compile() -> None:
    origin = TextOrigin("t.yaml", 3, 10)
    result = parse_formula("Nope(Topic.a, 'my bot.topic.X.q'.opt)", origin)
    assert result.formula is None  # unknown function
    refs = result.free_names
    assert [(r.root, r.rest) for r in refs] == [("Topic", "a"), ("my bot.topic.X.q", "opt")]
    assert (refs[0].root_span.line, refs[0].root_span.column, refs[0].root_span.end_column) == (3, 15, 20)
    assert result.names == frozenset({"Topic.a", "my bot.topic.X.q.opt"})


def test_template_free_names_include_holes_that_did_not_compile() -> None:
    result = parse_template("Hi {Topci.Name} and {Nope(Global.x)}")
    assert result.template is None
    assert [r.path for r in result.free_names] == ["Topci.Name", "Global.x"]
    ok = parse_template("Hi {Topic.name}").template
    assert ok is not None and [r.path for r in ok.free_names] == ["Topic.name"]


def evaluate(source: str, context: EvalContext, **scope: object) -> object:
    formula = parse_formula(source).formula
    assert formula is not None, source
    return formula.evaluate(
        EvalContext(scope={k: from_json(v) for k, v in scope.items()}, now=context.now, limits=context.limits)
    )


def test_is_match_with_catastrophic_backtracking_times_out_as_an_error_value() -> None:
    from postcall.powerfx import Limits

    quick = EvalContext(scope={}, now=lambda: NOW, limits=Limits(regex_timeout_seconds=0.01))
    # The text comes from the caller; `(a|aa)+$` backtracks exponentially on a's and a '!'.
    value = evaluate('IsMatch(Topic.said, "(a|aa)+$")', quick, Topic={"said": "a" * 80 + "!"})
    assert isinstance(value, ErrorValue) and value.kind is ErrorKind.Timeout, value
    assert "took longer than 0.01 s" in value.message
    # IfError catches it like any other error.
    assert evaluate('IfError(IsMatch(Topic.said, "(a|aa)+$"), false)', quick, Topic={"said": "a" * 80 + "!"}) is False
    # The audit's example no longer backtracks at all on the regex engine; still false.
    assert evaluate('IsMatch("aaaaaaaaaaaaaaaaaaaaaaaa!", "(a+)+$")', ctx()) is False


def test_is_match_bounds_text_and_pattern_length() -> None:
    from postcall.powerfx import Limits

    small = EvalContext(
        scope={}, now=lambda: NOW, limits=Limits(max_regex_text_length=10, max_regex_pattern_length=5)
    )
    long_text = evaluate('IsMatch(Rept("a", 11), "a")', small)
    assert isinstance(long_text, ErrorValue) and long_text.kind is ErrorKind.InvalidArgument
    assert "limit 10" in long_text.message
    long_pattern = evaluate('IsMatch("a", "aaaaaa")', small)
    assert isinstance(long_pattern, ErrorValue) and long_pattern.kind is ErrorKind.BadRegex
    assert evaluate('IsMatch(Rept("a", 10), "^a+$")', small) is True


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (r'IsMatch("Émile", "^\p{Lu}\p{Ll}+$")', True),
        (r'IsMatch("émile", "^\p{Lu}")', False),
        (r'IsMatch("٣٤", "^\p{Nd}+$")', True),
        (r'IsMatch("Zoë", "^\p{L}+$")', True),
        (r'IsMatch("a1", "\P{L}")', True),
    ],
)
def test_is_match_unicode_classes(source: str, expected: bool) -> None:
    assert evaluate(source, ctx()) is expected
