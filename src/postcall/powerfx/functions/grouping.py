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
