"""Power Fx runtime values: the Python types that stand for Blank, numbers, text, records, tables.

Value model (see docs/powerfx.md):

* Blank    -> ``None``
* Boolean  -> ``bool``
* Number   -> ``float`` (Float; ints given by callers are accepted and treated as numbers)
  or ``decimal.Decimal`` (Decimal, .NET's range and precision; see postcall.powerfx.numbers)
* Text     -> ``str``
* Date     -> ``datetime.date``; DateTime -> naive ``datetime.datetime`` (local time of the context)
* Time     -> ``datetime.timedelta`` (time of day, may exceed a day)
* Record   -> :class:`Record` (immutable mapping of field name to value)
* Table    -> :class:`Table` (immutable sequence of rows; a row is a Record, Blank or an ErrorValue)
* option   -> :class:`OptionValue` (``DateTimeFormat.UTC``, ``ErrorKind.Div0``...)
* error    -> :class:`ErrorValue` (``kind``, ``message``, ``span``)
* untyped  -> :class:`UntypedObject` (what ParseJSON returns)
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from postcall.diagnostics import SourceSpan


# The Python types of Power Fx numbers: Float (float; int from callers) and Decimal.
NUMBER_TYPES = (int, float, decimal.Decimal)


class ErrorKind(enum.IntEnum):
    """Microsoft's ErrorKind option set, with its numeric values."""

    NONE = 0
    Sync = 1
    MissingRequired = 2
    CreatePermission = 3
    EditPermissions = 4
    DeletePermissions = 5
    Conflict = 6
    NotFound = 7
    ConstraintViolated = 8
    GeneratedValue = 9
    ReadOnlyValue = 10
    Validation = 11
    Unknown = 12
    Div0 = 13
    BadLanguageCode = 14
    BadRegex = 15
    InvalidFunctionUsage = 16
    FileNotFound = 17
    AnalysisError = 18
    ReadPermission = 19
    NotSupported = 20
    InsufficientMemory = 21
    QuotaExceeded = 22
    Network = 23
    Numeric = 24
    InvalidArgument = 25
    Internal = 26
    NotApplicable = 27
    Timeout = 28
    ServiceUnavailable = 29
    InvalidJSON = 30
    Custom = 1000


ERROR_KIND_NAMES: dict[str, ErrorKind] = {
    ("None" if k is ErrorKind.NONE else k.name): k for k in ErrorKind
}


class ErrorValue:
    """A Power Fx runtime error, carried as a value (errors flow through formulas)."""

    __slots__ = ("kind", "message", "span", "others")

    def __init__(
        self,
        kind: ErrorKind,
        message: str = "",
        span: SourceSpan | None = None,
        others: tuple[ErrorValue, ...] = (),
    ) -> None:
        self.kind = kind
        self.message = message
        self.span = span
        self.others = others

    @staticmethod
    def merge(errors: list[ErrorValue]) -> ErrorValue:
        """One error value carrying several errors (as Power Fx aggregates them)."""
        flat = [e for err in errors for e in err.all()]
        first = flat[0]
        return ErrorValue(first.kind, first.message, first.span, tuple(flat[1:]))

    def all(self) -> tuple[ErrorValue, ...]:
        """This error and the errors aggregated with it."""
        return (self, *self.others)

    def __repr__(self) -> str:
        return f"ErrorValue({self.kind.name}, {self.message!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ErrorValue) and other.kind == self.kind

    def __hash__(self) -> int:
        return hash(self.kind)


class OptionValue:
    """A member of an option set (enum), e.g. ``DateTimeFormat.UTC``; ``value`` is its logical value."""

    __slots__ = ("option_set", "name", "value")

    def __init__(self, option_set: str, name: str, value: object) -> None:
        self.option_set = option_set
        self.name = name
        self.value = value

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, OptionValue)
            and other.option_set == self.option_set
            and other.name == self.name
        )

    def __hash__(self) -> int:
        return hash((self.option_set, self.name))

    def __repr__(self) -> str:
        return f"{self.option_set}.{self.name}"


