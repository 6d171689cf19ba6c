"""Static types of Power Fx expressions, known at parse time where literals and functions tell them.

Variables (`Topic.x`, `Global.y`...) have type Unknown: they are checked at run time only.  The
static type decides the coercions Power Fx applies before evaluation (an `If` whose first result
is text turns its other results into text) and the type errors it reports at compile time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from postcall.powerfx.enums import OptionSet

SCALARS = ("Number", "Text", "Boolean", "Date", "DateTime", "Time")


@dataclass(frozen=True, slots=True)
class FxType:
    """`kind` is one of Number, Text, Boolean, Date, DateTime, Time, Color, Blank, Record, Table,
    Option, Dynamic (an untyped object), Error, Unknown (not known before run time), Void (no
    type).  An Option type names its set (`option_set`) and carries its definition (`enum`):
    the coercions it allows (enums.py)."""

    kind: str
    fields: tuple[tuple[str, FxType], ...] = ()
    option_set: str = ""
    enum: OptionSet | None = None

    def field(self, name: str) -> FxType | None:
        for key, value in self.fields:
            if key == name:
                return value
        return None

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.fields)

    @property
    def is_scalar(self) -> bool:
        return self.kind in SCALARS

    @property
    def is_aggregate(self) -> bool:
        return self.kind in ("Record", "Table")

    @property
    def is_open(self) -> bool:
        """Nothing is known (anything goes)."""
        return self.kind in ("Unknown", "Blank", "Error")

    def __str__(self) -> str:
        if self.kind in ("Record", "Table"):
            inner = ", ".join(f"{k}: {v}" for k, v in self.fields)
            return f"{self.kind}({inner})"
        if self.kind == "Option":
            return f"Enum ({self.option_set})"
        return self.kind


NUMBER = FxType("Number")
TEXT = FxType("Text")
BOOLEAN = FxType("Boolean")
DATE = FxType("Date")
DATETIME = FxType("DateTime")
TIME = FxType("Time")
COLOR = FxType("Color")
BLANK = FxType("Blank")
UNKNOWN = FxType("Unknown")
DYNAMIC = FxType("Dynamic")
ERROR = FxType("Error")
VOID = FxType("Void")


def record(fields: Mapping[str, FxType] | Iterable[tuple[str, FxType]]) -> FxType:
    items = fields.items() if isinstance(fields, Mapping) else fields
    return FxType("Record", tuple(sorted(items)))


def table(fields: Mapping[str, FxType] | Iterable[tuple[str, FxType]]) -> FxType:
    items = fields.items() if isinstance(fields, Mapping) else fields
    return FxType("Table", tuple(sorted(items)))


def single_column(of: FxType, name: str = "Value") -> FxType:
    return table({name: of})


def row_type(t: FxType) -> FxType:
    """The record type of a table type's rows."""
    if t.kind == "Table":
        return FxType("Record", t.fields)
    if t.kind == "Dynamic":
        return DYNAMIC
    return UNKNOWN


def as_table(t: FxType) -> FxType:
    if t.kind == "Record":
        return FxType("Table", t.fields)
    return t


def coercible(source: FxType, target: FxType) -> bool:
    """Can a value of `source` be used where `target` is expected (Power Fx's implicit coercions)?"""
    s, d = source.kind, target.kind
    if s in ("Unknown", "Blank", "Error") or d in ("Unknown", "Error", "Blank"):
        return True
    if s == d:
        return True
    if s == "Void" or d == "Void":
        return False
    if s == "Option" or d == "Option":
        return option_coercible(source, target)
    if s == "Color" or d == "Color":
        return s == "Dynamic"  # an untyped "#rrggbb[aa]" text is read as a color
    if s == "Dynamic":
        return d in SCALARS or d == "Dynamic"
    if d == "Dynamic":
        return False
    if s in SCALARS and d in SCALARS:
        if s == "Boolean" and d in ("Date", "DateTime", "Time"):
            return False
        if d == "Boolean" and s in ("Date", "DateTime", "Time"):
            return False
        return True
    return False


def option_coercible(source: FxType, target: FxType) -> bool:
    """Coercions to and from an option set's values (enums.py's permissions); a set without a
    definition (an option set only known by name) takes the permissive pre-V1 rules."""
    if source.kind == "Option" and target.kind == "Option":
        return source.option_set == target.option_set
    if source.kind == "Option":
        enum = source.enum
        if target.kind == "Text":
            return True  # every option set value may be used as text
        if enum is None:
            return target.kind in ("Number", "Boolean")
        return enum.coerce_to_backing and target.kind == enum.backing
    enum = target.enum
    if enum is None:
        return source.kind in ("Text", "Number")
    return enum.coerce_from_backing and source.kind == enum.backing


def union(a: FxType, b: FxType) -> FxType:
    """The type of a value that may come from `a` or `b` (records and tables merge their fields)."""
    if a.kind in ("Blank", "Error"):
        return b
    if b.kind in ("Blank", "Error"):
        return a
    if a.kind == "Unknown" or b.kind == "Unknown":
        return UNKNOWN
    if a.kind == b.kind and a.kind in ("Record", "Table"):
        merged: dict[str, FxType] = dict(a.fields)
        for key, value in b.fields:
            merged[key] = union(merged[key], value) if key in merged else value
        return FxType(a.kind, tuple(sorted(merged.items())))
    if a.kind == b.kind:
        return a
    return a if coercible(b, a) else VOID


def intersection(a: FxType, b: FxType) -> FxType:
    """Records (or tables) before the V1 rules: only the fields both have, with the same kind."""
    fields = []
    for key, value in a.fields:
        other = b.field(key)
        if other is None:
            continue
        if value.kind == other.kind or value.is_open or other.is_open:
            fields.append((key, value if not value.is_open else other))
    return FxType(a.kind, tuple(fields))


def aggregates_compatible(a: FxType, b: FxType) -> bool:
    """Records (or tables) whose common fields have compatible types."""
    if a.kind != b.kind:
        return False
    for key, value in b.fields:
        other = a.field(key)
        if other is None:
            continue
        if other.is_aggregate or value.is_aggregate:
            if other.is_aggregate and value.is_aggregate:
                if not aggregates_compatible(other, value):
                    return False
            elif not (other.is_open or value.is_open):
                return False
        elif not coercible(value, other):
            return False
    return True
