"""Static signatures of the built-in functions: parameter kinds, result types, row-scope arguments.

Parameter kinds: a scalar kind ("Number", "Text", "Boolean", "DateTime" — accepts dates and
times too, "Date", "Time"), "Color", "Table", "Record", "Predicate" (a condition evaluated per
row), "Any", "Enum:<option set>" (a value of that built-in option set, or what the set accepts
in its place), "Format" (Text's format: text or a DateTimeFormat member).  A function marked tabular also accepts a one-column table wherever a scalar is expected
and then returns a one-column table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from postcall.powerfx import types as T
from postcall.powerfx.types import FxType

ResultRule = Callable[[list[FxType]], FxType]


@dataclass(frozen=True)
class Signature:
    params: tuple[str, ...] = ()
    repeat: str | None = None
    result: FxType | ResultRule = T.UNKNOWN
    tabular: bool = False
    # Which arguments are evaluated in the row scope of argument 0 ("rest" = all after the first).
    scoped: frozenset[int] | str = frozenset()
    # Arguments whose types must agree with the first result (If, Switch, Coalesce, IfError).
    results: Callable[[int], list[int]] | None = None

    def param(self, index: int) -> str:
        if index < len(self.params):
            return self.params[index]
        return self.repeat or "Any"

    def is_scoped(self, index: int) -> bool:
        if self.scoped == "rest":
            return index >= 1
        assert isinstance(self.scoped, frozenset)
        return index in self.scoped

    def result_type(self, args: list[FxType]) -> FxType:
        if isinstance(self.result, FxType):
            if self.tabular and any(a.kind == "Table" for a in args):
                return T.single_column(self.result)
            return self.result
        return self.result(args)


def _first(args: list[FxType]) -> FxType:
    return T.row_type(args[0]) if args else T.UNKNOWN


def _same_table(args: list[FxType]) -> FxType:
    if not args:
        return T.UNKNOWN
    if args[0].kind == "Dynamic":
        return T.single_column(T.DYNAMIC)
    return args[0] if args[0].kind == "Table" else T.UNKNOWN


def _for_all(args: list[FxType]) -> FxType:
    body = args[1] if len(args) > 1 else T.UNKNOWN
    if body.kind == "Record":
        return T.FxType("Table", body.fields)
    if body.kind in ("Unknown", "Void"):
        return T.UNKNOWN
    return T.single_column(body)


def _lookup(args: list[FxType]) -> FxType:
    if len(args) > 2:
        return args[2]
    return T.row_type(args[0]) if args else T.UNKNOWN


def _with(args: list[FxType]) -> FxType:
    return args[1] if len(args) > 1 else T.UNKNOWN


def _table(args: list[FxType]) -> FxType:
    merged = T.table({})
    for a in args:
        if a.kind in ("Record", "Table"):
            merged = T.union(merged, FxType("Table", a.fields))
        elif a.kind == "Dynamic":
            merged = T.union(merged, T.single_column(T.DYNAMIC))
        elif a.kind == "Unknown":
            return T.UNKNOWN
    return merged


def _if_results(n: int) -> list[int]:
    out = list(range(1, n, 2))
    if n % 2 == 1 and n > 2:
        out.append(n - 1)
    return out


def _switch_results(n: int) -> list[int]:
    out = list(range(2, n, 2))
    if (n - 1) % 2 == 1:
        out.append(n - 1)
    return out


def _all_results(n: int) -> list[int]:
    return list(range(n))


def _iferror_results(n: int) -> list[int]:
    # IfError(value, fallback): the fallback takes the value's type; with more arguments the
    # fallbacks and the default agree among themselves.
    return [0, 1] if n == 2 else _if_results(n)


def _result_of_first(args: list[FxType]) -> FxType:
    return T.UNKNOWN


S = Signature
NUM = T.NUMBER
TEXT = T.TEXT
BOOL = T.BOOLEAN

SIGNATURES: dict[str, Signature] = {
    # logical and errors
    "If": S(("Predicate",), "Any", _result_of_first, results=_if_results),
    "Switch": S((), "Any", _result_of_first, results=_switch_results),
    "Coalesce": S((), "Any", _result_of_first, results=_all_results),
    "IfError": S((), "Any", _result_of_first, results=_iferror_results),
    "And": S((), "Boolean", BOOL),
    "Or": S((), "Boolean", BOOL),
    "Not": S(("Boolean",), None, BOOL),
    "IsBlank": S(("Any",), None, BOOL),
    "IsBlankOrError": S(("Any",), None, BOOL),
    "IsError": S(("Any",), None, BOOL),
    "IsEmpty": S(("Table",), None, BOOL),
    "Error": S(("Any",), None, T.ERROR),
    "Blank": S((), None, T.BLANK),
    "With": S(("Record", "Any"), None, _with, scoped=frozenset({1})),
    "Boolean": S(("Any",), None, BOOL, tabular=True),
    # text
    "Concatenate": S(("Text",), "Text", TEXT, tabular=True),
    "Len": S(("Text",), None, NUM, tabular=True),
    "Left": S(("Text", "Number"), None, TEXT, tabular=True),
    "Right": S(("Text", "Number"), None, TEXT, tabular=True),
    "Mid": S(("Text", "Number", "Number"), None, TEXT, tabular=True),
    "Lower": S(("Text",), None, TEXT, tabular=True),
    "Upper": S(("Text",), None, TEXT, tabular=True),
    "Proper": S(("Text",), None, TEXT, tabular=True),
    "Trim": S(("Text",), None, TEXT, tabular=True),
    "TrimEnds": S(("Text",), None, TEXT, tabular=True),
    "Find": S(("Text", "Text", "Number"), None, NUM, tabular=True),
    "StartsWith": S(("Text", "Text"), None, BOOL),
    "EndsWith": S(("Text", "Text"), None, BOOL),
    "Substitute": S(("Text", "Text", "Text", "Number"), None, TEXT, tabular=True),
    "Replace": S(("Text", "Number", "Number", "Text"), None, TEXT, tabular=True),
    "Split": S(("Text", "Text"), None, T.single_column(TEXT)),
    "Char": S(("Number",), None, TEXT, tabular=True),
    "UniChar": S(("Number",), None, TEXT, tabular=True),
    "Rept": S(("Text", "Number"), None, TEXT, tabular=True),
    "EncodeUrl": S(("Text",), None, TEXT),
    "EncodeHTML": S(("Text",), None, TEXT),
    "PlainText": S(("Text",), None, TEXT),
    "GUID": S(("Text",), None, TEXT),
    "Rand": S((), None, NUM),
    "Language": S((), None, TEXT),
    "RandBetween": S(("Number", "Number"), None, NUM),
    "IsMatch": S(("Text", "Enum:Match", "Enum:MatchOptions"), None, BOOL),
    "Match": S(("Text", "Enum:Match", "Enum:MatchOptions"), None, T.UNKNOWN),
    "MatchAll": S(("Text", "Enum:Match", "Enum:MatchOptions"), None, T.UNKNOWN),
    "Hex2Dec": S(("Text",), None, NUM, tabular=True),
    "Dec2Hex": S(("Number", "Number"), None, TEXT, tabular=True),
    "Text": S(("Any", "Format", "Text"), None, TEXT, tabular=True),
    "Value": S(("Any", "Text"), None, NUM, tabular=True),
    "Decimal": S(("Any", "Text"), None, NUM, tabular=True),
    "Float": S(("Any", "Text"), None, NUM, tabular=True),
    "IsNumeric": S(("Any",), None, BOOL),
    "JSON": S(("Any", "Enum:JSONFormat"), None, TEXT),
    "ParseJSON": S(("Text", "Any"), None, T.DYNAMIC),
    "AsType": S(("Any", "Any"), None, T.DYNAMIC),
    "IsType": S(("Any", "Any"), None, BOOL),
    # math
    "Abs": S(("Number",), None, NUM, tabular=True),
    "Sqrt": S(("Number",), None, NUM, tabular=True),
    "Ln": S(("Number",), None, NUM, tabular=True),
    "Exp": S(("Number",), None, NUM, tabular=True),
    "Int": S(("Number",), None, NUM, tabular=True),
    "Sign": S(("Number",), None, NUM, tabular=True),
    "Round": S(("Number", "Number"), None, NUM, tabular=True),
    "RoundUp": S(("Number", "Number"), None, NUM, tabular=True),
    "RoundDown": S(("Number", "Number"), None, NUM, tabular=True),
    "Trunc": S(("Number", "Number"), None, NUM, tabular=True),
    "Mod": S(("Number", "Number"), None, NUM, tabular=True),
    "Power": S(("Number", "Number"), None, NUM, tabular=True),
    "Log": S(("Number", "Number"), None, NUM, tabular=True),
    "Pi": S((), None, NUM),
    **{name: S(("Number",), None, NUM, tabular=True) for name in (
        "Sin", "Cos", "Tan", "Cot", "Asin", "Acos", "Atan", "Acot", "Degrees", "Radians")},
    "Atan2": S(("Number", "Number"), None, NUM, tabular=True),
    "VarP": S(("Any",), "Any", NUM, scoped=frozenset({1})),
    "StdevP": S(("Any",), "Any", NUM, scoped=frozenset({1})),
    "Sum": S(("Any",), "Any", NUM, scoped=frozenset({1})),
    "Min": S(("Any",), "Any", NUM, scoped=frozenset({1})),
    "Max": S(("Any",), "Any", NUM, scoped=frozenset({1})),
    "Average": S(("Any",), "Any", NUM, scoped=frozenset({1})),
    # dates
    "Now": S((), None, T.DATETIME),
    "Today": S((), None, T.DATE),
    "UTCNow": S((), None, T.DATETIME),
    "UTCToday": S((), None, T.DATE),
    "IsToday": S(("DateTime",), None, BOOL),
    "TimeZoneOffset": S(("DateTime",), None, NUM),
    "Date": S(("Number", "Number", "Number"), None, T.DATE),
    "DateTime": S(("Number",) * 7, None, T.DATETIME),
    "Time": S(("Number",) * 4, None, T.TIME),
    "DateValue": S(("Any", "Text"), None, T.DATE, tabular=True),
    "DateTimeValue": S(("Any", "Text"), None, T.DATETIME, tabular=True),
    "TimeValue": S(("Any", "Text"), None, T.TIME, tabular=True),
    "Year": S(("DateTime",), None, NUM, tabular=True),
    "Month": S(("DateTime",), None, NUM, tabular=True),
    "Day": S(("DateTime",), None, NUM, tabular=True),
    "Hour": S(("DateTime",), None, NUM, tabular=True),
    "Minute": S(("DateTime",), None, NUM, tabular=True),
    "Second": S(("DateTime",), None, NUM, tabular=True),
    "Weekday": S(("DateTime", "Enum:StartOfWeek"), None, NUM),
    "WeekNum": S(("DateTime", "Enum:StartOfWeek"), None, NUM),
    "ISOWeekNum": S(("DateTime",), None, NUM),
    "DateAdd": S(("DateTime", "Number", "Enum:TimeUnit"), None, lambda a: a[0] if a and a[0].kind in ("Date", "DateTime", "Time") else T.DATETIME, tabular=False),
    "DateDiff": S(("DateTime", "DateTime", "Enum:TimeUnit"), None, NUM),
    "EDate": S(("DateTime", "Number"), None, T.DATE),
    "EOMonth": S(("DateTime", "Number"), None, T.DATE),
    # colors
    "RGBA": S(("Number", "Number", "Number", "Number"), None, T.COLOR),
    "ColorValue": S(("Text",), None, T.COLOR),
    "ColorFade": S(("Color", "Number"), None, T.COLOR, tabular=True),
    # tables
    "Table": S((), "Any", _table),
    "First": S(("Table",), None, _first),
    "Last": S(("Table",), None, _first),
    "FirstN": S(("Table", "Number"), None, _same_table),
    "LastN": S(("Table", "Number"), None, _same_table),
    "Index": S(("Table", "Number"), None, _first),
    "CountRows": S(("Table",), None, NUM),
    "Count": S(("Table",), None, NUM),
    "CountA": S(("Table",), None, NUM),
    "CountIf": S(("Table",), "Predicate", NUM, scoped="rest"),
    "Filter": S(("Table",), "Predicate", _same_table, scoped="rest"),
    "LookUp": S(("Table", "Predicate", "Any"), None, _lookup, scoped="rest"),
    "ForAll": S(("Table", "Any"), None, _for_all, scoped=frozenset({1})),
    "Sequence": S(("Number", "Number", "Number"), None, T.single_column(NUM)),
    "Concat": S(("Table", "Any", "Text"), None, TEXT, scoped=frozenset({1})),
    "Shuffle": S(("Table",), None, _same_table),
    "Sort": S(("Table", "Any", "Enum:SortOrder"), None, _same_table, scoped=frozenset({1})),
    "SortByColumns": S(("Table",), "Any", _same_table),
    "Distinct": S(("Table", "Any"), None, lambda a: T.single_column(a[1]) if len(a) > 1 and a[1].is_scalar else T.UNKNOWN, scoped=frozenset({1})),
    "ShowColumns": S(("Any",), "Any", T.UNKNOWN),
    "DropColumns": S(("Any",), "Any", T.UNKNOWN),
    "RenameColumns": S(("Any",), "Any", T.UNKNOWN),
    "Search": S(("Table", "Text"), "Any", _same_table),
    "ColumnNames": S(("Any",), None, T.single_column(TEXT)),
    "Column": S(("Any", "Text"), None, T.DYNAMIC),
    "AddColumns": S(("Any",), "Any", T.UNKNOWN, scoped="rest"),
    "Summarize": S(("Table",), "Any", T.UNKNOWN, scoped="rest"),
    "Join": S(("Table", "Table"), "Any", T.UNKNOWN, scoped=frozenset(range(2, 256))),
}


def signature(name: str) -> Signature:
    return SIGNATURES.get(name, Signature(repeat="Any"))
