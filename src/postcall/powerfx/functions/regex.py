"""IsMatch, Match and MatchAll with Power Fx's regular expression dialect, run on the `regex` package (docs/powerfx.md).

Patterns and texts may come from callers, so matching is bounded: `regex` searches with a
timeout (Limits.regex_timeout_seconds; a pattern such as `(a+)+$` backtracks exponentially), and
the text and the pattern have length limits.  Going over a bound is an error value, never a hang.
"""

from __future__ import annotations

import math

import regex  # type: ignore[import-untyped]  # no stubs in the declared dependencies

from postcall.powerfx.coerce import to_number, to_text
from postcall.powerfx.functions.registry import CallSite, eager
from postcall.powerfx.functions.text import tabular
from postcall.powerfx.regexdialect import (
    CONTAINS,
    IGNORE_CASE,
    NUMBERED,
    PatternError,
    PatternInfo,
    check_pattern,
    legacy_pattern_info,
    translate,
    utf16_index,
)
from postcall.powerfx.runtime import Frame
from postcall.powerfx.values import ErrorKind, ErrorValue, OptionValue, Record, Table, Value

_CACHE: dict[tuple[str, str], tuple[regex.Pattern[str], PatternInfo] | str] = {}
_NOT_CONSTANT_OPTIONS = "MatchOptions must be a constant value."


def compile_pattern(pattern: str, options: str, legacy: bool = False) -> tuple[regex.Pattern[str], PatternInfo] | str:
    """The compiled pattern (`regex` package) and what it captures, or why Power Fx refuses it.
    `legacy`: as before the V1 rules (not checked against the dialect, every group captures)."""
    key = (pattern, options + ("\x00" if legacy else ""))
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    compiled: tuple[regex.Pattern[str], PatternInfo] | str
    try:
        if legacy:
            info = legacy_pattern_info(pattern, options)
            options += NUMBERED
        else:
            info = check_pattern(pattern, options)
        body, effective = translate(pattern, options)
        flags = regex.VERSION0 | (regex.IGNORECASE if IGNORE_CASE in effective else 0)
        compiled = (regex.compile(body, flags), info)
    except PatternError as exc:
        compiled = f"invalid regular expression: {exc}"
    except (regex.error, OverflowError, RecursionError, ValueError) as exc:
        compiled = f"invalid regular expression: {exc}"
    if len(_CACHE) < 512:
        _CACHE[key] = compiled
    return compiled


def _option_text(value: Value) -> str | ErrorValue:
    raw = value.value if isinstance(value, OptionValue) else value
    return to_text(raw)  # type: ignore[arg-type]


def _prepare(
    frame: Frame, site: CallSite, args: list[Value], default: str
) -> tuple[str, regex.Pattern[str], PatternInfo] | ErrorValue:
    """(text, compiled pattern, captures) for IsMatch/Match/MatchAll, or the error to return."""
    for arg in args:
        if isinstance(arg, ErrorValue):
            return arg
    text = "" if args[0] is None else to_text(args[0])
    if isinstance(text, ErrorValue):
        return text
    pattern = _option_text(args[1]) if args[1] is not None else ""
    if isinstance(pattern, ErrorValue):
        return pattern
    options = default
    legacy = not site.features.v1
    if legacy and len(args) > 2 and args[2] is None:
        return site.invalid("the match options are blank.")
    if len(args) > 2 and args[2] is not None:
        given = _option_text(args[2])
        if isinstance(given, ErrorValue):
            return given
        options = given if CONTAINS in given else given + default
    limits = frame.ctx.limits
    if len(pattern) > limits.max_regex_pattern_length:
        return site.error(
            ErrorKind.BadRegex,
            f"{site.name}: the pattern is {len(pattern)} characters long (limit {limits.max_regex_pattern_length}).",
        )
    if len(text) > limits.max_regex_text_length:
        return site.error(
            ErrorKind.InvalidArgument,
            f"{site.name}: the text is {len(text)} characters long (limit {limits.max_regex_text_length}).",
        )
    compiled = compile_pattern(pattern, options, legacy)
    if isinstance(compiled, str):
        return site.error(ErrorKind.BadRegex, f"{site.name}: {compiled}")
    return text, compiled[0], compiled[1]


def _timeout(site: CallSite, frame: Frame) -> ErrorValue:
    seconds = frame.ctx.limits.regex_timeout_seconds
    return site.error(
        ErrorKind.Timeout,
        f"{site.name}: matching the pattern took longer than {seconds} s (it backtracks too much on this text).",
    )


