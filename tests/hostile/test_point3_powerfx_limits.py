"""Point 3 of issue 16: Power Fx text and table limits hold, and are checked BEFORE the text is built.

`Replace` returned 2,000,000 characters and `EncodeUrl` 6,000,000 despite the documented 1M
limit; `Substitute` refused only after building a 200M-character string (250 MB at its peak).
One test per function that can grow text or tables: the over-limit result is an InvalidArgument
error value, and (where the old code built the text first) the evaluation's peak allocation stays
a small multiple of the limit.
"""

from __future__ import annotations

import datetime as dt
import tracemalloc

import pytest

from postcall.powerfx import ErrorKind, ErrorValue, EvalContext, Limits, Table, parse_formula

NOW = dt.datetime(2024, 5, 6, tzinfo=dt.UTC)
LIMIT = 1_000_000  # the documented limit (docs/powerfx.md)


def evaluate(source: str, limits: Limits | None = None) -> object:
    formula = parse_formula(source).formula
    assert formula is not None, source
    return formula.evaluate(EvalContext(scope={}, now=lambda: NOW, limits=limits or Limits()))


def refused(source: str, *, peak_mb: float | None = None, limits: Limits | None = None) -> ErrorValue:
    tracemalloc.start()
    try:
        value = evaluate(source, limits)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(value, ErrorValue) and value.kind is ErrorKind.InvalidArgument, (source, value)
    if peak_mb is not None:
        assert peak / 1e6 < peak_mb, f"{source}: peak {peak / 1e6:.1f} MB"
    return value


def test_point3_replace_stays_within_the_limit() -> None:
    refused('Replace(Rept("a", 1000000), 1, 0, Rept("b", 1000000))', peak_mb=12)
    assert len(str(evaluate('Replace(Rept("a", 999999), 1, 0, "b")'))) == LIMIT


def test_point3_encodeurl_stays_within_the_limit() -> None:
    refused('EncodeUrl(Rept(" ", 400000))', peak_mb=12)  # 1.2M characters once encoded
    assert evaluate('EncodeUrl("a b/é")') == "a%20b%2F%C3%A9"


def test_point3_substitute_refuses_before_building() -> None:
    refused('Substitute(Rept("a", 1000000), "a", Rept("b", 200))', peak_mb=12)  # was 250 MB
    refused('Substitute(Rept("ab", 500000), "b", "xy", 1)', peak_mb=12)
    assert evaluate('Substitute("banana", "a", "o")') == "bonono"


def test_point3_rept_refuses_before_building() -> None:
    refused('Rept("abc", 400000)', peak_mb=3)


def test_point3_concatenate_refuses_before_joining() -> None:
    refused('Concatenate(Rept("a", 600000), Rept("b", 600000))', peak_mb=8)


def test_point3_concat_refuses_while_reading_rows() -> None:
    refused('Concat(Sequence(2000), Rept("x", 1000))', peak_mb=8)


def test_point3_ampersand_refuses_before_joining() -> None:
    refused('Rept("a", 600000) & Rept("b", 600000)', peak_mb=8)


def test_point3_encodehtml_stops_at_the_limit() -> None:
    refused('EncodeHTML(Rept("<", 300000))', peak_mb=30)  # 1.2M characters once encoded


def test_point3_upper_and_lower_never_grow_text() -> None:
    # One character to one, as .NET's TextInfo: 600,000 "ß" stay 600,000 characters (Python's
    # full mapping would make 1.2M "SS"), so neither can push text past the limit.
    assert str(evaluate('Upper(Rept("ß", 600000))')) == "ß" * 600000
    assert len(str(evaluate('Lower(Rept("İ", 600000))'))) == 600000
    refused('Upper(Rept("ab", 500000) & "c")')  # over the limit before Upper runs


def test_point3_forall_holds_at_most_ten_limits_of_text() -> None:
    refused("ForAll(Sequence(1000), Rept(\"a\", 999999))", peak_mb=40)  # was 1 GB


def test_point3_row_mapped_functions_hold_at_most_ten_limits_of_text() -> None:
    refused('Rept("a", Sequence(1000, 999999, 0))', peak_mb=40)


def test_point3_sequence_and_split_refuse_before_building_rows() -> None:
    refused("Sequence(200000)", peak_mb=2)
    refused('Split(Rept("a,", 150000), ",")', peak_mb=5)
    assert isinstance(evaluate('Split("a,b,c", ",")'), Table)


def test_point3_json_refuses_while_writing() -> None:
    refused('JSON(ForAll(Sequence(5), Rept("a", 300000)))', peak_mb=25)
    assert evaluate('JSON(["a", "b"])') == '[{"Value":"a"},{"Value":"b"}]'


@pytest.mark.parametrize("source", [
    'Lower(Rept("\u0130", 600000))',  # each İ lower-cases to two characters
    'Proper(Rept("\u00df ", 500000))',  # ß -> SS
    'PlainText(Rept("x<p>", 250000))',  # <p> -> two line breaks
])
def test_point3_functions_that_grow_text_by_a_factor_keep_the_limit(source: str) -> None:
    refused(source.encode().decode("unicode_escape"), peak_mb=30)
