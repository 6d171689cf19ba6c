"""Power Fx values to and from JSON: a typed form for saved state and a plain form for the wire.

`encode`/`decode` keep every type (a Date stays a Date after a save and a resume), so a
conversation resumed in another process sees exactly the values it had.  `to_plain` is what an
HTTP body, a telemetry event or a log line carries (records become objects, dates ISO text);
`from_plain` turns parsed JSON (an HTTP response) into Power Fx values.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from postcall.powerfx.colors import parse_hex
from postcall.powerfx.values import (
    Color,
    ErrorKind,
    ErrorValue,
    OptionValue,
    Record,
    Table,
    UntypedObject,
    Value,
)

JSON = Any


def encode(value: Value) -> JSON:
    """A JSON form of a value that `decode` turns back into an equal value of the same type."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {"$num": repr(value)}
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, dt.datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$d": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"$time": value.total_seconds()}
    if isinstance(value, Record):
        return {"$r": {k: encode(v) for k, v in value.items()}}
    if isinstance(value, Table):
        return {"$t": [encode(r) for r in value.rows], "cols": list(value.columns)}
    if isinstance(value, OptionValue):
        parts = [value.option_set, value.name, encode(value.value)]  # type: ignore[arg-type]
        return {"$opt": parts + [value.label] if value.label is not None else parts}
    if isinstance(value, Color):
        return {"$color": _hex(value)}
    if isinstance(value, ErrorValue):
        return {"$err": [int(value.kind), value.message]}
    if isinstance(value, UntypedObject):
        return {"$u": _plain_json(value.raw)}
    if isinstance(value, Mapping):
        return {"$r": {str(k): encode(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return encode(table_of(list(value)))
    return str(value)


def _hex(color: Color) -> str:
    """A color as CSS writes it, `#rrggbbaa` (Power Fx's JSON form)."""
    return f"#{color.r:02x}{color.g:02x}{color.b:02x}{color.a:02x}"


def decode(data: JSON) -> Value:
    """The value `encode` wrote."""
    if data is None or isinstance(data, (bool, str, int, float)):
        return data
    if isinstance(data, list):  # tolerated: a plain list is a one-column table
        return table_of([decode(v) for v in data])
    if not isinstance(data, dict) or len(data) == 0:
        return from_plain(data)
    if "$r" in data:
        return Record({k: decode(v) for k, v in data["$r"].items()})
    if "$t" in data:
        return Table([decode(r) for r in data["$t"]], data.get("cols"))
    if "$dt" in data:
        return dt.datetime.fromisoformat(data["$dt"])
    if "$d" in data:
        return dt.date.fromisoformat(data["$d"])
    if "$time" in data:
        return dt.timedelta(seconds=float(data["$time"]))
    if "$num" in data:
        return float(data["$num"])
    if "$dec" in data:
        return float(Decimal(data["$dec"]))
    if "$opt" in data:
        option_set, name, raw, *label = data["$opt"]
        return OptionValue(option_set, name, decode(raw), label[0] if label else None)
    if "$color" in data:
        return parse_hex(data["$color"])
    if "$err" in data:
        kind, message = data["$err"]
        return ErrorValue(ErrorKind(kind), message)
    if "$u" in data:
        return UntypedObject(data["$u"])
    return from_plain(data)


def table_of(items: list[Value]) -> Table:
    """A table from Python items: records stay rows, scalars go in a `Value` column."""
    if all(isinstance(i, Record) for i in items):
        return Table(items)
    return Table.of_values(items)


def from_plain(data: JSON) -> Value:
    """Parsed JSON (an HTTP response body, a flow's outputs) as Power Fx values."""
    if data is None or isinstance(data, (bool, str)):
        return data
    if isinstance(data, int):
        return data
    if isinstance(data, float):
        return data
    if isinstance(data, dict):
        return Record({str(k): from_plain(v) for k, v in data.items()})
    if isinstance(data, (list, tuple)):
        return table_of([from_plain(v) for v in data])
    return str(data)


def to_plain(value: Value) -> JSON:
    """The JSON a value becomes on the wire (HTTP bodies, telemetry, logs, transcripts).

    Records become objects; tables become arrays (a one-column `Value` table becomes an array of
    its values); Date is `YYYY-MM-DD`; DateTime is ISO 8601 (UTC values end in `Z`); Blank is
    null; an error becomes null.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, Decimal):
        return to_plain(float(value))
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(timespec="milliseconds") + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        total = int(value.total_seconds())
        return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"
    if isinstance(value, Record):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, Table):
        if value.columns == ("Value",):
            return [to_plain(r.get_field("Value")) if isinstance(r, Record) else to_plain(r) for r in value.rows]
        return [to_plain(r) for r in value.rows]
    if isinstance(value, OptionValue):
        return value.name
    if isinstance(value, Color):
        return _hex(value)
    if isinstance(value, ErrorValue):
        return None
    if isinstance(value, UntypedObject):
        return _plain_json(value.raw)
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    return str(value)


def _plain_json(raw: object) -> JSON:
    if raw is None or isinstance(raw, (bool, str, int, float)):
        return raw
    if isinstance(raw, Mapping):
        return {str(k): _plain_json(v) for k, v in raw.items()}
    if isinstance(raw, (list, tuple)):
        return [_plain_json(v) for v in raw]
    return str(raw)


def to_text(value: Value) -> str:
    """A value as message text (what a template hole shows)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, (int, float, str)):
        return str(value)
    plain = to_plain(value)
    if isinstance(plain, str):
        return plain
    return json.dumps(plain, ensure_ascii=False, sort_keys=True)


def nest(flat: Mapping[str, Value]) -> Record:
    """A record from dotted names: {"a.b": 1, "c": 2} -> {a: {b: 1}, c: 2}."""
    root: dict[str, Any] = {}
    for key, value in flat.items():
        parts = key.split(".")
        node = root
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        leaf = parts[-1]
        if isinstance(node.get(leaf), dict) and isinstance(value, Record):
            node[leaf].update(value.fields)
        elif not isinstance(node.get(leaf), dict):
            node[leaf] = value
    return _freeze(root)


def _freeze(tree: dict[str, Any]) -> Record:
    return Record({k: _freeze(v) if isinstance(v, dict) else v for k, v in tree.items()})
