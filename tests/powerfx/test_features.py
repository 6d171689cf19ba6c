"""Language rules as one Features value: Power Fx V1 by default, older hosts' rules on request."""

from __future__ import annotations

import pytest

from postcall.powerfx import parse_formula
from postcall.powerfx.features import CANVAS, NO_FEATURES, POWER_FX_V1, Features
from postcall.powerfx.runtime import EvalContext
from postcall.powerfx.values import ErrorKind, ErrorValue, Value


def run(text: str, features: Features) -> Value:
    parsed = parse_formula(text, features=features)
    assert parsed.formula is not None, [d.message for d in parsed.diagnostics]
    return parsed.formula.evaluate(EvalContext(scope={}))


def refused(text: str, features: Features) -> bool:
    return parse_formula(text, features=features).formula is None


def test_v1_is_the_default_and_has_every_v1_feature() -> None:
    assert Features() == POWER_FX_V1
    assert POWER_FX_V1.v1 and POWER_FX_V1.strongly_typed_builtin_enums
    assert not CANVAS.v1 and CANVAS.consistent_one_column_table_result
    assert POWER_FX_V1.with_setting("PowerFxV1CompatibilityRules", False) == Features(power_fx_v1_compatibility_rules=False)
    assert not POWER_FX_V1.with_setting("DisableReservedKeywords", True).reserved_keywords
    with pytest.raises(KeyError):
        POWER_FX_V1.with_setting("NoSuchFeature", True)


@pytest.mark.parametrize(("text", "expected"), [('1 = "1"', False), ("0 <> false", True), ('"a" = "a"', True)])
def test_without_v1_rules_different_kinds_are_unequal(text: str, expected: bool) -> None:
    assert run(text, CANVAS) is expected
    if text != '"a" = "a"':
        assert refused(text, POWER_FX_V1)


def test_an_error_still_wins_over_unequal_kinds() -> None:
    value = run('1/0 = "x"', CANVAS)
    assert isinstance(value, ErrorValue) and value.kind == ErrorKind.Div0


def test_text_format_rules_follow_the_v1_switch() -> None:
    # V1: a format for text is a compile error; before V1 it is an InvalidArgument when it runs.
    assert refused('Text("abc", "0.00")', POWER_FX_V1)
    value = run('Text("abc", "0.00")', CANVAS)
    assert isinstance(value, ErrorValue) and value.kind == ErrorKind.InvalidArgument
    # Before V1 only a code mixing digits with date letters is refused when compiling.
    assert refused('Text(1, "yyyy 0")', CANVAS)
    assert run('Text(1234.5, "#,##0.00")', CANVAS) == "1,234.50"


def test_min_max_without_v1_rules_compute_mixed_kinds_as_numbers() -> None:
    assert run("Min(Time(12,0,0), Date(2020,1,1))", NO_FEATURES) == 0.5
    assert run("Min(Time(12,0,0), Time(6,0,0))", NO_FEATURES) == run("Time(6,0,0)", POWER_FX_V1)
    assert run("Max(Date(2022,3,8), DateTime(2022,3,8,13,50,0))", CANVAS) == run(
        "DateTime(2022,3,8,13,50,0)", POWER_FX_V1
    )


CHAINING = Features(expression_chaining=True)


def test_chaining_runs_each_part_and_keeps_every_error() -> None:
    assert run("3; 4; 5", CHAINING) == 5
    assert run("If(true, 1; 2, 4)", CHAINING) == 2
    value = run('1/0; 7; Sqrt(-1); 4', CHAINING)
    assert isinstance(value, ErrorValue) and [e.kind for e in value.all()] == [ErrorKind.Div0, ErrorKind.Numeric]
    # Not in parentheses, and not at all without the parser flag.
    assert refused("(1; 2)", CHAINING)
    assert refused("3; 4", POWER_FX_V1)


def test_behaviour_formulas_allow_results_of_no_type() -> None:
    # Results that do not agree make an If of no usable value, not a compile error...
    assert run('If(1<0, "abc", {x:3})', CHAINING) is None
    assert run("IsError(If(1<0, {x:3}, 1/0))", CHAINING) is True
    # ...but using that value is one, and value formulas keep the V1 rule.
    assert refused("If(1>0, 100, {x:3}) + 1", CHAINING)
    assert refused('If(1<0, "abc", {x:3})', POWER_FX_V1)