def _record(text: str, match: regex.Match[str], info: PatternInfo) -> Record:
    fields: dict[str, Value] = {
        "FullMatch": match.group(0),
        "StartMatch": float(utf16_index(text, match.start()) + 1),
    }
    if info.numbered:
        # Before V1 SubMatches is in the type but the C# interpreter leaves it Blank unless
        # NumberedSubMatches was given (Match.cs adds the option for the type only).
        fields["SubMatches"] = None if info.blank_submatches else Table.of_values(match.groups())
    for name in info.names:
        fields[name] = match.group(name)
    return Record(fields)


@eager("IsMatch", 2, 3)
def _is_match(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """IsMatch(text, pattern, [MatchOptions]): the pattern occurs in the text, as the C# interpreter
    that Copilot Studio runs has it (MatchOptions.Complete: all of it)."""
    prepared = _prepare(frame, site, args, "c")
    if isinstance(prepared, ErrorValue):
        return prepared
    text, compiled, _info = prepared
    try:
        return compiled.search(text, timeout=frame.ctx.limits.regex_timeout_seconds) is not None
    except TimeoutError:
        return _timeout(site, frame)


@eager("Match", 2, 3)
def _match(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Match(text, pattern, [MatchOptions]): the first match as a record, Blank when none."""
    prepared = _prepare(frame, site, args, "c")
    if isinstance(prepared, ErrorValue):
        return prepared
    text, compiled, info = prepared
    try:
        found = compiled.search(text, timeout=frame.ctx.limits.regex_timeout_seconds)
    except TimeoutError:
        return _timeout(site, frame)
    return None if found is None else _record(text, found, info)


@eager("MatchAll", 2, 3)
def _match_all(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """MatchAll(text, pattern, [MatchOptions]): every match, as a table of records."""
    prepared = _prepare(frame, site, args, "c")
    if isinstance(prepared, ErrorValue):
        return prepared
    text, compiled, info = prepared
    try:
        rows = [_record(text, m, info) for m in compiled.finditer(text, timeout=frame.ctx.limits.regex_timeout_seconds)]
    except TimeoutError:
        return _timeout(site, frame)
    frame.visit(len(rows))
    return Table(rows, columns=match_columns(info))


def match_columns(info: PatternInfo) -> list[str]:
    columns = ["FullMatch", "StartMatch", *info.names]
    if info.numbered:
        columns.append("SubMatches")
    return columns


# Hex2Dec/Dec2Hex work on 10 hex digits: 40-bit two's complement, as Excel.
_HEX_BITS = 40
_HEX_MAX = (1 << (_HEX_BITS - 1)) - 1


@eager("Hex2Dec", 1, 1)
@tabular
def _hex2dec(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Hex2Dec(text): up to 10 hex digits; 8000000000 and above are negative."""
    if args[0] is None:
        return 0.0
    text = to_text(args[0])
    if isinstance(text, ErrorValue):
        return text
    text = text.strip()
    if text == "":
        return 0.0
    if len(text) > 10 or any(ch not in "0123456789abcdefABCDEF" for ch in text):
        return site.error(ErrorKind.Numeric, f"Hex2Dec: {text!r} is not a hexadecimal number of at most 10 digits.")
    value = int(text, 16)
    return float(value - (1 << _HEX_BITS) if value > _HEX_MAX else value)


@eager("Dec2Hex", 1, 2)
@tabular
def _dec2hex(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Dec2Hex(number, [places]): 10-digit two's complement for negative numbers."""

    number = to_number(args[0])
    if isinstance(number, ErrorValue):
        return number
    number = float(number)
    if not math.isfinite(number):
        return site.error(ErrorKind.Numeric, "Dec2Hex: the number is not finite.")
    whole = math.floor(number)
    if not -_HEX_MAX - 1 <= whole <= _HEX_MAX:
        return site.error(ErrorKind.Numeric, f"Dec2Hex: {whole} is outside the 40-bit range.")
    places: int | None = None
    if len(args) > 1:
        if args[1] is None:
            return site.error(ErrorKind.Numeric, "Dec2Hex: places must be from 1 to 10.")
        p = to_number(args[1])
        if isinstance(p, ErrorValue):
            return p
        if not 1 <= float(p) <= 10:
            return site.error(ErrorKind.Numeric, "Dec2Hex: places must be from 1 to 10.")
        places = int(p)
    if whole < 0:
        return format(whole + (1 << _HEX_BITS), "X")
    digits = format(whole, "X")
    if places is not None:
        if len(digits) > places:
            return site.error(ErrorKind.Numeric, f"Dec2Hex: {digits} needs more than {places} places.")
        digits = digits.rjust(places, "0")
    return digits
