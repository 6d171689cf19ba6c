"""Option sets (enums): the built-in ones (StartOfWeek, TimeUnit, Match, Color, ErrorKind...)
and any a host adds (Copilot Studio's closed lists, Dataverse choices), as ONE model.

An :class:`OptionSet` names its members, their backing values (text, number, Boolean or
Color; none for a set whose members are only names) and the four permissions that decide
how strongly typed its values are (Power Fx V1's StronglyTypedBuiltinEnums):

* ``coerce_from_backing``: a backing value may stand where the enum is expected
  (``Match( x, "\\d+" )``, ``Text( d, "yyyy" )``);
* ``coerce_to_backing``: a member may stand where its backing kind is expected
  (``ErrorKind.Div0 + 0``, ``ColorFade( Color.Red, 10% )``);
* ``concatenate``: ``&`` of members (text sets only) makes a member of the same set
  (``JSONFormat.IndentFour & JSONFormat.IgnoreBinaryData``);
* ``compare_numeric``: members order with ``<`` and compare with numbers (ErrorKind).

Every member may be used as text (its text value, else its name); members of one set compare
with ``=``/``<>``.  The compiler resolves ``Set.Member`` to a constant and checks these rules
(static.py); with StronglyTypedBuiltinEnums off (:meth:`OptionSet.loose`) a member is simply
its backing value, as before Power Fx V1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from postcall.powerfx.colors import NAMED_COLORS
from postcall.powerfx.values import CALCULATED, ERROR_KIND_NAMES, Color, OptionValue, Record, Value

BACKING_KINDS = ("Text", "Number", "Boolean", "Color")


class OptionSet:
    """One option set: its members and what its values may be used as (module docstring)."""

    __slots__ = (
        "name", "backing", "members", "display_names", "coerce_from_backing", "coerce_to_backing",
        "concatenate", "compare_numeric", "strict", "enum", "_record", "_loose", "_logical",
    )

    def __init__(
        self,
        name: str,
        backing: str,
        members: Mapping[str, object] | Iterable[tuple[str, object]],
        *,
        display_names: Mapping[str, str] | None = None,
        coerce_from_backing: bool = False,
        coerce_to_backing: bool = False,
        concatenate: bool = False,
        compare_numeric: bool = False,
        strict: bool = True,
        enum: bool = False,
    ) -> None:
        if backing not in BACKING_KINDS:
            raise ValueError(f"option set {name!r}: backing kind must be one of {BACKING_KINDS}, not {backing!r}")
        if concatenate and backing != "Text":
            raise ValueError(f"option set {name!r}: only text option sets concatenate")
        if compare_numeric and backing != "Number":
            raise ValueError(f"option set {name!r}: only number option sets compare numerically")
        self.name = name
        self.backing = backing
        items = members.items() if isinstance(members, Mapping) else members
        self.members: dict[str, object] = {key: _backing_value(backing, value) for key, value in items}
        self.display_names: dict[str, str] = dict(display_names or {})
        self._logical: dict[str, str] = {display: logical for logical, display in self.display_names.items()}
        for logical in self.members:
            self._logical[logical] = logical
        self.coerce_from_backing = coerce_from_backing
        self.coerce_to_backing = coerce_to_backing
        self.concatenate = concatenate
        self.compare_numeric = compare_numeric
        self.strict = strict
        # An enum (Power Fx's own, or one a host adds to its enum store) follows the
        # StronglyTypedBuiltinEnums switch; a host's option set (a Dataverse choice, a closed
        # list) is strongly typed whatever the switch.
        self.enum = enum
        self._record: Record | None = None
        self._loose: OptionSet | None = None

    def __repr__(self) -> str:
        return f"OptionSet({self.name!r}, {self.backing})"

    @property
    def names(self) -> tuple[str, ...]:
        """Every name a member is reached by: logical names, then display names."""
        return tuple(self._logical)

    def member(self, name: str) -> OptionValue | None:
        """The member a logical or display name names (`OptionSet.option_1`, `OptionSet.Option1`)."""
        logical = self._logical.get(name)
        if logical is None:
            return None
        return OptionValue(self.name, logical, self.members[logical], self.display_names.get(logical))

    def record(self) -> Record:
        """The set as a record of its members (what the bare name `StartOfWeek` reads as)."""
        if self._record is None:
            fields: dict[str, Value] = {}
            for key in self._logical:
                fields[key] = self.member(key)
            self._record = Record(fields)
        return self._record

    def calculated(self, value: Value) -> OptionValue:
        """A value of this set made by a formula (`Match.Digit & "-"`, text coerced to it); a
        Boolean set's true or false is its member of that value (Yes/No)."""
        if self.backing == "Boolean":
            for name, member_value in self.members.items():
                if member_value is value:
                    return OptionValue(self.name, name, member_value, self.display_names.get(name))
        return OptionValue(self.name, CALCULATED, value)

    def loose(self) -> OptionSet:
        """This set as Power Fx had it before strongly typed enums: every coercion allowed."""
        if not self.strict:
            return self
        if self._loose is None:
            loose = OptionSet(
                self.name, self.backing, self.members.items(), display_names=self.display_names,
                coerce_from_backing=True, coerce_to_backing=True, concatenate=self.backing == "Text",
                compare_numeric=self.backing == "Number", strict=False, enum=True,
            )
            loose._record = self.record()
            self._loose = loose
        return self._loose

    def pre_v1(self) -> OptionSet:
        """A host's option set under pre-V1 rules: still its own type (members of two sets do not
        compare, arithmetic is refused), but a member may be used as its backing value."""
        if self.enum or not self.strict:
            return self.loose()
        if self._loose is None:
            relaxed = OptionSet(
                self.name, self.backing, self.members.items(), display_names=self.display_names,
                coerce_from_backing=self.coerce_from_backing, coerce_to_backing=True,
                concatenate=self.concatenate, compare_numeric=self.backing == "Number",
            )
            relaxed._record = self.record()
            self._loose = relaxed
        return self._loose

    @property
    def label(self) -> str:
        """The type's name in messages: `Enum (StartOfWeek)`."""
        return f"Enum ({self.name})"


