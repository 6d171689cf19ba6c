"""Text beyond U+FFFF as Power Fx's UTF-16 strings show it: Len, JSON, regex categories."""

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
