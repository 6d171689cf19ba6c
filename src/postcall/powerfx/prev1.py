"""Power Fx before V1: the rules of hosts that run without PowerFxV1CompatibilityRules.

Copilot Studio runs Power Fx V1 (features.POWER_FX_V1) and topics never reach this module;
Microsoft's conformance files for older hosts (Canvas apps, `#SETUP:
disable:PowerFxV1CompatibilityRules`) do.  The compiler asks it, while compiling and only when
`Features.power_fx_v1_compatibility_rules` is off, for what differs from V1 (Text.cs, MinMax.cs,
Match.cs, Value.cs, BinderUtils.cs at commit 940f3f3c):

* comparing kinds V1 refuses (a number with text) compiles and is simply unequal;
* `Text` refuses at compile time only a literal format mixing digit and date placeholders;
* `Min`/`Max` of mixed kinds compute as numbers, Dates mixed with DateTimes as DateTimes;
* results of different record types keep only their common fields (static._agree);
* regular expressions are .NET's: only what .NET refuses is a compile error, options may be
  computed, `SubMatches` is always a field;
* `Decimal()` does not exist; an untyped `Blank()` is an empty table for the aggregates.

Each rule is decided here once, when compiling; the closures it returns are what runs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from postcall.diagnostics import SourceSpan
from postcall.powerfx import ast
from postcall.powerfx import types as T
from postcall.powerfx.functions import Fn
from postcall.powerfx.regexdialect import (
    DOT_ALL,
    FREE_SPACING,
    PatternError,
    check_pattern,
    legacy_pattern_info,
)
from postcall.powerfx.runtime import Frame
from postcall.powerfx.static import REGEX_FUNCTIONS, constant_text
from postcall.powerfx.types import FxType
from postcall.powerfx.values import ErrorKind, ErrorValue, OptionValue, Record, Table, Value

DECIMAL_NEEDS_V1 = "The 'Decimal' function can only be used if the 'Power Fx 1.0 compatibility' feature is enabled."

# Aggregates that read an untyped Blank() first argument as an empty table (the result is Blank).
BLANK_AS_TABLE = frozenset({"Sum", "Average", "Min", "Max", "StdevP", "VarP", "Distinct"})

_TIMES = frozenset({"Date", "DateTime", "Time"})


def call_types(
    name: str, args: list[FxType], result: FxType, coercions: dict[int, str], problems: list[tuple[int, str]]
) -> FxType:
    """Adjust a call's V1 checks (result type, coercions, problems: updated in place) to the
    rules before V1; returns the result type."""
    if name == "Decimal" and args:
        problems.append((0, DECIMAL_NEEDS_V1))  # Value.cs: Decimal numbers came with V1
    if name in ("Min", "Max"):
        legacy = _min_max(args)
        if legacy is not None:
            coercions.clear()
            coercions.update(legacy[1])
            return legacy[0]
    return result


def _min_max(args: list[FxType]) -> tuple[FxType, dict[int, str]] | None:
    """MinMax.cs: Dates mixed with DateTimes become DateTimes; any other mix of kinds (or no
    date kind at all) is computed as numbers."""
    kinds = [a.kind for a in args]
    if not kinds or any(k in ("Unknown", "Table", "Record", "Dynamic") for k in kinds):
        return None
    if all(k in ("Date", "DateTime") for k in kinds) and not all(k == "Date" for k in kinds):
        return T.DATETIME, {i: "DateTime" for i, k in enumerate(kinds) if k == "Date"}
    if any(k != kinds[0] for k in kinds) or not any(k in _TIMES for k in kinds):
        return T.NUMBER, {i: "Number" for i, k in enumerate(kinds) if k not in ("Number", "Blank", "Error")}
    return None


def literal_arg_problems(name: str, args: Sequence[ast.Node]) -> list[tuple[int, str]]:
    """Text.cs (TextFormatUtils.IsLegacyValidCompiledTimeFormatArg): only a literal format that
    mixes digit and date placeholders is refused; anything else fails when it runs."""
    if name != "Text" or len(args) < 2:
        return []
    code = constant_text(args[1])
    if code is not None and not legacy_format_ok(code):
        return [(1, "Incorrect format specifier for 'Text'.")]
    return []


_SUBSECONDS = re.compile(r"[sS]\.?(0+)")


def legacy_format_ok(code: str) -> bool:
    """A literal format before V1: refused only when it mixes digit placeholders with date and
    time letters (after a `[$-xx]` prefix; `s.000` fractions excepted)."""
    if code.startswith("[$-"):
        end = code.find("]", 3)
        if end > 0:
            code = code[end + 1:]
    if not any(c in code for c in "mdyhHsaApP"):
        return True
    return not any(c in "0#" for c in _SUBSECONDS.sub("", code))


def regex_call(
    name: str, args: Sequence[ast.Node], types: Sequence[FxType]
) -> tuple[FxType | None, list[tuple[int, str]]]:
    """Match.cs without the V1 rules: options may be computed (but not DotAll or FreeSpacing,
    which came with V1), IsMatch's pattern need only be free of variables, and the pattern is
    .NET's, unchecked by Power Fx's dialect; Match's record always has SubMatches."""
    if name not in REGEX_FUNCTIONS or len(args) < 2:
        return None, []
    if len(args) > 2:
        given = constant_text(args[2])
        if given is not None and (DOT_ALL in given or FREE_SPACING in given):
            return None, [(2, "Invalid regular expression: MatchOptions.DotAll and MatchOptions.FreeSpacing are only available with Power Fx V1.")]
    pattern = constant_text(args[1])
    pattern_kind = types[1].kind if len(types) > 1 else "Unknown"
    if pattern_kind not in ("Text", "Option", "Unknown") or (isinstance(args[1], ast.Call) and args[1].name == "Blank"):
        return None, [(1, "Regular expression must be a constant value.")]
    if name == "IsMatch":
        if pattern is None and not _free_of_variables(args[1]):
            return None, [(1, "Regular expressions must be constant values.")]
        problem = None if pattern is None else _pattern_problem(pattern)
        return (T.BOOLEAN, []) if problem is None else (None, [(1, problem)])
    if pattern is None:
        return None, [(1, "Regular expressions must be constant values.")]
    problem = _pattern_problem(pattern)
    if problem is not None:
        return None, [(1, problem)]
    info = legacy_pattern_info(pattern, "")
    fields: dict[str, FxType] = {"FullMatch": T.TEXT, "StartMatch": T.NUMBER, "SubMatches": T.single_column(T.TEXT)}
    for capture in info.names:
        fields[capture] = T.TEXT
    return (T.record(fields) if name == "Match" else T.table(fields)), []


