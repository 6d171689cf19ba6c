"""IsMatch with Power Fx's regular expression subset, run on Python's `re` (see docs/powerfx.md)."""

from __future__ import annotations

import re

from postcall.powerfx.coerce import to_text
from postcall.powerfx.functions.registry import CallSite, eager
from postcall.powerfx.runtime import Frame
from postcall.powerfx.values import ErrorKind, ErrorValue, OptionValue, Value

_UNICODE_CLASSES = {
    r"\p{L}": r"[^\W\d_]",
    r"\P{L}": r"[\W\d_]",
    r"\p{Lu}": r"[A-ZÀ-ÖØ-Þ]",
    r"\p{Ll}": r"[a-zß-öø-ÿ]",
    r"\p{N}": r"\d",
    r"\p{Nd}": r"\d",
}

_SURROGATE_PAIR = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", re.IGNORECASE)

_CACHE: dict[tuple[str, str], re.Pattern[str] | str] = {}


def translate(pattern: str) -> str:
    """Power Fx (.NET/JavaScript subset) regex to Python `re` syntax."""

    def pair(match: re.Match[str]) -> str:
        high = int(match.group(1), 16)
        low = int(match.group(2), 16)
        return re.escape(chr(0x10000 + (high - 0xD800) * 0x400 + (low - 0xDC00)))

    out = _SURROGATE_PAIR.sub(pair, pattern)
    for source, target in _UNICODE_CLASSES.items():
        out = out.replace(source, target)
    return out


def compile_pattern(pattern: str, options: str) -> re.Pattern[str] | str:
    """A compiled regex, or the reason it does not compile."""
    key = (pattern, options)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    flags = 0
    if "i" in options:
        flags |= re.IGNORECASE
    multiline = "m" in options
    if multiline:
        flags |= re.MULTILINE
    # Without a position option the pattern may match anywhere (the C# interpreter's behaviour).
    begin = "^" in options
    end = "$" in options
    body = translate(pattern)
    start = ("^" if multiline else r"\A") if begin else ""
    finish = ("$" if multiline else r"\Z") if end else ""
    try:
        compiled: re.Pattern[str] | str = re.compile(f"{start}(?:{body}){finish}", flags)
    except (re.error, OverflowError, RecursionError) as exc:
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
    compiled = compile_pattern(pattern, options)
    if isinstance(compiled, str):
        return site.error(ErrorKind.BadRegex, f"IsMatch: {compiled}")
    return compiled.search(text) is not None


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
