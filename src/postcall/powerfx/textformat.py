"""Text(value, format, language): Excel-compatible format codes, as Power Fx runs them.

Power Fx first checks and rewrites an Excel format code (`check_format`: blocks what Excel and
.NET would read differently, quotes letters that .NET would take as specifiers, moves scaling
commas), then formats numbers with .NET's custom numeric format rules (`format_number_code`)
and dates with Excel's date/time codes (`format_datetime_code`: `m` is minutes after an hour or
before seconds, `yyy` is a four digit year, `0` after seconds is a fraction).  The rules here
follow Microsoft's documented behaviour and its public conformance files; no code is copied.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from dataclasses import dataclass, field

from postcall.powerfx.culture import EN_US, Culture

_DATETIME_CHARS = frozenset("mMdDyYhHsSaApP")
_NUMERIC_CHARS = frozenset("0#")
_UNSUPPORTED_CHARS = frozenset("?[_*@]")
_SPECIAL_CHARS = frozenset("z$bcfnpxBCFNPX")
_SUBSECONDS = re.compile(r"[sS]\.?(0+)")
# Format codes longer than this are refused, as Power Fx does.
MAX_FORMAT_LENGTH = 100
NOT_FORMATTABLE = "The second argument of the 'Text' function is only supported for numeric and date/time values."

# DateTimeFormat enum values as Excel codes (the en-US patterns .NET uses).
NAMED_FORMATS = {
    "shortdate": "m/d/yyyy",
    "longdate": "dddd, mmmm d, yyyy",
    "shorttime": "h:mm AM/PM",
    "longtime": "h:mm:ss AM/PM",
    "shorttime24": "h:mm",
    "longtime24": "h:mm:ss",
    "shortdatetime": "m/d/yyyy h:mm AM/PM",
    "longdatetime": "dddd, mmmm d, yyyy h:mm:ss AM/PM",
    "shortdatetime24": "m/d/yyyy h:mm",
    "longdatetime24": "dddd, mmmm d, yyyy h:mm:ss",
}


@dataclass
class FormatCode:
    """A checked format code: the rewritten code, its sections, and what kind it is."""

    code: str
    sections: list[str] = field(default_factory=list)
    is_datetime: bool = False
    is_numeric: bool = False

    def section_for(self, number: float) -> str:
        if len(self.sections) > 1:
            if number > 0 or (number == 0 and len(self.sections) == 2):
                return self.sections[0]
            if number < 0:
                return self.sections[1]
            if len(self.sections) == 3:
                return self.sections[2]
        return self.code


def _ampm_token(fmt: str, i: int) -> int | None:
    """Length of an `A/P` or `AM/PM` token at i (0: none), or None if it is a blocked mix."""
    n = len(fmt)
    if i < n - 2 and fmt[i + 1] == "/" and fmt[i + 2].lower() == "p":
        if fmt[i].isupper() != fmt[i + 2].isupper() or fmt[i] == "a":
            return None
        return 3
    if i < n - 4 and fmt[i + 1].lower() == "m" and fmt[i + 2] == "/" and fmt[i + 3].lower() == "p" and fmt[i + 4].lower() == "m":
        uppers = sum(1 for j in (0, 1, 3, 4) if fmt[i + j].isupper())
        if uppers not in (0, 4) or fmt[i] == "a":
            return None
        return 5
    return 0


def check_format(fmt: str) -> FormatCode | None:
    """The checked and rewritten format code, or None when Power Fx refuses it."""
    if fmt.startswith("[$-"):
        return None
    if fmt in ("g", "G") or "general" in fmt.lower():
        return None
    if fmt.startswith("/"):
        return None
    out = FormatCode(fmt)
    s = fmt
    has_digits = False
    point = -1
    section_count = 0
    last_section = -1
    m_run = 0
    colon = False
    exponent = False
    non_numeric_after_exp = False
    pound_after_exp = -1
    commas: list[int] = []
    i = 0
    while i < len(s):
        c = s[i]
        if c in "mM":
            m_run += 1
            if m_run > 4:
                return None
        else:
            m_run = 0
        if c in "aA" and (i == 0 or s[i - 1] != "'"):
            token = _ampm_token(s, i)
            if token is None:
                return None
            if token:
                i += token
                continue
        if exponent and c not in _NUMERIC_CHARS:
            non_numeric_after_exp = True
        if (i == 0 or out.is_numeric) and c in _SPECIAL_CHARS:
            s = s[:i] + '"' + c + '"' + s[i + 1 :]
            i += 2
        elif c == ";" and pound_after_exp != -1:
            s = s[:pound_after_exp] + "0" + s[pound_after_exp:]
            exponent = False
            pound_after_exp = -1
            non_numeric_after_exp = False
        elif c in _NUMERIC_CHARS:
            if exponent:
                if non_numeric_after_exp:
                    return None
                if c == "#":
                    s = s[:i] + s[i + 1 :]
                    pound_after_exp = i
                    i -= 1
                else:
                    pound_after_exp = -1
            if not out.is_datetime and colon:
                return None
            has_digits = True
            out.is_numeric = True
            if commas:
                if "." in s and point == -1:
                    for j in reversed(commas):
                        if j < len(s) - 1 and s[j + 1] not in _NUMERIC_CHARS:
                            s = s[:j] + s[j + 1 :]
                            i -= 1
                commas.clear()
        elif c in _DATETIME_CHARS and (i == 0 or s[i - 1] != "'"):
            out.is_datetime = True
        elif not out.is_datetime and c == "," and not has_digits and point == -1:
            if i > 0 and s[i - 1] == ",":
                s = s[:i] + s[i + 1 :]
                i -= 1
            else:
                s = s[:i] + "\\" + s[i:]
                i += 1
        elif not out.is_datetime and c == ".":
            point = i
            has_digits = False
            if exponent:
                return None
            if commas and commas[-1] != i - 1:
                for j in reversed(commas):
                    s = s[:j] + s[j + 1 :]
                commas.clear()
        elif c in _UNSUPPORTED_CHARS:
            return None
        elif c == ":":
            colon = True
        elif c == ";":
            section_count += 1
            if section_count > 2:
                return None
            out.sections.append(s[last_section + 1 : i])
            last_section = i
        elif out.is_numeric and c == "," and i > 0:
            if (s[i - 1] in _NUMERIC_CHARS and (i == 1 or s[i - 2] != "\\")) or (i - 1) in commas:
                commas.append(i)
            elif s[i - 1] == ",":
                s = s[:i] + s[i + 1 :]
                i -= 1
            elif s[i - 1] != ".":
                s = s[:i] + "\\" + s[i:]
                i += 1
        elif c == "'" and (i == 0 or s[i - 1] != "\\"):
            s = s[:i] + "\\" + s[i:]
            i += 1
        elif c in "eE" and i < len(s) - 1 and s[i + 1] in "+-":
            exponent = True
            if i < len(s) - 2:
                i += 1
        elif c == "%" and exponent:
            return None
        elif i == len(s) - 1:
            if c in '\\"':
                return None
            if not out.is_datetime and (
                c in "eE" or (i > 2 and s[i - 2] != "\\" and s[i - 1] in "eE" and c == "+")
            ):
                return None
        elif c == "\\":
            if (out.is_numeric and not out.is_datetime) or (i < len(s) - 1 and s[i + 1] == '"'):
                i += 1
            elif i < len(s) - 1:
                # \c becomes "c", as Excel reads it.
                s = s[:i] + '"' + s[i + 1] + '"' + s[i + 2 :]
                i += 2
        elif c == '"' and i < len(s) - 1:
            close = s.find('"', i + 1)
            if close == -1:
                return None
            i = close
        i += 1
    if pound_after_exp != -1:
        s = s[:pound_after_exp] + "0" + s[pound_after_exp:]
    if last_section != -1 and last_section < len(s) - 1:
        out.sections.append(s[last_section + 1 :])
    # Scaling commas after the digits move to just before the decimal point.
    if commas and point != -1:
        for j in reversed(commas):
            s = s[:j] + s[j + 1 :]
            if j < point:
                point -= 1
        s = s[:point] + "," * len(commas) + s[point:]
    if out.is_datetime and out.is_numeric:
        # Zeros after seconds are a fraction of a second, not digits.
        without = _SUBSECONDS.sub("", s)
        out.is_numeric = any(ch in _NUMERIC_CHARS for ch in without)
        if out.is_numeric:
            return None
    if out.is_numeric:
        if "/" in s:
            return None
        if point != -1 and not has_digits:
            s = s[:point] + "\\" + s[point:]
        s = s.replace("‰", "\\‰")
    if out.is_datetime:
        s = s.replace("\\'", "'")
    out.code = s
    return out


# ---------------------------------------------------------------------------------------
# Numbers: .NET custom numeric format strings.


def number_digits(value: float | decimal.Decimal) -> tuple[str, int, bool]:
    """(significant digits, decimal exponent, negative): value = 0.DIGITS x 10^exponent.

    A float keeps 15 significant digits, as .NET does before applying a custom format.
    """
    if isinstance(value, float):
        if value == 0:
            return "", 0, False
        text = f"{abs(value):.14e}"
        mantissa, _, exp = text.partition("e")
        digits = mantissa.replace(".", "").rstrip("0")
        return digits, int(exp) + 1, value < 0
    if value == 0:
        return "", 0, False
    sign, digit_tuple, exponent = value.as_tuple()
    raw = "".join(map(str, digit_tuple)).lstrip("0")
    assert isinstance(exponent, int)
    scale = len(raw) + exponent
    return raw.rstrip("0"), scale, bool(sign)


def _find_section(fmt: str, section: int) -> int:
    if section == 0:
        return 0
    src = 0
    n = len(fmt)
    while src < n:
        ch = fmt[src]
        src += 1
        if ch in "'\"":
            while src < n and fmt[src] != ch:
                src += 1
            src += 1
        elif ch == "\\":
            src += 1
        elif ch == ";":
            section -= 1
            if section != 0:
                continue
            if src < n and fmt[src] != ";":
                return src
            return 0
    return 0


def _round_digits(digits: str, scale: int, negative: bool, pos: int) -> tuple[str, int, bool]:
    i = max(0, min(pos, len(digits)))
    if i == pos and i < len(digits) and digits[i] >= "5":
        while i > 0 and digits[i - 1] == "9":
            i -= 1
        if i > 0:
            digits = digits[: i - 1] + chr(ord(digits[i - 1]) + 1)
        else:
            scale += 1
            digits = "1"
            i = 1
    else:
        while i > 0 and digits[i - 1] == "0":
            i -= 1
        digits = digits[:i]
    if i == 0:
        return "", 0, False
    return digits[:i], scale, negative


def _group_positions(culture: Culture, count: int) -> list[int]:
    """Digit counts (from the right) after which a group separator goes, smallest first."""
    sizes = culture.group_sizes
    positions: list[int] = []
    if not sizes:
        return positions
    index = 0
    total = sizes[0]
    size = total
    while count > total and size != 0:
        positions.append(total)
        if index < len(sizes) - 1:
            index += 1
            size = sizes[index]
        total += size
    return positions


def format_number_code(value: float | decimal.Decimal, fmt: str, culture: Culture = EN_US) -> str:
    """`value` formatted with a .NET custom numeric format string."""
    digits, scale, negative = number_digits(value)
    section = _find_section(fmt, 2 if not digits else 1 if negative else 0)
    n = len(fmt)
    while True:
        digit_count = 0
        decimal_pos = -1
        first_digit = 0x7FFFFFFF
        last_digit = 0
        scientific = False
        thousand_pos = -1
        thousand_count = 0
        thousand_seps = False
        scale_adjust = 0
        src = section
        while src < n and fmt[src] != ";":
            ch = fmt[src]
            src += 1
            if ch == "#":
                digit_count += 1
            elif ch == "0":
                if first_digit == 0x7FFFFFFF:
                    first_digit = digit_count
                digit_count += 1
                last_digit = digit_count
            elif ch == ".":
                if decimal_pos < 0:
                    decimal_pos = digit_count
            elif ch == ",":
                if digit_count > 0 and decimal_pos < 0:
                    if thousand_pos >= 0:
                        if thousand_pos == digit_count:
                            thousand_count += 1
                            continue
                        thousand_seps = True
                    thousand_pos = digit_count
                    thousand_count = 1
            elif ch == "%":
                scale_adjust += 2
            elif ch == "‰":
                scale_adjust += 3
            elif ch in "'\"":
                while src < n and fmt[src] != ch:
                    src += 1
                src += 1
            elif ch == "\\":
                src += 1
            elif ch in "eE":
                if (src < n and fmt[src] == "0") or (src + 1 < n and fmt[src] in "+-" and fmt[src + 1] == "0"):
                    src += 1
                    while src < n and fmt[src] == "0":
                        src += 1
                    scientific = True
        if decimal_pos < 0:
            decimal_pos = digit_count
        if thousand_pos >= 0:
            if thousand_pos == decimal_pos:
                scale_adjust -= thousand_count * 3
            else:
                thousand_seps = True
        if digits:
            scale += scale_adjust
            pos = digit_count if scientific else scale + digit_count - decimal_pos
            digits, scale, negative = _round_digits(digits, scale, negative, pos)
            if not digits:
                other = _find_section(fmt, 2)
                if other != section:
                    section = other
                    continue
        else:
            negative = False
            scale = 0
        break

    first_digit = decimal_pos - first_digit if first_digit < decimal_pos else 0
    last_digit = decimal_pos - last_digit if last_digit > decimal_pos else 0
    if scientific:
        dig_pos = decimal_pos
        adjust = 0
    else:
        dig_pos = max(scale, decimal_pos)
        adjust = scale - decimal_pos
    separators: list[int] = []
    if thousand_seps and culture.group:
        total_digits = dig_pos + (adjust if adjust < 0 else 0)
        separators = _group_positions(culture, max(first_digit, total_digits))
    sep_index = len(separators) - 1

    out: list[str] = []
    if negative and section == 0:
        out.append(culture.negative)
    decimal_written = False
    cur = 0
    src = section

    def next_digit() -> str | None:
        nonlocal cur
        if cur < len(digits):
            cur += 1
            return digits[cur - 1]
        return None

    def group_after() -> None:
        nonlocal sep_index
        if thousand_seps and dig_pos > 1 and sep_index >= 0 and dig_pos == separators[sep_index] + 1:
            out.append(culture.group)
            sep_index -= 1

    while src < n and fmt[src] != ";":
        ch = fmt[src]
        src += 1
        if adjust > 0 and ch in "#0.":
            while adjust > 0:
                d = next_digit()
                out.append(d if d is not None else "0")
                group_after()
                dig_pos -= 1
                adjust -= 1
        if ch in "#0":
            if adjust < 0:
                adjust += 1
                emit: str | None = "0" if dig_pos <= first_digit else None
            else:
                d = next_digit()
                emit = d if d is not None else ("0" if dig_pos > last_digit else None)
            if emit is not None:
                out.append(emit)
                group_after()
            dig_pos -= 1
        elif ch == ".":
            if dig_pos != 0 or decimal_written:
                continue
            if last_digit < 0 or (decimal_pos < digit_count and cur < len(digits)):
                out.append(culture.decimal)
                decimal_written = True
        elif ch == "‰":
            out.append(culture.permille)
        elif ch == "%":
            out.append(culture.percent)
        elif ch == ",":
            continue
        elif ch in "'\"":
            while src < n and fmt[src] != ch:
                out.append(fmt[src])
                src += 1
            src += 1
        elif ch == "\\":
            if src < n:
                out.append(fmt[src])
                src += 1
        elif ch in "eE":
            if scientific:
                positive_sign = False
                width = 0
                if src < n and fmt[src] == "0":
                    width += 1
                elif src + 1 < n and fmt[src] == "+" and fmt[src + 1] == "0":
                    positive_sign = True
                elif src + 1 < n and fmt[src] == "-" and fmt[src + 1] == "0":
                    pass
                else:
                    out.append(ch)
                    continue
                src += 1
                while src < n and fmt[src] == "0":
                    width += 1
                    src += 1
                width = min(width, 10)
                exp = 0 if not digits else scale - decimal_pos
                out.append(ch)
                if exp < 0:
                    out.append(culture.negative)
                    exp = -exp
                elif positive_sign:
                    out.append("+")
                out.append(str(exp).rjust(width, "0"))
                scientific = False
            else:
                out.append(ch)
                if src < n and fmt[src] in "+-":
                    out.append(fmt[src])
                    src += 1
                while src < n and fmt[src] == "0":
                    out.append(fmt[src])
                    src += 1
        else:
            out.append(ch)
    return "".join(out)


# ---------------------------------------------------------------------------------------
# Dates and times: Excel codes.

_QUOTED = re.compile(r'"[^"]*"')
_AMPM = re.compile(r"[aA][mM]/[pP][mM]")
_AP = re.compile(r"[aA]/[pP]")
_MINUTES_BEFORE_SECONDS = re.compile(r"[mM][^dDyYhH]+[sS]")
_MINUTES_AFTER_HOURS = re.compile(r"[hH][^dDyYmM]+[mM]")
_FIRST_M = re.compile(r"[mM]")
_TOKENS = str.maketrans({"m": "\x03", "M": "\x03", "d": "\x04", "D": "\x04", "y": "\x05", "Y": "\x05",
                         "h": "\x06", "H": "\x06", "s": "\x08", "S": "\x08", "0": "\x0e"})
_RUNS = re.compile(r"(\x03+|\x04+|\x05+|\x06+|\x0a+|\x08+|\x0e+|\x01|\x02)")


class FormatError(ValueError):
    """The format cannot be applied (for example more than 7 fraction digits)."""


def _hour12(hour: int) -> int:
    return hour % 12 or 12


def format_datetime_code(when: dt.datetime, fmt: str, culture: Culture = EN_US) -> str:
    """`when` formatted with an Excel date/time code (already checked by `check_format`)."""
    quoted = _QUOTED.findall(fmt)
    s = _QUOTED.sub("\x11", fmt)
    s = _AMPM.sub("\x01", s)
    s = _AP.sub("\x02", s)
    while (m := _MINUTES_BEFORE_SECONDS.search(s)) is not None:
        s = s[: m.start()] + "\x0a" + s[m.start() + 1 :]
    while (m := _MINUTES_AFTER_HOURS.search(s)) is not None:
        first = _FIRST_M.search(s, m.start())
        assert first is not None
        s = s[: first.start()] + "\x0a" + s[first.start() + 1 :]
    s = s.translate(_TOKENS)
    has_ampm = "\x01" in s or "\x02" in s

    def expand(match: re.Match[str]) -> str:
        run = match.group(0)
        kind, length = run[0], len(run)
        if kind == "\x04":
            if length >= 4:
                return culture.days[(when.weekday() + 1) % 7]
            if length == 3:
                return culture.days_abbr[(when.weekday() + 1) % 7]
            return f"{when.day:02d}" if length == 2 else str(when.day)
        if kind == "\x03":
            if length >= 4:
                return culture.months[when.month - 1]
            if length == 3:
                return culture.months_abbr[when.month - 1]
            return f"{when.month:02d}" if length == 2 else str(when.month)
        if kind == "\x05":
            return f"{when.year:04d}" if length >= 3 else f"{when.year % 100:02d}"
        if kind == "\x06":
            hour = _hour12(when.hour) if has_ampm else when.hour
            return f"{hour:02d}" if length >= 2 else str(hour)
        if kind == "\x0a":
            return f"{when.minute:02d}" if length >= 2 else str(when.minute)
        if kind == "\x08":
            return f"{when.second:02d}" if length >= 2 else str(when.second)
        if kind == "\x0e":
            if length > 7:
                raise FormatError("at most 7 digits of a second")
            return f"{when.microsecond:06d}0"[:length]
        designator = culture.am if when.hour < 12 else culture.pm
        return designator if kind == "\x01" else designator[:1]

    s = _RUNS.sub(expand, s)
    if quoted:
        parts = iter(q[1:-1] for q in quoted)
        s = re.sub("\x11", lambda _m: next(parts, ""), s)
    return s


def format_named(when: dt.datetime, name: str, culture: Culture = EN_US) -> str | None:
    """A DateTimeFormat enum value (`ShortDate`, `LongTime24`...), or None if it is not one."""
    code = NAMED_FORMATS.get(name.lower())
    if code is None:
        return None
    return format_datetime_code(when, code, culture)
