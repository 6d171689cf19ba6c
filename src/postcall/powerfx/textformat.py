"""Text(value, format): Excel-style number formats ("#,##0.00") and date formats ("yyyy-mm-dd")."""

from __future__ import annotations

import datetime as dt
import decimal
import re

NAMES: dict[str, tuple[list[str], list[str]]] = {
    "en": (
        ["January", "February", "March", "April", "May", "June", "July", "August", "September",
         "October", "November", "December"],
        ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    ),
    "es": (
        ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
         "octubre", "noviembre", "diciembre"],
        ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
    ),
    "fr": (
        ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
         "octobre", "novembre", "décembre"],
        ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
    ),
    "de": (
        ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
         "Oktober", "November", "Dezember"],
        ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"],
    ),
}

NAMED_FORMATS = {
    "'shortdate'": "m/d/yyyy",
    "'longdate'": "dddd, mmmm d, yyyy",
    "'shorttime'": "h:mm AM/PM",
    "'longtime'": "h:mm:ss AM/PM",
    "'shorttime24'": "hh:mm",
    "'longtime24'": "hh:mm:ss",
    "'shortdatetime'": "m/d/yyyy h:mm AM/PM",
    "'longdatetime'": "dddd, mmmm d, yyyy h:mm:ss AM/PM",
    "'shortdatetime24'": "m/d/yyyy hh:mm",
    "'longdatetime24'": "dddd, mmmm d, yyyy hh:mm:ss",
}

_LANG_PREFIX = re.compile(r"^\[\$-([A-Za-z]{2,3}(?:-[A-Za-z0-9]+)*)\]")


def split_language(fmt: str) -> tuple[str, str | None]:
    match = _LANG_PREFIX.match(fmt)
    if match:
        return fmt[match.end():], match.group(1)
    return fmt, None


def language_names(language: str | None) -> tuple[list[str], list[str]] | None:
    if not language:
        return NAMES["en"]
    return NAMES.get(language.split("-")[0].lower())


# ---------------------------------------------------------------------------------------
# Dates
_DATE_TOKEN = re.compile(
    r'"[^"]*"|\\.|yyyy|yy|y|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|am/pm|a/p|\.0+|\.f+|.',
    re.IGNORECASE | re.DOTALL,
)


def format_datetime(value: dt.datetime, fmt: str, language: str | None = None) -> str:
    names = language_names(language) or NAMES["en"]
    months, days = names
    tokens = _DATE_TOKEN.findall(fmt)
    has_ampm = any(t.lower() in ("am/pm", "a/p") for t in tokens)
    out: list[str] = []
    for i, tok in enumerate(tokens):
        low = tok.lower()
        if tok.startswith('"'):
            out.append(tok[1:-1])
        elif tok.startswith("\\") and len(tok) == 2:
            out.append(tok[1])
        elif low == "yyyy":
            out.append(f"{value.year:04d}")
        elif low in ("yy", "y"):
            out.append(f"{value.year % 100:02d}")
        elif low == "mmmm":
            out.append(months[value.month - 1])
        elif low == "mmm":
            out.append(months[value.month - 1][:3])
        elif low in ("mm", "m"):
            if _is_minute(tokens, i):
                out.append(f"{value.minute:02d}" if low == "mm" else str(value.minute))
            else:
                out.append(f"{value.month:02d}" if low == "mm" else str(value.month))
        elif low == "dddd":
            out.append(days[value.weekday()])
        elif low == "ddd":
            out.append(days[value.weekday()][:3])
        elif low == "dd":
            out.append(f"{value.day:02d}")
        elif low == "d":
            out.append(str(value.day))
        elif low in ("hh", "h"):
            hour = value.hour
            if has_ampm:
                hour = hour % 12 or 12
            out.append(f"{hour:02d}" if low == "hh" else str(hour))
        elif low == "ss":
            out.append(f"{value.second:02d}")
        elif low == "s":
            out.append(str(value.second))
        elif low == "am/pm":
            out.append("AM" if value.hour < 12 else "PM")
        elif low == "a/p":
            out.append("A" if value.hour < 12 else "P")
        elif low.startswith(".") and len(low) > 1 and (set(low[1:]) == {"0"} or set(low[1:]) == {"f"}):
            digits = len(low) - 1
            micro = f"{value.microsecond:06d}"
            out.append("." + (micro + "0" * digits)[:digits])
        else:
            out.append(tok)
    return "".join(out)


def _is_minute(tokens: list[str], index: int) -> bool:
    """`m`/`mm` means minutes right after an hour or right before a second."""
    for j in range(index - 1, -1, -1):
        low = tokens[j].lower()
        if low in ("h", "hh"):
            return True
        if low[:1].isalpha() and not low.startswith('"'):
            break
    for j in range(index + 1, len(tokens)):
        low = tokens[j].lower()
        if low in ("s", "ss"):
            return True
        if low[:1].isalpha() and not low.startswith('"'):
            break
    return False


# ---------------------------------------------------------------------------------------
# Numbers
_NUM_TOKEN = re.compile(r'"[^"]*"|\\.|.', re.DOTALL)


