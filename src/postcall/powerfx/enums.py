"""Built-in option sets (DateTimeFormat, ErrorKind, TimeUnit, StartOfWeek, Match...) as records."""

from __future__ import annotations

from postcall.powerfx.values import ERROR_KIND_NAMES, OptionValue, Record


def _option_set(name: str, members: dict[str, object]) -> Record:
    return Record({key: OptionValue(name, key, value) for key, value in members.items()})


def error_kind_option(kind_number: int) -> OptionValue:
    for name, kind in ERROR_KIND_NAMES.items():
        if kind.value == kind_number:
            return OptionValue("ErrorKind", name, float(kind.value))
    return OptionValue("ErrorKind", str(kind_number), float(kind_number))


DATETIME_FORMATS = {
    "LongDate": "'longdate'",
    "ShortDate": "'shortdate'",
    "LongTime": "'longtime'",
    "ShortTime": "'shorttime'",
    "LongTime24": "'longtime24'",
    "ShortTime24": "'shorttime24'",
    "LongDateTime": "'longdatetime'",
    "ShortDateTime": "'shortdatetime'",
    "LongDateTime24": "'longdatetime24'",
    "ShortDateTime24": "'shortdatetime24'",
    "UTC": "utc",
}

MATCH_PATTERNS = {
    "Any": ".",
    "Comma": ",",
    "Digit": r"\d",
    # Power Fx V1's definition: a local part without spaces or brackets, dotted domain labels
    # of letters and digits (any script).
    "Email": (
        r'(?:(?:[\{\}]|[^\s@<>,;:\\"\p{Pi}\p{Ps}\p{Pe}\p{Pf}])+@'
        r"(?:(?:[\-_\xb7\u05f3\u05f4\u0f0b\u30fb]|[^\s\p{P}<=>+\|])+\.)+"
        r"(?:[\-_\xb7\u05f3\u05f4\u0f0b\u30fb]|[^\s\p{P}<=>+\|])+)"
    ),
    "Hyphen": "-",
    "LeftParen": r"\(",
    "Letter": r"\p{L}",
    "MultipleDigits": r"\d+",
    "MultipleLetters": r"\p{L}+",
    "MultipleNonSpaces": r"\S+",
    "MultipleSpaces": r"\s+",
    "NonSpace": r"\S",
    "OptionalDigits": r"\d*",
    "OptionalLetters": r"\p{L}*",
    "OptionalNonSpaces": r"\S*",
    "OptionalSpaces": r"\s*",
    "Period": r"\.",
    "RightParen": r"\)",
    "Space": r"\s",
    "Tab": r"\t",
}

BUILTIN_ENUMS: dict[str, Record] = {
    "ErrorKind": Record(
        {name: OptionValue("ErrorKind", name, float(kind.value)) for name, kind in ERROR_KIND_NAMES.items()}
    ),
    "DateTimeFormat": _option_set("DateTimeFormat", dict(DATETIME_FORMATS)),
    "TimeUnit": _option_set(
        "TimeUnit",
        {
            "Milliseconds": "milliseconds",
            "Seconds": "seconds",
            "Minutes": "minutes",
            "Hours": "hours",
            "Days": "days",
            "Months": "months",
            "Quarters": "quarters",
            "Years": "years",
        },
    ),
    "StartOfWeek": _option_set(
        "StartOfWeek",
        {
            "Sunday": 1.0,
            "Monday": 2.0,
            "MondayZero": 3.0,
            "Tuesday": 12.0,
            "Wednesday": 13.0,
            "Thursday": 14.0,
            "Friday": 15.0,
            "Saturday": 16.0,
        },
    ),
    "Match": _option_set("Match", dict(MATCH_PATTERNS)),
    "MatchOptions": _option_set(
        "MatchOptions",
        {
            "BeginsWith": "^c",
            "Complete": "^c$",
            "Contains": "c",
            "EndsWith": "c$",
            "IgnoreCase": "i",
            "Multiline": "m",
            "FreeSpacing": "x",
            "DotAll": "s",
            "NumberedSubMatches": "N",
        },
    ),
    "SortOrder": _option_set("SortOrder", {"Ascending": "ascending", "Descending": "descending"}),
    "JSONFormat": _option_set(
        "JSONFormat",
        {
            "Compact": "_",
            "IndentFour": "4",
            "IgnoreBinaryData": "G",
            "IncludeBinaryData": "B",
            "IgnoreUnsupportedTypes": "I",
            "FlattenValueTables": "_",
        },
    ),
}
