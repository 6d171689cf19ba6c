"""Option sets (enums) as one strongly typed model, and colors (enums.py, colors.py)."""

from __future__ import annotations

import pytest

from postcall.powerfx import EvalContext, OptionValue, format_value, parse_formula
from postcall.powerfx.enums import BUILTIN_OPTION_SETS, OptionSet
from postcall.powerfx.features import Features
from postcall.powerfx.values import CALCULATED, Color

PRE_V1_ENUMS = Features(strongly_typed_builtin_enums=False)


def run(text: str, **kwargs: object) -> str:
    result = parse_formula(text, **kwargs)  # type: ignore[arg-type]
    assert result.formula is not None, [d.message for d in result.diagnostics]
    return format_value(result.formula.evaluate(EvalContext(scope={})))


def refused(text: str, **kwargs: object) -> str:
    result = parse_formula(text, **kwargs)  # type: ignore[arg-type]
    assert result.formula is None, f"{text} compiled"
    return " ".join(d.message for d in result.diagnostics)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Weekday(Date(1990,1,1), StartOfWeek.Tuesday)", "7"),
        ("Value(StartOfWeek.Friday) + Decimal(ErrorKind.Network)", "38"),
        ("ErrorKind.Unknown < ErrorKind.Custom", "true"),  # ErrorKind compares numerically
        ("ErrorKind.Div0 = 13", "true"),  # and may be used as its number
        ("DateTimeFormat.LongDate = \"LongDate\"", "false"),  # text becomes a DateTimeFormat: compared by value
        ("Text(Color.Red) & \"/\" & TimeUnit.Days", '"Red/days"'),  # every member may be used as text
        ("JSON([1,2], JSONFormat.IgnoreBinaryData & JSONFormat.FlattenValueTables)", '"[1,2]"'),
        ("Match(\"a334\", Match.Digit & Match.MultipleDigits).FullMatch", '"334"'),
        ("If(false, DateTimeFormat.LongDate, \"help\")", "DateTimeFormat.CalculatedOptionSetValue"),
        ("StartOfWeek.Monday = Blank()", "false"),
    ],
)
def test_strongly_typed_members_work_where_their_set_allows(text: str, expected: str) -> None:
    assert run(text, number_is_float=False) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Weekday(Date(1990,1,1), 2)", "Expecting a Enum (StartOfWeek) value"),
        ("Weekday(Date(1990,1,1), ErrorKind.Div0)", "Expecting a Enum (StartOfWeek) value"),
        ("DateDiff(Date(2011,1,15), Date(2011,1,30), \"days\")", "Expecting a Enum (TimeUnit) value"),
        ("JSON([1], \"_\")", "Expecting a Enum (JSONFormat) value"),
        ("JSON([1], JSONFormat.Compact & Match.Letter)", "Expecting a Enum (JSONFormat) value"),
        ("Sort([1,2], Value, SortOrder.Descending & SortOrder.Ascending)", "Expecting a Enum (SortOrder)"),
        ("Match(\"howdy\", \"h\", \"c\")", "Expecting a Enum (MatchOptions) value"),
        ("Mid(\"foo\", StartOfWeek.Tuesday)", "Expecting a Number value"),
        ("StartOfWeek.Tuesday = 12", "can't be compared"),
        ("TimeUnit.Days <> SortOrder.Ascending", "can't be compared"),
        ("StartOfWeek.Friday < StartOfWeek.Sunday", "Unable to compare values of type Enum (StartOfWeek)"),
        ("StartOfWeek.Friday + 2", "Expecting one of the following"),
        ("StartOfWeek.Friday%", "Expecting a Number value"),
        ("Value(Match.Digit)", "Expected text or number"),
        ("Text(12, JSONFormat.IndentFour)", "Expected text"),
        ("If(true, 1, StartOfWeek.Tuesday)", "Argument type mismatch"),
    ],
)
def test_strongly_typed_members_are_refused_where_their_set_does_not_allow(text: str, message: str) -> None:
    assert message in refused(text)


def test_without_strongly_typed_enums_a_member_is_its_backing_value() -> None:
    assert run("Weekday(Date(1990,1,1), 2)", features=PRE_V1_ENUMS) == "1"
    assert run("[ErrorKind.Div0, 12]", features=PRE_V1_ENUMS) == "Table({Value:13},{Value:12})"
    assert run("Color.Red", features=PRE_V1_ENUMS) == "RGBA(255,0,0,1)"


def test_members_resolve_at_compile_time_to_constants() -> None:
    result = parse_formula("StartOfWeek.Monday")
    assert result.formula is not None
    scope_with_a_lookalike = EvalContext(scope={"StartOfWeek": {"Monday": "not read"}})
    assert result.formula.evaluate(scope_with_a_lookalike) == OptionValue("StartOfWeek", "Monday", 2.0)


def test_members_with_one_value_are_equal_whatever_their_names() -> None:
    numerals = OptionSet("Numerals", "Number", {"V": 5, "Five": 5, "I": 1})
    sets = {"Numerals": numerals}
    assert run("Numerals.V = Numerals.Five", option_sets=sets) == "true"
    assert run("Numerals.V <> Numerals.I", option_sets=sets) == "true"
    assert "can't be compared" in refused("Numerals.V = 5", option_sets=sets)