def _round(value: decimal.Decimal, places: int) -> decimal.Decimal:
    return value.quantize(decimal.Decimal(1).scaleb(-places), rounding=decimal.ROUND_HALF_UP)


def format_number_pattern(value: float, fmt: str) -> str:
    sections = _split_sections(fmt)
    section = sections[0]
    negative_section = False
    if value < 0 and len(sections) > 1 and sections[1] != "":
        section = sections[1]
        negative_section = True
        value = -value
    elif value == 0 and len(sections) > 2:
        section = sections[2]
    tokens = _NUM_TOKEN.findall(section)
    placeholders = [t for t in tokens if t in ("0", "#", "?")]
    if not placeholders:
        return "".join(t[1:-1] if t.startswith('"') else t[1:] if t.startswith("\\") else t for t in tokens)
    percent = tokens.count("%")
    dec = decimal.Decimal(repr(float(value)))
    dec *= decimal.Decimal(100) ** percent
    # Locate the decimal point (first '.' among tokens).
    try:
        point = tokens.index(".")
    except ValueError:
        point = len(tokens)
    int_tokens = tokens[:point]
    frac_tokens = tokens[point + 1 :]
    # Trailing commas after the last integer placeholder scale by 1000 each.
    last_ph = max((i for i, t in enumerate(int_tokens) if t in ("0", "#", "?")), default=-1)
    scale_commas = 0
    j = last_ph + 1
    while j < len(int_tokens) and int_tokens[j] == "," and point == len(tokens):
        scale_commas += 1
        j += 1
    if point < len(tokens):
        k = len(int_tokens) - 1
        while k > last_ph and int_tokens[k] == ",":
            scale_commas += 1
            k -= 1
    dec /= decimal.Decimal(1000) ** scale_commas
    grouping = any(
        t == "," and any(p in ("0", "#", "?") for p in int_tokens[:i]) and any(p in ("0", "#", "?") for p in int_tokens[i + 1 :])
        for i, t in enumerate(int_tokens)
    )
    frac_places = sum(1 for t in frac_tokens if t in ("0", "#", "?"))
    rounded = _round(abs(dec), frac_places)
    sign = "-" if dec < 0 and rounded != 0 and not negative_section else ""
    text = f"{rounded:f}"
    int_digits, _, frac_digits = text.partition(".")
    int_digits = int_digits.lstrip("0")
    min_int = sum(1 for t in int_tokens if t == "0")
    if len(int_digits) < min_int:
        int_digits = "0" * (min_int - len(int_digits)) + int_digits
    # Integer part.
    int_out = _fill_integer(int_tokens, int_digits, grouping)
    # Fraction part.
    frac_out = ""
    if point < len(tokens):
        frac_digits = (frac_digits + "0" * frac_places)[:frac_places]
        # Optional (#) digits at the end drop trailing zeros.
        kinds = [t for t in frac_tokens if t in ("0", "#", "?")]
        digits = list(frac_digits)
        for idx in range(len(kinds) - 1, -1, -1):
            if kinds[idx] == "#" and digits and digits[idx] == "0" and idx == len(digits) - 1:
                digits.pop()
            else:
                break
        it = iter(digits)
        pieces: list[str] = []
        for t in frac_tokens:
            if t in ("0", "#", "?"):
                pieces.append(next(it, " " if t == "?" else ""))
            else:
                pieces.append(_literal(t))
        frac_out = "." + "".join(pieces)
    return sign + int_out + frac_out


def _literal(tok: str) -> str:
    if tok.startswith('"'):
        return tok[1:-1]
    if tok.startswith("\\"):
        return tok[1:]
    return tok


def _fill_integer(tokens: list[str], digits: str, grouping: bool) -> str:
    ph_positions = [i for i, t in enumerate(tokens) if t in ("0", "#", "?")]
    if not ph_positions:
        return "".join(_literal(t) for t in tokens if t != ",")
    first, last = ph_positions[0], ph_positions[-1]
    interleaved = any(tokens[i] not in ("0", "#", "?", ",") for i in range(first, last + 1))
    if grouping and digits:
        groups: list[str] = []
        while len(digits) > 3:
            groups.insert(0, digits[-3:])
            digits = digits[:-3]
        groups.insert(0, digits)
        digits = ",".join(groups)
    if not interleaved:
        before = "".join(_literal(t) for t in tokens[:first])
        after = "".join(_literal(t) for t in tokens[last + 1 :] if t != ",")
        return before + digits + after
    out = [""] * len(tokens)
    remaining = digits
    for pos in reversed(ph_positions):
        if remaining:
            out[pos] = remaining[-1]
            remaining = remaining[:-1]
        else:
            out[pos] = "0" if tokens[pos] == "0" else ""
    if remaining:
        out[first] = remaining + out[first]
    for i, t in enumerate(tokens):
        if t not in ("0", "#", "?"):
            out[i] = "" if t == "," else _literal(t)
    return "".join(out)


def _split_sections(fmt: str) -> list[str]:
    sections: list[str] = []
    current: list[str] = []
    for tok in _NUM_TOKEN.findall(fmt):
        if tok == ";":
            sections.append("".join(current))
            current = []
        else:
            current.append(tok)
    sections.append("".join(current))
    return sections