TEXT_FIRST = Features(text_first=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3+3", "3+3"),
        ("=3+3", 6),
        ("3 ${3+3}", "3 6"),
        ('3 \' {} ${3+3} " ${$"{7+7}"}', '3 \' {} 6 " 14'),
        ("$${1+3}", "${1+3}"),
        ("$$${1+3}", "$${1+3}"),
        ("${{a:1,b:2}.a}", "1"),
        ("=", None),
    ],
)
def test_text_first_reads_text_with_holes(text: str, expected: object) -> None:
    assert run(text, TEXT_FIRST) == expected


def test_text_first_errors_are_compile_errors() -> None:
    assert refused('Happy ${UnknownFunction("arg")} Days', TEXT_FIRST)
    assert refused("// Hello ${// 1+1} World", TEXT_FIRST)


def test_regular_expressions_before_v1_are_dotnet_patterns() -> None:
    # A literal "(" in a class is refused by Power Fx V1's dialect, accepted by .NET.
    pattern = 'Match("(555) 123", "[(]?[0-9]{3}[)]? [0-9]+").FullMatch'
    assert refused(pattern, POWER_FX_V1)
    assert run(pattern, CANVAS) == "(555) 123"
    # Options may be computed; DotAll and FreeSpacing came with V1.
    assert run('IsMatch("Hello", "h", If(true, MatchOptions.IgnoreCase, MatchOptions.Contains))', CANVAS) is True
    assert refused('Match("Hi", ".", MatchOptions.DotAll)', CANVAS)
    # SubMatches is a field, Blank unless NumberedSubMatches is asked for.
    assert run('Match("Hi", "(H)i").SubMatches', CANVAS) is None
    assert refused("Match(\"ab\", \"a)\")", CANVAS)


def test_decimal_and_untyped_blank_tables_before_v1() -> None:
    assert refused("Decimal(1)", CANVAS)
    assert run("Sum(Blank(), 1)", CANVAS) is None
    assert run("Sum(Blank(), 1)", POWER_FX_V1) == 1


def test_computed_match_options_before_v1() -> None:
    # Match's record type comes from the default options: computed ones may only say Contains.
    value = run('With({opts: "i"}, Match("Hi", "hi", opts))', CANVAS)
    assert isinstance(value, ErrorValue) and value.kind == ErrorKind.InvalidArgument
    assert run('Match("Hi", "H", If(true, MatchOptions.Contains, MatchOptions.Complete)).FullMatch', CANVAS) == "H"
    # IsMatch has no record: any computed options work.
    assert run('With({mo: MatchOptions.IgnoreCase}, IsMatch("A", "a", mo))', CANVAS) is True


def test_column_names_are_expressions_without_identifier_support() -> None:
    formula = 'With({a: "b"}, First(SortByColumns(Table({a:1,b:"y"},{a:2,b:"x"}), a, SortOrder.Descending)).a)'
    assert run(formula, POWER_FX_V1) == 2  # `a` names the column
    assert run(formula, Features(support_column_names_as_identifiers=False)) == 1  # `a` is "b"


def test_a_host_function_may_require_constant_text_arguments() -> None:
    from postcall.powerfx.functions import FUNCTIONS, FunctionSpec

    echo = FunctionSpec("Echo", 1, 1, lambda site, args: args[0], constant_args=frozenset({0}))
    table = {**FUNCTIONS, "Echo": echo}
    assert parse_formula('Echo("a" & "b")', functions=table).formula is not None
    assert parse_formula('Echo(If(true, "a"))', functions=table).formula is None


def test_v1_compile_rules_for_scopes_predicates_fields_and_records() -> None:
    # An untyped Blank (or an error) cannot define a row scope with the V1 rules.
    assert refused("Distinct(Blank(), true)", POWER_FX_V1)
    assert run("Distinct(Blank(), true)", CANVAS) is None
    # Filter's predicates are combined with And in V1.
    assert refused("Filter([1,2,3], Value > 1, Value > 2)", POWER_FX_V1)
    assert run("CountRows(Filter([1,2,3], Value > 1 And Value > 2))", POWER_FX_V1) == 1
    # `.` on a number is a compile error.
    assert refused("With({x: 3}, x.y)", POWER_FX_V1)
    assert refused("Date(2000,1,2) && 1", POWER_FX_V1)
    # Records of different types merge, fields taking the merged kind.
    assert run('Switch(1, 0, {a:1, b:true}, 1, {b:"false", c:"hello"}).b', POWER_FX_V1) is False
