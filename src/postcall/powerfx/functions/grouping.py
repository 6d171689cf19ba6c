"""Summarize: rows grouped by key columns, with aggregates over each group's `ThisGroup`.

`Summarize(table, column, ..., formula As name, ...)`: one row per distinct combination of the
grouping columns, in the order the combinations first appear; each aggregate formula runs once
per group in a row scope holding the group's key columns and `ThisGroup` (the group's rows, in
their order).  The compiler checks the shape (postcall.powerfx.static.check_summarize).
"""

from __future__ import annotations

from collections.abc import Sequence

from postcall.powerfx.coerce import equals, to_text
from postcall.powerfx.functions.common import as_table, eval_in_row, iter_rows
from postcall.powerfx.functions.registry import CallSite, Fn, lazy
from postcall.powerfx.runtime import Frame
from postcall.powerfx.values import ErrorValue, Record, Table, Value


@lazy("Summarize", 2, None)
def _summarize(site: CallSite, args: Sequence[Fn]) -> Fn:
    """Summarize(table, column, ..., formula As name, ...)"""
    source = args[0]
    # Grouping columns are the arguments without `As`; the others are named aggregates.
    aliases = [site.aliases[i] if i < len(site.aliases) else None for i in range(len(args))]
    group_fns = [args[i] for i in range(1, len(args)) if aliases[i] is None]
    aggregates = [(str(aliases[i]), args[i]) for i in range(1, len(args)) if aliases[i] is not None]

    def run(frame: Frame) -> Value:
        table = as_table(site, source(frame))
        if isinstance(table, ErrorValue):
            return table
        keys: list[str] = []
        for fn in group_fns:
            name = to_text(fn(frame))
            if isinstance(name, ErrorValue):
                return name
            keys.append(name)
        groups: list[tuple[list[Value], list[Value]]] = []  # (key values, rows)
        for row in iter_rows(frame, table):
            if isinstance(row, ErrorValue):
                return row
            if not isinstance(row, Record):
                continue
            values = [row.get_field(k) for k in keys]
            for key_values, rows in groups:
                if all(_same(a, b) for a, b in zip(key_values, values, strict=True)):
                    rows.append(row)
                    break
            else:
                groups.append((values, [row]))
        out: list[Value] = []
        columns = tuple(keys) + tuple(name for name, _ in aggregates)
        for key_values, rows in groups:
            fields = dict(zip(keys, key_values, strict=True))
            scope = Record({**fields, "ThisGroup": Table(rows, table.columns)})
            for name, fn in aggregates:
                fields[name] = eval_in_row(frame, scope, None, fn, tuple(scope))
            out.append(Record(fields))
        return Table(out, columns)

    return run


def _same(a: Value, b: Value) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return type(a) is type(b) and equals(a, b) is True


@lazy("Join", 5, None)
def _join(site: CallSite, args: Sequence[Fn]) -> Fn:
    """Join(left, right, predicate, JoinType, RightRecord.col As name, ...)

    Each pair of rows for which the predicate holds gives the left row's columns plus the named
    columns (a `LeftRecord.col As name` renames a left column).  Left/Right/Full joins add the
    unmatched rows with Blank for the other side.  An error row, or an error in the predicate,
    gives an error row.  `LeftRecord`/`RightRecord` are the rows, or the names the tables are
    given with `As`."""
    left_name = site.aliases[0] if site.aliases and site.aliases[0] else "LeftRecord"
    right_name = site.aliases[1] if len(site.aliases) > 1 and site.aliases[1] else "RightRecord"
    outputs = [(str(site.aliases[i]), args[i], site.join_sources[i - 4]) for i in range(4, len(args))]
    renamed_left = {src for _, _, (side, src) in outputs if side == "left"}

    def row_of(frame: Frame, left: Value, right: Value) -> Value:
        scope = Record({left_name: left, right_name: right})
        fields = {k: v for k, v in left.fields.items() if k not in renamed_left} if isinstance(left, Record) else {}
        for name, fn, _ in outputs:
            fields[name] = eval_in_row(frame, scope, None, fn, tuple(scope))
        return Record(fields)

    def run(frame: Frame) -> Value:
        left_value, right_value = args[0](frame), args[1](frame)
        for value in (left_value, right_value):
            if isinstance(value, ErrorValue):
                return value
        if left_value is None or right_value is None:
            return None
        kind = args[3](frame)
        how = str(getattr(kind, "name", kind)).lower()
        left_rows = as_table(site, left_value)
        right_rows = as_table(site, right_value)
        if isinstance(left_rows, ErrorValue):
            return left_rows
        if isinstance(right_rows, ErrorValue):
            return right_rows
        out: list[Value] = []
        matched_right: set[int] = set()
        for lrow in iter_rows(frame, left_rows):
            if lrow is None:
                continue
            if isinstance(lrow, ErrorValue):
                out.append(lrow)
                continue
            emitted = False
            for index, rrow in enumerate(right_rows.rows):
                if rrow is None:
                    continue
                if isinstance(rrow, ErrorValue):
                    out.append(rrow)
                    emitted = True
                    continue
                scope = Record({left_name: lrow, right_name: rrow})
                holds = eval_in_row(frame, scope, None, args[2], tuple(scope))
                if isinstance(holds, ErrorValue):
                    out.append(holds)
                    emitted = True
                elif holds is True:
                    out.append(row_of(frame, lrow, rrow))
                    matched_right.add(index)
                    emitted = True
            if not emitted and how in ("left", "full"):
                out.append(row_of(frame, lrow, _blank_row(right_rows)))
        if how in ("right", "full"):
            for index, rrow in enumerate(right_rows.rows):
                if index not in matched_right and isinstance(rrow, Record):
                    out.append(row_of(frame, _blank_row(left_rows), rrow))
        return Table(out)

    return run


def _blank_row(table: Table) -> Record:
    return Record({c: None for c in table.columns})