def _backing_value(backing: str, value: object) -> object:
    if backing == "Number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if backing == "Color" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return Color.from_argb(int(value))
    return value


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

def _enum(
    name: str, backing: str, members: Mapping[str, object], *, coerce_from_backing: bool = False,
    coerce_to_backing: bool = False, concatenate: bool = False, compare_numeric: bool = False,
) -> OptionSet:
    return OptionSet(
        name, backing, members, coerce_from_backing=coerce_from_backing, coerce_to_backing=coerce_to_backing,
        concatenate=concatenate, compare_numeric=compare_numeric, enum=True,
    )


_BUILTINS = (
    _enum("Color", "Color", NAMED_COLORS, coerce_to_backing=True),
    _enum(
        "StartOfWeek", "Number",
        {"Sunday": 1, "Monday": 2, "MondayZero": 3, "Tuesday": 12, "Wednesday": 13, "Thursday": 14,
         "Friday": 15, "Saturday": 16},
    ),
    _enum("DateTimeFormat", "Text", DATETIME_FORMATS, coerce_from_backing=True),
    _enum(
        "TimeUnit", "Text",
        {"Years": "years", "Quarters": "quarters", "Months": "months", "Days": "days", "Hours": "hours",
         "Minutes": "minutes", "Seconds": "seconds", "Milliseconds": "milliseconds"},
    ),
    _enum("SortOrder", "Text", {"Ascending": "ascending", "Descending": "descending"}),
    _enum(
        "MatchOptions", "Text",
        {"BeginsWith": "^c", "EndsWith": "c$", "Complete": "^c$", "Contains": "c", "IgnoreCase": "i",
         "Multiline": "m", "FreeSpacing": "x", "DotAll": "s", "NumberedSubMatches": "N"},
        concatenate=True,
    ),
    _enum("Match", "Text", MATCH_PATTERNS, coerce_from_backing=True, concatenate=True),
    _enum(
        "ErrorKind", "Number", {name: kind.value for name, kind in ERROR_KIND_NAMES.items()},
        compare_numeric=True, coerce_to_backing=True,
    ),
    _enum(
        "JSONFormat", "Text",
        {"Compact": "", "IndentFour": "4", "IgnoreBinaryData": "G", "IncludeBinaryData": "B",
         "IgnoreUnsupportedTypes": "I", "FlattenValueTables": "_"},
        concatenate=True,
    ),
    _enum("JoinType", "Text", {"Inner": "inner", "Left": "left", "Right": "right", "Full": "full"}),
    _enum("TraceSeverity", "Number", {"Critical": -1, "Error": 0, "Warning": 1, "Information": 3}),
    _enum("TraceOptions", "Text", {"None": "none", "IgnoreUnsupportedTypes": "I"}, concatenate=True),
)

BUILTIN_OPTION_SETS: dict[str, OptionSet] = {s.name: s for s in _BUILTINS}

# The built-in sets as records of their members (what a bare `StartOfWeek` reads as at run time).
BUILTIN_ENUMS: dict[str, Record] = {name: s.record() for name, s in BUILTIN_OPTION_SETS.items()}
