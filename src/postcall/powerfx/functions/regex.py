"""IsMatch with Power Fx's regular expression subset, run on the `regex` package (docs/powerfx.md).

Patterns and texts may come from callers, so matching is bounded: `regex` searches with a
timeout (Limits.regex_timeout_seconds; a pattern such as `(a+)+$` backtracks exponentially), and
the text and the pattern have length limits.  Going over a bound is an error value, never a hang.
"""

from __future__ import annotations

import re

import regex  # type: ignore[import-untyped]  # no stubs in the declared dependencies

from postcall.powerfx.coerce import to_text
from postcall.powerfx.functions.registry import CallSite, eager
from postcall.powerfx.runtime import Frame
from postcall.powerfx.values import ErrorKind, ErrorValue, OptionValue, Value

_SURROGATE_PAIR = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", re.IGNORECASE)

_CACHE: dict[tuple[str, str], regex.Pattern[str] | str] = {}


def translate(pattern: str) -> str:
    r"""Power Fx (.NET/JavaScript subset) regex to the `regex` package's syntax (which has
    `\p{L}`, `\p{Lu}`... natively): UTF-16 surrogate pairs `\uD83D\uDE00` become the character."""

    def pair(match: re.Match[str]) -> str:
        high = int(match.group(1), 16)
        low = int(match.group(2), 16)
        return re.escape(chr(0x10000 + (high - 0xD800) * 0x400 + (low - 0xDC00)))

    return _SURROGATE_PAIR.sub(pair, pattern)


def compile_pattern(pattern: str, options: str) -> regex.Pattern[str] | str:
    """A compiled regex (`regex` package, `re`-compatible syntax), or why it does not compile."""
    key = (pattern, options)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    flags = regex.VERSION0
    if "i" in options:
        flags |= regex.IGNORECASE
    multiline = "m" in options
    if multiline:
        flags |= regex.MULTILINE
    # Without a position option the pattern may match anywhere (the C# interpreter's behaviour).
    begin = "^" in options
    end = "$" in options
    body = translate(pattern)
    start = ("^" if multiline else r"\A") if begin else ""
    finish = ("$" if multiline else r"\Z") if end else ""
    try:
        compiled: regex.Pattern[str] | str = regex.compile(f"{start}(?:{body}){finish}", flags)
    except (regex.error, OverflowError, RecursionError, ValueError) as exc:
        compiled = f"invalid regular expression: {exc}"
    if len(_CACHE) < 512:
        _CACHE[key] = compiled
    return compiled


@eager("IsMatch", 2, 3)
def _is_match(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """IsMatch(text, pattern, [MatchOptions]): the pattern occurs in the text (MatchOptions.Complete: all of it)."""
    if args[0] is None:
        text = ""
    else:
        converted = to_text(args[0])
        if isinstance(converted, ErrorValue):
            return converted
        text = converted
    pattern_value = args[1].value if isinstance(args[1], OptionValue) else args[1]
    pattern = to_text(pattern_value)  # type: ignore[arg-type]
    if isinstance(pattern, ErrorValue):
        return pattern
    options = ""
    if len(args) > 2 and args[2] is not None:
        option_value = args[2].value if isinstance(args[2], OptionValue) else args[2]
        converted_options = to_text(option_value)  # type: ignore[arg-type]
        if isinstance(converted_options, ErrorValue):
            return converted_options
        options = converted_options
    if args[0] is None and pattern != "":
        return False
    limits = frame.ctx.limits
    if len(pattern) > limits.max_regex_pattern_length:
        return site.error(
            ErrorKind.BadRegex,
            f"IsMatch: the pattern is {len(pattern)} characters long "
            f"(limit {limits.max_regex_pattern_length}).",
        )
    if len(text) > limits.max_regex_text_length:
        return site.error(
            ErrorKind.InvalidArgument,
            f"IsMatch: the text is {len(text)} characters long "
            f"(limit {limits.max_regex_text_length}).",
        )
    compiled = compile_pattern(pattern, options)
    if isinstance(compiled, str):
        return site.error(ErrorKind.BadRegex, f"IsMatch: {compiled}")
    try:
        return compiled.search(text, timeout=limits.regex_timeout_seconds) is not None
    except TimeoutError:
        return site.error(
            ErrorKind.Timeout,
            f"IsMatch: matching the pattern took longer than {limits.regex_timeout_seconds} s "
            "(it backtracks too much on this text).",
        )


@eager("Hex2Dec", 1, 1)
def _hex2dec(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Hex2Dec(text)"""
    text = to_text(args[0])
    if isinstance(text, ErrorValue):
        return text
    try:
        return float(int(text, 16))
    except ValueError:
        return site.invalid(f"{text!r} is not a hexadecimal number.")


@eager("Dec2Hex", 1, 2)
def _dec2hex(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Dec2Hex(number, [places])"""
    from postcall.powerfx.coerce import to_number

    number = to_number(args[0])
    if isinstance(number, ErrorValue):
        return number
    places = 0
    if len(args) > 1:
        p = to_number(args[1])
        if isinstance(p, ErrorValue):
            return p
        places = int(p)
    return format(int(number), "X").rjust(places, "0")