class Record(Mapping[str, "Value"]):
    """An immutable Power Fx record: field name (case-sensitive) to value."""

    __slots__ = ("_fields", "_hash")

    def __init__(self, fields: Mapping[str, Value] | Iterable[tuple[str, Value]] = ()) -> None:
        self._fields: dict[str, Value] = dict(fields)
        self._hash: int | None = None

    @property
    def fields(self) -> dict[str, Value]:
        """The underlying dict (do not mutate)."""
        return self._fields

    def __getitem__(self, key: str) -> Value:
        return self._fields[key]

    def get_field(self, key: str) -> Value:
        return self._fields.get(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        return f"Record({self._fields!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Record):
            return self._fields == other._fields
        return NotImplemented

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(tuple(sorted(self._fields)))
        return self._hash

    def with_fields(self, **updates: Value) -> Record:
        merged = dict(self._fields)
        merged.update(updates)
        return Record(merged)


class Table(Sequence["Value"]):
    """An immutable Power Fx table: rows (Record, Blank or ErrorValue) and known column names."""

    __slots__ = ("rows", "columns")

    def __init__(self, rows: Iterable[Value] = (), columns: Sequence[str] | None = None) -> None:
        self.rows: tuple[Value, ...] = tuple(rows)
        if columns is None:
            seen: dict[str, None] = {}
            for row in self.rows:
                if isinstance(row, Record):
                    for name in row:
                        seen.setdefault(name, None)
            columns = tuple(seen)
        self.columns: tuple[str, ...] = tuple(columns)

    @classmethod
    def of_values(cls, values: Iterable[Value], column: str = "Value") -> Table:
        """A single-column table (field ``Value`` by default)."""
        return cls((Record({column: v}) for v in values), (column,))

    def __getitem__(self, index: int) -> Value:  # type: ignore[override]
        return self.rows[index]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Value]:
        return iter(self.rows)

    def __repr__(self) -> str:
        return f"Table({list(self.rows)!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Table):
            return self.rows == other.rows
        return NotImplemented

    def __hash__(self) -> int:
        return hash(len(self.rows))


class UntypedObject:
    """What ParseJSON returns: a JSON value whose type is decided where it is used."""

    __slots__ = ("raw",)

    def __init__(self, raw: object) -> None:
        self.raw = raw

    def __repr__(self) -> str:
        return f"UntypedObject({self.raw!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UntypedObject) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash(repr(self.raw))


Value: TypeAlias = (
    None
    | bool
    | float
    | decimal.Decimal
    | int
    | str
    | dt.date
    | dt.datetime
    | dt.timedelta
    | Record
    | Table
    | OptionValue
    | ErrorValue
    | UntypedObject
)

EPOCH = dt.datetime(1899, 12, 30)


def type_name(value: Value) -> str:
    """The Power Fx type name of a value, for messages."""
    if value is None:
        return "Blank"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, decimal.Decimal):
        return "Decimal"
    if isinstance(value, NUMBER_TYPES):
        return "Number"
    if isinstance(value, str):
        return "Text"
    if isinstance(value, dt.datetime):
        return "DateTime"
    if isinstance(value, dt.date):
        return "Date"
    if isinstance(value, dt.timedelta):
        return "Time"
    if isinstance(value, Record):
        return "Record"
    if isinstance(value, Table):
        return "Table"
    if isinstance(value, OptionValue):
        return value.option_set
    if isinstance(value, ErrorValue):
        return "Error"
    return "UntypedObject"


def format_number(value: float | decimal.Decimal) -> str:
    """Power Fx's default text of a number: up to 15 significant digits, no exponent if avoidable."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, decimal.Decimal):
        from postcall.powerfx.numbers import format_decimal

        return format_decimal(value)
    if math.isnan(value) or math.isinf(value):
        return "NaN" if math.isnan(value) else ("∞" if value > 0 else "-∞")
    if value == 0:
        return "0"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    text = f"{value:.15g}"
    if "e" in text:
        mantissa, exp = text.split("e")
        exponent = int(exp)
        if -20 < exponent < 0:
            digits = f"{abs(value):.{min(15 - exponent, 28)}f}".rstrip("0").rstrip(".")
            # Keep 15 significant digits.
            return ("-" if value < 0 else "") + _trim_sig(digits, 15)
        if 0 <= exponent < 28:
            return f"{value:.0f}"
        return f"{mantissa}E{'+' if exponent > 0 else '-'}{abs(exponent)}"
    return text


def _trim_sig(digits: str, sig: int) -> str:
    count = 0
    out = []
    started = False
    for ch in digits:
        if ch.isdigit():
            if ch != "0":
                started = True
            if started:
                count += 1
                if count > sig:
                    break
        out.append(ch)
    return "".join(out).rstrip("0").rstrip(".") if "." in "".join(out) else "".join(out)


def format_time(value: dt.timedelta) -> str:
    total_ms = round(value.total_seconds() * 1000)
    sign = "-" if total_ms < 0 else ""
    total_ms = abs(total_ms)
    hours, rem = divmod(total_ms, 3_600_000)
    minutes, rem = divmod(rem, 60_000)
    seconds, ms = divmod(rem, 1000)
    return f"{sign}{hours % 24 if hours >= 24 else hours:02d}:{minutes:02d}:{seconds:02d}" + (
        f".{ms:03d}" if ms else ""
    )
