"""Cultures for Text/Value/DateValue: separators, digit grouping, month and day names, AM/PM.

Power Fx formats with .NET's `CultureInfo`, which on Linux reads the Unicode CLDR through ICU.
We read the same CLDR data through Babel, so `Text(1234.5, "#,##0.00", "fr-FR")` gives the
separators Copilot Studio gives.  A name with an unknown region (`vi-VI`) falls back to its
language, as ICU does; an unknown language (`zz`) is no culture (BadLanguageCode).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from babel import Locale, UnknownLocaleError


@dataclass(frozen=True)
class Culture:
    name: str
    decimal: str
    group: str
    group_sizes: tuple[int, ...]
    negative: str
    percent: str
    permille: str
    months: tuple[str, ...]
    months_abbr: tuple[str, ...]
    days: tuple[str, ...]  # Sunday first, as .NET
    days_abbr: tuple[str, ...]
    am: str
    pm: str
    day_first: bool = False  # the short date reads day before month (dd/MM/yyyy)


def _babel_locale(name: str) -> Locale | None:
    text = name.strip().replace("-", "_")
    if not text or not all(part.isalnum() for part in text.split("_")):
        return None
    try:
        return Locale.parse(text)
    except (UnknownLocaleError, ValueError):
        pass
    # Unknown region or script: ICU keeps the language.
    try:
        return Locale.parse(text.split("_")[0])
    except (UnknownLocaleError, ValueError):
        return None


@functools.lru_cache(maxsize=64)
def get_culture(name: str) -> Culture | None:
    """The culture called `name` (`en-US`, `fr-FR`, `vi`...), or None if there is none."""
    if name.lower() in ("", "en-us", "en"):
        return EN_US if EN_US_READY else _build("en_US", "en-US")
    locale = _babel_locale(name)
    if locale is None:
        return None
    return _build(locale, name)


def _build(locale: Locale | str, name: str) -> Culture:
    loc = Locale.parse(locale) if isinstance(locale, str) else locale
    symbols = loc.number_symbols.get("latn", {})
    pattern = loc.decimal_formats.get(None)
    grouping = getattr(pattern, "grouping", (3, 3)) if pattern is not None else (3, 3)
    sizes = (grouping[0],) if grouping[0] == grouping[1] else (grouping[0], grouping[1])
    months_w = loc.months["format"]["wide"]
    months_a = loc.months["format"]["abbreviated"]
    days_w = loc.days["format"]["wide"]
    days_a = loc.days["format"]["abbreviated"]
    periods = loc.day_periods.get("format", {}).get("abbreviated", {})
    short = str(getattr(loc.date_formats.get("short"), "pattern", "M/d/yy"))
    day_first = 0 <= short.find("d") < short.find("M")
    # Babel numbers weekdays from Monday (0); .NET from Sunday.
    order = (6, 0, 1, 2, 3, 4, 5)
    return Culture(
        name=name,
        decimal=symbols.get("decimal", "."),
        group=symbols.get("group", ","),
        group_sizes=sizes,
        negative=symbols.get("minusSign", "-"),
        percent=symbols.get("percentSign", "%"),
        permille=symbols.get("perMille", "‰"),
        months=tuple(months_w[i] for i in range(1, 13)),
        months_abbr=tuple(months_a[i] for i in range(1, 13)),
        days=tuple(days_w[i] for i in order),
        days_abbr=tuple(days_a[i] for i in order),
        am=periods.get("am", "AM"),
        pm=periods.get("pm", "PM"),
        day_first=day_first,
    )


EN_US_READY = False
EN_US = _build("en_US", "en-US")
EN_US_READY = True