def test_a_host_option_set_is_typed_like_a_builtin() -> None:
    yes_no = OptionSet("YesNo", "Boolean", {"Yes": True, "No": False}, coerce_to_backing=True, coerce_from_backing=True)
    sets = {"YesNo": yes_no}
    assert run("If(YesNo.Yes, 1, 2)", option_sets=sets) == "1"
    assert run("YesNo.No || true", option_sets=sets) == "true"
    assert run("Boolean(YesNo.Yes)", option_sets=sets) == "true"
    assert "Expected text or number" in refused("Value(YesNo.Yes)", option_sets=sets)
    with pytest.raises(ValueError, match="only text option sets concatenate"):
        OptionSet("Bad", "Number", {"A": 1}, concatenate=True)


def test_calculated_values_keep_their_set() -> None:
    result = parse_formula('Match.Digit & "-"')
    assert result.formula is not None
    value = result.formula.evaluate(EvalContext(scope={}))
    assert isinstance(value, OptionValue)
    assert (value.option_set, value.name, value.value) == ("Match", CALCULATED, "\\d-")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("RGBA(255.9, 1.5, 0, 0.003)", "RGBA(255,1,0,0.004)"),  # components truncate, alpha rounds to a byte
        ("ColorValue(\"#aabbccdd\")", "RGBA(170,187,204,0.867)"),
        ("ColorValue(\"darkgoldenrod\")", "RGBA(184,134,11,1)"),
        ("ColorValue(\"\")", "Blank()"),
        ("ColorValue(\"#abc\")", "Error({Kind:ErrorKind.InvalidArgument})"),
        ("RGBA(256, 0, 0, 1)", "Error({Kind:ErrorKind.InvalidArgument})"),
        ("ColorFade(RGBA(255,100,0,1), -0.5)", "RGBA(127,50,0,1)"),
        ("ColorFade(Color.Red, 10%)", "RGBA(255,25,25,1)"),
        ("ColorFade(Blank(), [50%, 25%])", "Table({Value:RGBA(127,127,127,0)},{Value:RGBA(63,63,63,0)})"),
        ("ColorFade(Color.Red, 1.1)", "Error({Kind:ErrorKind.InvalidArgument})"),
        ("Color.Red = RGBA(255,0,0,1)", "true"),
        ("If(false, RGBA(1,1,1,1), Color.Red)", "RGBA(255,0,0,1)"),
    ],
)
def test_colors(text: str, expected: str) -> None:
    assert run(text) == expected


def test_color_enum_holds_the_named_colors() -> None:
    colors = BUILTIN_OPTION_SETS["Color"].members
    assert len(colors) == 142 and colors["Transparent"] == Color(0, 0, 0, 0)
    assert colors["DimGrey"] == colors["DimGray"] == Color(105, 105, 105)


def test_an_option_set_of_names_binds_logical_and_display_names() -> None:
    choices = OptionSet("Size", "Text", {"cr_small": None, "cr_large": None},
                        display_names={"cr_small": "Small", "cr_large": "Large size"})
    sets = {"Size": choices}
    assert run("Size.Small", option_sets=sets) == "Size.cr_small"
    assert run("Size.'Large size' = Size.cr_large", option_sets=sets) == "true"
    assert run('"Chosen: " & Size.cr_large', option_sets=sets) == '"Chosen: Large size"'  # text is the display name
    assert run("JSON(Size.Small)", option_sets=sets) == '"""cr_small"""'  # JSON the logical name
    assert "can't be compared" in refused('Size.Small = "Small"', option_sets=sets)


def test_a_host_option_set_stays_typed_under_pre_v1_rules_but_gives_its_value() -> None:
    ramp = OptionSet("Ramp", "Color", {"Red": 0xFFFF0000, "Pink": 0xFFFFBFBF})
    other = OptionSet("Other", "Color", {"Red": 0xFFFF0000})
    sets = {"Ramp": ramp, "Other": other}
    assert "Expecting a Color value" in refused("ColorFade(Ramp.Pink, 10%)", option_sets=sets)
    assert run("ColorFade(Ramp.Pink, 10%)", option_sets=sets, features=PRE_V1_ENUMS) == "RGBA(255,197,197,1)"
    assert "can't be compared" in refused("Ramp.Red = Other.Red", option_sets=sets, features=PRE_V1_ENUMS)


def test_a_boolean_set_made_from_a_boolean_is_its_member() -> None:
    yes_no = OptionSet("YesNo", "Boolean", {"Yes": True, "No": False}, coerce_from_backing=True)
    assert run("If(false, YesNo.Yes, false)", option_sets={"YesNo": yes_no}) == "YesNo.No"


def test_colors_in_json_and_from_untyped_text() -> None:
    assert run("JSON(RGBA(10, 30, 50, 0.75))") == '"""#0a1e32bf"""'
    assert run("JSON(Color.Turquoise)") == '"""#40e0d0ff"""'
    assert run('If(false, ColorValue("#aabbcc"), ParseJSON("""#aabbcc"""))') == "RGBA(170,187,204,1)"
    assert "Expecting one of the following" in refused("Color.Red + 3")
    assert "Expected text or number" in refused("Value(RGBA(1,1,1,1))")
    assert "Incompatible type" in refused("[ErrorKind.Div0, 12]")



def test_an_option_or_color_has_no_fields_and_untyped_colors_are_hex() -> None:
    assert "has no field 'Value'" in refused("Color.Red.Value")
    assert "has no field 'x'" in refused("StartOfWeek.Monday.x")
    assert run('ColorValue(ParseJSON("""#ff000080"""))') == "RGBA(255,0,0,0.502)"
    assert run('ColorValue(ParseJSON("""Red"""))') == "Error({Kind:ErrorKind.InvalidArgument})"
