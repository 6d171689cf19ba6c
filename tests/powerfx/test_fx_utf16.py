"""Unicode as Power Fx's .NET strings see it: UTF-16 lengths, JSON escapes, regex categories and case."""

from __future__ import annotations

from postcall.powerfx import EvalContext, format_value, parse_formula


def run(text: str) -> str:
    result = parse_formula(text)
    assert result.formula is not None, [d.message for d in result.diagnostics]
    return format_value(result.formula.evaluate(EvalContext(scope={})))


def test_text_beyond_the_basic_plane_counts_as_power_fx_utf16() -> None:
    assert run('Len("😀a")') == "3"
    assert run('JSON("a👻")') == '"""a\\uD83D\\uDC7B"""'
    assert run('Match("👻", "\\p{So}")') == "Blank()"  # two surrogates are in no symbol category
    assert run('Match("x☺", "\\p{So}").FullMatch') == '"☺"'


def test_ignore_case_compares_lowercase_forms_as_dotnet_does() -> None:
    assert run('Match("xSs", "s+", MatchOptions.IgnoreCase).FullMatch') == '"Ss"'
    assert run('IsMatch("K", "[a-z]", MatchOptions.IgnoreCase)') == "true"  # Kelvin sign lowercases to k
    assert run('IsMatch("ſ", "s", MatchOptions.IgnoreCase)') == "false"  # long s folds to s, lowercases to itself
    assert run('IsMatch("ſ", "[a-z]", MatchOptions.IgnoreCase)') == "false"
    assert run('IsMatch("ς", "σ", MatchOptions.IgnoreCase)') == "false"
    assert run('IsMatch("Σ", "σ", MatchOptions.IgnoreCase)') == "true"
    assert run('IsMatch("ſ", "ſ", MatchOptions.IgnoreCase)') == "true"


def test_upper_and_lower_map_one_character_to_one_as_dotnet_does() -> None:
    assert run('Upper("straße")') == '"STRAßE"'  # Python's full mapping would give STRASSE
    assert run('Len(Upper("ﬁx"))') == "2"
    assert run('Lower("İSTANBUL")') == '"istanbul"'  # the simple mapping of U+0130, not i + dot
    assert run('Upper("àb")') == '"ÀB"' and run('Lower("ÀB")') == '"àb"'
