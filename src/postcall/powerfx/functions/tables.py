"""Table functions: Table, First/Last/FirstN/LastN, Index, CountRows, CountIf, Filter, LookUp, ForAll..."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from decimal import Decimal

from postcall.powerfx import numbers as nums
from postcall.powerfx.coerce import (
    coerce_to_kind,
    compare,
    equals,
    to_boolean,
    to_decimal,
    to_number,
    to_text,
)
from postcall.powerfx.functions.common import (
    TableText,
    as_table,
    check_rows,
    check_text,
    eval_in_row,
    iter_rows,
    text_room,
)
from postcall.powerfx.functions.registry import CallSite, Fn, eager, lazy
from postcall.powerfx.operators import numeric
from postcall.powerfx.runtime import Frame
from postcall.powerfx.values import (
    NUMBER_TYPES,
    ErrorKind,
    ErrorValue,
    OptionValue,
    Record,
    Table,
    UntypedObject,
    Value,
)


@eager("Table", 0, None, propagate=False)
def _table(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Table(record1, record2, ...) (tables given as arguments are merged row by row)."""
    rows: list[Value] = []
    for index, arg in enumerate(args):
        if site.arg_kind(index) == "Table" and (arg is None or isinstance(arg, ErrorValue)):
            if isinstance(arg, ErrorValue):
                return arg
            continue
        if isinstance(arg, Table):
            rows.extend(arg.rows)
        elif isinstance(arg, UntypedObject) and isinstance(arg.raw, list):
            rows.extend(Record({"Value": UntypedObject(v)}) for v in arg.raw)
        elif isinstance(arg, (Record, ErrorValue)) or arg is None:
            rows.append(arg)
        else:
            return site.invalid("each argument must be a record or a table.")
    err = check_rows(frame, site, len(rows))
    if err is not None:
        return err
    table = Table(rows)
    if not table.columns:
        return table
    # Every record gets the table's full schema (missing fields Blank), and each field is
    # coerced to the type its column has in the first argument that has it.
    kinds = site.column_kinds
    filled: list[Value] = []
    for row in table.rows:
        if isinstance(row, Record):
            filled.append(
                Record(
                    {
                        c: coerce_to_kind(kinds[c], row.get_field(c)) if c in kinds else row.get_field(c)
                        for c in table.columns
                    }
                )
            )
        else:
            filled.append(row)
    return Table(filled, table.columns)


def _table_arg(site: CallSite, value: Value) -> Table | ErrorValue:
    return as_table(site, value)


