"""Patch on records: `Patch(record, update1, update2, ...)`, the record with the updates' fields.

Power Fx's Patch also writes to data sources; topics have none, so only the record form exists
here: a new record with the first argument's fields, then each update's fields in order (a later
update wins; a nested record is replaced whole).  A Blank first argument is an empty record.
The compiler checks that the updates are records whose fields keep the types they replace
(postcall.powerfx.static.check_patch).
"""

from __future__ import annotations

from collections.abc import Sequence

from postcall.powerfx.functions.registry import CallSite, Fn, lazy
from postcall.powerfx.runtime import Frame
from postcall.powerfx.values import ErrorValue, Record, Value


@lazy("Patch", 2, None)
def _patch(site: CallSite, args: Sequence[Fn]) -> Fn:
    """Patch(record, update, ...): the record with the updates' fields."""

    def run(frame: Frame) -> Value:
        fields: dict[str, Value] = {}
        for index, arg in enumerate(args):
            value = arg(frame)
            if isinstance(value, ErrorValue):
                return value
            if value is None:
                continue
            if not isinstance(value, Record):
                return site.invalid(f"argument {index + 1} is not a record.")
            fields.update(value.fields)
        return Record(fields)

    return run