# Messages of dialect rules that .NET's own Regex does not have.
_V1_ONLY_PATTERN_RULES = ("escaped in a character class",)


def _pattern_problem(pattern: str) -> str | None:
    """Only what .NET's Regex refuses is a compile error.  Power Fx's dialect refuses more; of
    its rules, unescaped characters in a class are the one .NET does not have, so a pattern
    failing only that is accepted."""
    try:
        try:
            check_pattern(pattern, "cN")  # every group captures, as in .NET
        except PatternError as exc:
            if "Named captures" not in str(exc):
                raise
            check_pattern(pattern, "c")  # named ones then do (.NET numbers both kinds)
    except PatternError as exc:
        if not any(rule in str(exc) for rule in _V1_ONLY_PATTERN_RULES):
            return f"Invalid regular expression: {exc}"
    return None


def _free_of_variables(node: ast.Node) -> bool:
    """The binder's IsConstant: no name but the built-in Match and MatchOptions sets."""
    return all(not isinstance(n, ast.Name) or n.name in ("Match", "MatchOptions") for n in ast.walk(node))


# --- closures the compiler uses instead of V1's ----------------------------------------------


def never_equal(left: Fn, right: Fn, result: bool) -> Fn:
    """`=` (False) or `<>` (True) between kinds that cannot be compared: errors still win."""

    def differ(frame: Frame) -> Value:
        for value in (left(frame), right(frame)):
            if type(value) is ErrorValue:
                return value
        return result

    return differ


def project(fn: Fn, names: frozenset[str]) -> Fn:
    """Keep only the fields `names` of a record (or of each row): results of different record
    types agree on their common fields."""

    def keep(record: Value) -> Value:
        if type(record) is Record and not names.issuperset(record._fields):
            return Record({k: v for k, v in record._fields.items() if k in names})
        return record

    def projected(frame: Frame) -> Value:
        value = fn(frame)
        if type(value) is Table:
            return Table([keep(row) for row in value.rows], [c for c in (value.columns or ()) if c in names])
        return keep(value)

    return projected


def fixed_regex_options(fn: Fn, span: SourceSpan) -> Fn:
    """Computed MatchOptions of Match/MatchAll: their record type came from the default options,
    so a computed value asking for anything but Contains (IgnoreCase, Complete, Multiline...) is
    an InvalidArgument error when it runs (as in the C# interpreter; IsMatch takes any)."""

    def options(frame: Frame) -> Value:
        value = fn(frame)
        text = value.value if isinstance(value, OptionValue) else value
        if isinstance(text, str) and any(ch in "^$imsxN" for ch in text):
            return ErrorValue(ErrorKind.InvalidArgument, "MatchOptions computed when the formula runs must be Contains.", span)
        return value

    return options