@eager("First", 1, 1)
def _first(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """First(table): the first record, or Blank."""
    table = _table_arg(site, args[0])
    if isinstance(table, ErrorValue):
        return table
    return table.rows[0] if table.rows else None


@eager("Last", 1, 1)
def _last(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Last(table): the last record, or Blank."""
    table = _table_arg(site, args[0])
    if isinstance(table, ErrorValue):
        return table
    return table.rows[-1] if table.rows else None


def _count_arg(value: Value, default: float = 1.0) -> int | ErrorValue:
    number = to_number(value) if value is not None else 0.0
    if isinstance(number, ErrorValue):
        return number
    if math.isnan(number) or math.isinf(number):
        return ErrorValue(ErrorKind.InvalidArgument, "The count is not a finite number.")
    return max(0, math.trunc(min(number, 2**31)))


@eager("FirstN", 1, 2)
def _first_n(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """FirstN(table, [count=1])"""
    if args[0] is None:
        return None
    table = _table_arg(site, args[0])
    if isinstance(table, ErrorValue):
        return table
    count = _count_arg(args[1]) if len(args) > 1 else 1
    if isinstance(count, ErrorValue):
        return count
    return Table(table.rows[:count], table.columns)


@eager("LastN", 1, 2)
def _last_n(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """LastN(table, [count=1])"""
    if args[0] is None:
        return None
    table = _table_arg(site, args[0])
    if isinstance(table, ErrorValue):
        return table
    count = _count_arg(args[1]) if len(args) > 1 else 1
    if isinstance(count, ErrorValue):
        return count
    return Table(table.rows[max(0, len(table.rows) - count) :] if count else (), table.columns)


@eager("Index", 2, 2)
def _index(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Index(table, n): the n-th record (1-based)."""
    if args[0] is None:
        return None
    table = _table_arg(site, args[0])
    if isinstance(table, ErrorValue):
        return table
    number = to_number(args[1])
    if isinstance(number, ErrorValue):
        return number
    if math.isnan(number) or math.isinf(number):
        return site.invalid("the index is not a finite number.")
    position = math.trunc(number)
    if position < 1 or position > len(table.rows):
        return site.invalid(f"the index {position} is out of range (1 to {len(table.rows)}).")
    return table.rows[position - 1]


@eager("CountRows", 1, 1)
def _count_rows(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """CountRows(table): an error row makes the count an error."""
    table = _table_arg(site, args[0])
    if isinstance(table, ErrorValue):
        return table
    for row in table.rows:
        if isinstance(row, ErrorValue):
            return row
    return float(len(table.rows))


def _single_values(table: Table) -> list[Value]:
    column = table.columns[0] if len(table.columns) == 1 else None
    out: list[Value] = []
    for row in table.rows:
        if isinstance(row, Record) and column is not None:
            out.append(row.get_field(column))
        else:
            out.append(row)
    return out


@eager("Count", 1, 1)
def _count(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Count(table): rows whose single column holds a number."""
    values = _counted_values(site, args[0])
    if isinstance(values, ErrorValue):
        return values
    return float(sum(1 for v in values if isinstance(v, NUMBER_TYPES) and not isinstance(v, bool)))


def _counted_values(site: CallSite, value: Value) -> list[Value] | ErrorValue:
    """The single column's values for Count/CountA; the first error (a row's or a value's) is
    the result, as Power Fx counts."""
    table = _table_arg(site, value)
    if isinstance(table, ErrorValue):
        return table
    values = _single_values(table)
    for v in values:
        if isinstance(v, ErrorValue):
            return v
    return values


@eager("CountA", 1, 1)
def _count_a(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """CountA(table): rows whose single column is not blank (with the V1 rules an empty text
    is not blank)."""
    values = _counted_values(site, args[0])
    if isinstance(values, ErrorValue):
        return values
    v1 = site.features.v1
    return float(sum(1 for v in values if v is not None and (v1 or v != "")))


def _predicate_loop(
    frame: Frame, site: CallSite, table: Table, alias: str | None, conditions: Sequence[Fn]
) -> list[Value] | ErrorValue:
    """Rows for which every condition holds (errors in conditions become error rows)."""
    kept: list[Value] = []
    for row in iter_rows(frame, table):
        ok = True
        for cond in conditions:
            flag = eval_in_row(frame, row, alias, cond, table.columns)
            if type(flag) is not bool:
                flag = to_boolean(flag)
            if isinstance(flag, ErrorValue):
                kept.append(row if isinstance(row, ErrorValue) else flag)
                ok = False
                break
            if not flag:
                ok = False
                break
        if ok:
            kept.append(row)
    return kept


@lazy("Filter", 2, None)
def _filter(site: CallSite, args: Sequence[Fn]) -> Fn:
    """Filter(table, condition1, [condition2, ...])"""
    source = args[0]
    conditions = list(args[1:])
    alias = site.aliases[0] if site.aliases else None

    def run(frame: Frame) -> Value:
        value = source(frame)
        if value is None:
            return None
        table = _table_arg(site, value)
        if isinstance(table, ErrorValue):
            return table
        kept = _predicate_loop(frame, site, table, alias, conditions)
        if isinstance(kept, ErrorValue):
            return kept
        return Table(kept, table.columns)

    return run


@lazy("CountIf", 2, None)
def _count_if(site: CallSite, args: Sequence[Fn]) -> Fn:
    """CountIf(table, condition1, [condition2, ...])"""
    source = args[0]
    conditions = list(args[1:])
    alias = site.aliases[0] if site.aliases else None

    def run(frame: Frame) -> Value:
        table = _table_arg(site, source(frame))
        if isinstance(table, ErrorValue):
            return table
        count = 0
        for row in iter_rows(frame, table):
            ok = True
            for cond in conditions:
                flag = eval_in_row(frame, row, alias, cond, table.columns)
                if type(flag) is not bool:
                    flag = to_boolean(flag)
                if isinstance(flag, ErrorValue):
                    return flag
                if not flag:
                    ok = False
                    break
            count += ok
        return float(count)

    return run


@lazy("LookUp", 2, 3)
def _lookup(site: CallSite, args: Sequence[Fn]) -> Fn:
    """LookUp(table, condition, [result]): the first matching record (or its result), else Blank."""
    source, condition = args[0], args[1]
    result = args[2] if len(args) > 2 else None
    alias = site.aliases[0] if site.aliases else None

    def run(frame: Frame) -> Value:
        table = _table_arg(site, source(frame))
        if isinstance(table, ErrorValue):
            return table
        for row in iter_rows(frame, table):
            flag = eval_in_row(frame, row, alias, condition, table.columns)
            if type(flag) is not bool:
                flag = to_boolean(flag)
            if isinstance(flag, ErrorValue):
                return flag
            if flag:
                return eval_in_row(frame, row, alias, result, table.columns) if result is not None else row
        return None

    return run


@lazy("ForAll", 2, 2)
def _for_all(site: CallSite, args: Sequence[Fn]) -> Fn:
    """ForAll(table, formula): a table of the formula's value for each record."""
    source, body = args
    alias = site.aliases[0] if site.aliases else None
    body_kind = site.arg_kind(1)

    def run(frame: Frame) -> Value:
        value = source(frame)
        if value is None or (isinstance(value, UntypedObject) and value.raw is None):
            return None
        table = _table_arg(site, value)
        if isinstance(table, ErrorValue):
            return table
        out: list[Value] = []
        held = TableText(frame, site)
        for row in iter_rows(frame, table):
            out.append(eval_in_row(frame, row, alias, body, table.columns))
            too_much = held.add(out[-1])
            if too_much is not None:
                return too_much
        errors = [v for v in out if isinstance(v, ErrorValue)]
        if errors and site.features.v1:
            # As Microsoft's interpreter: rows whose formula failed make ForAll that error
            # (every row's, aggregated); IfError inside the formula keeps a row.
            return ErrorValue.merge(errors)
        if body_kind == "Record":
            return Table(out)
        if out and all(isinstance(v, Record) or v is None or isinstance(v, ErrorValue) for v in out) and any(
            isinstance(v, Record) for v in out
        ):
            return Table(out)
        if all(v is None for v in out) and out:
            return Table.of_values(out)
        return Table.of_values(out)

    return run


@eager("Sequence", 1, 3)
def _sequence(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Sequence(count, [start=1], [step=1])"""
    numbers: list[float] = []
    for a in args:
        n = to_number(a)
        if isinstance(n, ErrorValue):
            return n
        numbers.append(n)
    count = numbers[0]
    start = numbers[1] if len(numbers) > 1 else 1.0
    step = numbers[2] if len(numbers) > 2 else 1.0
    if math.isnan(count) or count < 0:
        return site.invalid("the count must not be negative.")
    total = math.trunc(count)
    err = check_rows(frame, site, total)
    if err is not None:
        return err
    frame.visit(total)
    given = args[1:]
    if given and all(type(a) is not float for a in given) and (frame.decimal or any(type(a) is Decimal for a in given)):
        # Decimal start and step: each value exact, one beyond Decimal's range a Numeric error.
        first = to_decimal(given[0])
        by = to_decimal(given[1]) if len(given) > 1 else Decimal(1)
        if isinstance(first, ErrorValue) or isinstance(by, ErrorValue):
            return ErrorValue.merge([e for e in (first, by) if isinstance(e, ErrorValue)])
        return Table.of_values([_decimal_step(first, by, i) for i in range(total)])
    return Table.of_values([numeric(start + i * step) for i in range(total)])


def _decimal_step(first: Decimal, by: Decimal, index: int) -> Value:
    if index == 0:
        return first
    offset = nums.multiply(Decimal(index), by)
    return offset if isinstance(offset, ErrorValue) else nums.add(first, offset)


@lazy("Concat", 2, 3)
def _concat(site: CallSite, args: Sequence[Fn]) -> Fn:
    """Concat(table, formula, [separator])"""
    source, body = args[0], args[1]
    separator = args[2] if len(args) > 2 else None
    alias = site.aliases[0] if site.aliases else None

    def run(frame: Frame) -> Value:
        value = source(frame)
        if value is None:
            return None
        table = _table_arg(site, value)
        if isinstance(table, ErrorValue):
            return table
        sep: Value = separator(frame) if separator is not None else ""
        sep_text = to_text(sep)
        if isinstance(sep_text, ErrorValue):
            return sep_text
        parts: list[str] = []
        size = 0
        limit = frame.ctx.limits.max_text_length
        for row in iter_rows(frame, table):
            piece = to_text(eval_in_row(frame, row, alias, body, table.columns))
            if isinstance(piece, ErrorValue):
                return piece
            size += len(piece) + len(sep_text)
            if size > limit + len(sep_text):  # before keeping this piece
                return text_room(frame, site, size - len(sep_text)) or site.invalid("the text would be too long.")
            parts.append(piece)
        return check_text(frame, site, sep_text.join(parts))

    return run


def _sort_key(value: Value) -> tuple[int, object]:
    if value is None:
        return (0, 0)
    if isinstance(value, str):
        # Case-insensitive first; then, from the left, a lower-case letter before its capital
        # (hello < hellO < Hello), as .NET's culture-aware comparison orders text.
        return (2, (value.lower(), value.swapcase()))
    if isinstance(value, bool):
        return (1, float(value))
    number = to_number(value)
    if isinstance(number, ErrorValue):
        return (3, str(value))
    return (1, number)


def _ordered(keyed: list[tuple[tuple[int, object], Value]], descending: bool) -> list[Value]:
    """Rows by key, stable; Blank keys last in either direction, as Power Fx sorts."""
    present = [kv for kv in keyed if kv[0][0] != 0]
    present.sort(key=lambda kv: kv[0], reverse=descending)
    return [row for _, row in present] + [row for key, row in keyed if key[0] == 0]


def _direction(value: Value) -> bool | ErrorValue:
    """True for descending.  As Microsoft's interpreter (LibraryTable.cs), any order but
    "descending" (in any case) sorts ascending; with strongly typed enums only SortOrder members
    get this far."""
    if value is None:
        return False
    if isinstance(value, OptionValue):
        value = value.value  # type: ignore[assignment]
    text = to_text(value)
    if isinstance(text, ErrorValue):
        return text
    return text.lower() == "descending"


@lazy("Sort", 2, 3)
def _sort(site: CallSite, args: Sequence[Fn]) -> Fn:
    """Sort(table, formula, [SortOrder.Ascending])"""
    source, body = args[0], args[1]
    order = args[2] if len(args) > 2 else None
    alias = site.aliases[0] if site.aliases else None

    def run(frame: Frame) -> Value:
        table = _table_arg(site, source(frame))
        if isinstance(table, ErrorValue):
            return table
        descending = _direction(order(frame)) if order is not None else False
        if isinstance(descending, ErrorValue):
            return descending
        keyed: list[tuple[tuple[int, object], Value]] = []
        for row in iter_rows(frame, table):
            key = eval_in_row(frame, row, alias, body, table.columns)
            if isinstance(key, ErrorValue):
                return key
            keyed.append((_sort_key(key), row))
        return Table(_ordered(keyed, descending), table.columns)

    return run


@eager("SortByColumns", 2, None)
def _sort_by_columns(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """SortByColumns(table, column, [order], [column2, order2]...)"""
    if args[0] is None:
        return None
    table = _table_arg(site, args[0])
    if isinstance(table, ErrorValue):
        return table
    rest = args[1:]
    if len(rest) == 2 and isinstance(rest[1], Table):
        return _sort_by_order_table(site, table, rest[0], rest[1])
    specs: list[tuple[str, bool]] = []
    i = 0
    while i < len(rest):
        name = to_text(rest[i])
        if isinstance(name, ErrorValue):
            return name
        descending: bool | ErrorValue = False
        if i + 1 < len(rest):
            descending = _direction(rest[i + 1])
            if isinstance(descending, ErrorValue):
                return descending
        if table.columns and name not in table.columns:
            return site.error(ErrorKind.InvalidFunctionUsage, f"SortByColumns: the table has no column {name!r}.")
        specs.append((name, bool(descending)))
        i += 2
    rows = list(table.rows)
    frame.visit(len(rows))
    for name, descending in reversed(specs):
        values = [r.get_field(name) if isinstance(r, Record) else r for r in rows]
        bad = next((v for v in values if isinstance(v, ErrorValue)), None)
        if bad is not None:
            return bad
        rows = _ordered([(_sort_key(v), r) for v, r in zip(values, rows, strict=True)], descending)
    return Table(rows, table.columns)


def _sort_by_order_table(site: CallSite, table: Table, column: Value, order: Table) -> Value:
    """SortByColumns(table, column, order_table): rows in the order their value has in the
    one-column order table; values not in it keep their order after the listed ones."""
    name = to_text(column)
    if isinstance(name, ErrorValue):
        return name
    if table.columns and name not in table.columns:
        return site.error(ErrorKind.InvalidFunctionUsage, f"SortByColumns: the table has no column {name!r}.")
    wanted: list[Value] = []
    for row in order.rows:
        if isinstance(row, ErrorValue):
            return row
        value = row.get_field(order.columns[0]) if isinstance(row, Record) and order.columns else row
        if isinstance(value, ErrorValue):
            return value
        if any(equals(value, seen) is True for seen in wanted):
            return site.invalid(f"the order table lists {value!r} twice.")
        wanted.append(value)

    for row in table.rows:
        if isinstance(row, ErrorValue):
            return row
        if isinstance(row, Record) and isinstance(row.get_field(name), ErrorValue):
            return row.get_field(name)

    def position(row: Value) -> int:
        value = row.get_field(name) if isinstance(row, Record) else None
        if value is None:  # Blank matches nothing in the order table
            return len(wanted)
        for index, candidate in enumerate(wanted):
            if equals(value, candidate) is True:
                return index
        return len(wanted)

    return Table(sorted(table.rows, key=position), table.columns)


@lazy("Distinct", 2, 2)
def _distinct(site: CallSite, args: Sequence[Fn]) -> Fn:
    """Distinct(table, formula): a one-column table of the distinct results."""
    source, body = args
    alias = site.aliases[0] if site.aliases else None

    def run(frame: Frame) -> Value:
        value = source(frame)
        if value is None and site.arg_kind(0) == "Table":
            return None  # a Blank table gives Blank
        table = _table_arg(site, value)
        if isinstance(table, ErrorValue):
            return table
        out: list[Value] = []
        for row in iter_rows(frame, table):
            value = eval_in_row(frame, row, alias, body, table.columns)
            if isinstance(value, ErrorValue):
                return value
            if isinstance(value, (Record, Table)):
                return site.invalid("the formula must give a single value, not a record or a table.")
            if not any(equals(value, seen) is True for seen in out):
                out.append(value)
        return Table.of_values(out)

    return run


def _column_names(args: list[Value]) -> list[str] | ErrorValue:
    names: list[str] = []
    for a in args:
        name = to_text(a)
        if isinstance(name, ErrorValue):
            return name
        names.append(name)
    return names


def _reshape(site: CallSite, source: Value, row: Callable[[Record], Record], columns: Callable[[list[str]], list[str]]) -> Value:
    """Apply a column change to a record, or to every record of a table."""
    if isinstance(source, Record):
        return row(source)
    if source is None:
        return None
    table = _table_arg(site, source)
    if isinstance(table, ErrorValue):
        return table
    return Table([row(r) if isinstance(r, Record) else r for r in table.rows], columns(list(table.columns)))


@eager("ShowColumns", 2, None)
def _show_columns(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """ShowColumns(table or record, column1, ...): only these columns."""
    names = _column_names(args[1:])
    if isinstance(names, ErrorValue):
        return names
    return _reshape(site, args[0], lambda r: Record({n: r.get_field(n) for n in names}), lambda cols: names)


@eager("DropColumns", 2, None)
def _drop_columns(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """DropColumns(table or record, column1, ...): without these columns."""
    names = _column_names(args[1:])
    if isinstance(names, ErrorValue):
        return names
    drop = set(names)
    return _reshape(
        site, args[0], lambda r: Record({k: r[k] for k in r if k not in drop}), lambda cols: [c for c in cols if c not in drop]
    )


@eager("RenameColumns", 3, None)
def _rename_columns(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """RenameColumns(table or record, old1, new1, ...)"""
    names = _column_names(args[1:])
    if isinstance(names, ErrorValue):
        return names
    if len(names) % 2:
        return site.invalid("needs pairs of old and new column names.")
    mapping = dict(zip(names[::2], names[1::2], strict=True))
    return _reshape(
        site, args[0], lambda r: Record({mapping.get(k, k): r[k] for k in r}), lambda cols: [mapping.get(c, c) for c in cols]
    )


@eager("Search", 3, None)
def _search(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Search(table, text, column1, ...): rows where any of the columns contains the text (any case)."""
    if args[0] is None:
        return None
    table = _table_arg(site, args[0])
    if isinstance(table, ErrorValue):
        return table
    needle = to_text(args[1])
    if isinstance(needle, ErrorValue):
        return needle
    names = _column_names(args[2:])
    if isinstance(names, ErrorValue):
        return names
    if needle == "":
        return table
    wanted = needle.lower()
    out: list[Value] = []
    for row in iter_rows(frame, table):
        if not isinstance(row, Record):
            continue
        for name in names:
            value = row.get_field(name)
            if isinstance(value, ErrorValue):
                return value
            text = to_text(value)
            if isinstance(text, ErrorValue):
                return text
            if wanted in text.lower():
                out.append(row)
                break
    return Table(out, table.columns)


@lazy("AddColumns", 3, None)
def _add_columns(site: CallSite, args: Sequence[Fn]) -> Fn:
    """AddColumns(table, name, formula, [name2, formula2, ...])"""
    source = args[0]
    pairs = [(args[i], args[i + 1]) for i in range(1, len(args) - 1, 2)]
    alias = site.aliases[0] if site.aliases else None

    def run(frame: Frame) -> Value:
        value = source(frame)
        if value is None:  # a Blank table or record gives Blank
            return None
        if isinstance(value, Record):  # a record gets the columns itself
            added = run_on(frame, Table([value], tuple(value)))
            return added.rows[0] if isinstance(added, Table) and added.rows else added
        return run_on(frame, value)

    def run_on(frame: Frame, value: Value) -> Value:
        table = _table_arg(site, value)
        if isinstance(table, ErrorValue):
            return table
        names: list[str] = []
        for name_fn, _ in pairs:
            name = to_text(name_fn(frame))
            if isinstance(name, ErrorValue):
                return name
            names.append(name)
        out: list[Value] = []
        for row in iter_rows(frame, table):
            if not isinstance(row, Record):
                out.append(row)
                continue
            fields = dict(row.fields)
            for name, (_, fn) in zip(names, pairs, strict=True):
                fields[name] = eval_in_row(frame, row, alias, fn, table.columns)
            out.append(Record(fields))
        return Table(out, tuple(table.columns) + tuple(n for n in names if n not in table.columns))

    return run


__all__ = ["compare", "UntypedObject"]
