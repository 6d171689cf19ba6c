"""Helpers shared by the function modules: argument coercion and row scopes."""

from __future__ import annotations

from collections.abc import Iterator

from postcall.powerfx.coerce import to_boolean, to_number, to_text
from postcall.powerfx.functions.registry import CallSite, Fn
from postcall.powerfx.runtime import Frame, RowScope
from postcall.powerfx.values import ErrorKind, ErrorValue, Record, Table, UntypedObject, Value


def num(value: Value) -> float | ErrorValue:
    return to_number(value)


def text(value: Value) -> str | ErrorValue:
    return to_text(value)


def boolean(value: Value) -> bool | ErrorValue:
    return to_boolean(value)


def as_table(site: CallSite, value: Value) -> Table | ErrorValue:
    if isinstance(value, Table):
        return value
    if isinstance(value, ErrorValue):
        return value
    if value is None:
        return Table()
    if isinstance(value, UntypedObject) and isinstance(value.raw, list):
        # Rows of an untyped array are the untyped elements themselves (ThisRecord is the element).
        return Table([UntypedObject(v) for v in value.raw], ("Value",))
    return site.invalid("the argument must be a table.")


def eval_in_row(
    frame: Frame, row: Value, alias: str | None, fn: Fn, columns: tuple[str, ...] = ()
) -> Value:
    """Evaluate `fn` with `row`'s fields in scope (ThisRecord, or `alias` given with As).

    `columns` are the table's column names: in a Blank row they read as Blank, in an error row
    as the error.
    """
    frame.rows.append(RowScope(row, alias, columns))
    try:
        return fn(frame)
    finally:
        frame.rows.pop()


def iter_rows(frame: Frame, table: Table) -> Iterator[Value]:
    """Rows of a table, counting each against the evaluation's row budget."""
    for row in table.rows:
        frame.visit()
        yield row


def check_rows(frame: Frame, site: CallSite, count: int) -> ErrorValue | None:
    limit = frame.ctx.limits.max_table_rows
    if count > limit:
        return site.error(ErrorKind.InvalidArgument, f"{site.name}: the table would have {count} rows (limit {limit}).")
    return None


def check_text(frame: Frame, site: CallSite, value: str) -> Value:
    limit = frame.ctx.limits.max_text_length
    if len(value) > limit:
        return site.error(ErrorKind.InvalidArgument, f"{site.name}: the text would be {len(value)} characters long (limit {limit}).")
    return value


def text_room(frame: Frame, site: CallSite, size: int) -> ErrorValue | None:
    """An error when a text of `size` characters would pass the limit: asked BEFORE building it,
    so that a formula cannot make the runtime allocate far more than the limit (issue 16)."""
    limit = frame.ctx.limits.max_text_length
    if size > limit:
        return site.error(ErrorKind.InvalidArgument, f"{site.name}: the text would be {size} characters long (limit {limit}).")
    return None


class TableText:
    """The text a table being built holds in all its rows, checked as each row is added.

    Each value is held to `max_text_length`; together a table's rows may hold ten times that,
    so that `ForAll(Sequence(100000), Rept("a", 999999))` stops after ten rows, not 100 GB.
    """

    def __init__(self, frame: Frame, site: CallSite) -> None:
        self.site = site
        self.limit = frame.ctx.limits.max_text_length * 10
        self.size = 0

    def add(self, value: Value) -> ErrorValue | None:
        self.size += _text_size(value)
        if self.size > self.limit:
            return self.site.error(
                ErrorKind.InvalidArgument,
                f"{self.site.name}: the table's rows would hold more than {self.limit} characters of text.",
            )
        return None


def _text_size(value: Value) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, Record):
        return sum(_text_size(v) for v in value.values())
    if isinstance(value, Table):
        return sum(_text_size(r) for r in value.rows)
    return 0


def single_column(table: Table) -> str | None:
    return table.columns[0] if len(table.columns) == 1 else None


def row_value(table: Table, row: Value) -> Value:
    """The value of a single-column table's row."""
    if isinstance(row, Record):
        column = single_column(table)
        if column is not None:
            return row.get_field(column)
        return row
    return row


def integer(value: float) -> int:
    return int(value)
