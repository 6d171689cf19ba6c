"""Rand, RandBetween and GUID(): values drawn from the evaluation context's random source.

Copilot Studio topics use them for reference numbers and sampling.  The engine gives each run a
seeded source (runtime.SeededRandom), so a post-call topic replayed after a crash draws the same
values it drew the first time instead of being refused as not deterministic.
"""

from __future__ import annotations

import math
import uuid

from postcall.powerfx.coerce import to_number
from postcall.powerfx.functions.registry import CallSite, eager
from postcall.powerfx.functions.text import guid_from_text
from postcall.powerfx.runtime import Frame
from postcall.powerfx.values import ErrorKind, ErrorValue, Table, Value


def _uniform(frame: Frame) -> float:
    """A float in [0, 1) with 53 random bits."""
    return (int.from_bytes(frame.ctx.random_bytes(7), "big") >> 3) / float(1 << 53)


def _below(frame: Frame, bound: int) -> int:
    """A uniform integer in [0, bound) (rejection sampling, no modulo bias)."""
    bits = bound.bit_length()
    size = (bits + 7) // 8
    while True:
        candidate = int.from_bytes(frame.ctx.random_bytes(size), "big") >> (size * 8 - bits)
        if candidate < bound:
            return candidate


@eager("Rand", 0, 0)
def _rand(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Rand(): a number from 0 (included) to 1 (excluded)."""
    return _uniform(frame)


@eager("RandBetween", 2, 2)
def _rand_between(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """RandBetween(low, high): a whole number from low to high, both included."""
    low = to_number(args[0])
    if isinstance(low, ErrorValue):
        return low
    high = to_number(args[1])
    if isinstance(high, ErrorValue):
        return high
    low, high = float(low), float(high)
    if not (math.isfinite(low) and math.isfinite(high)):
        return site.error(ErrorKind.Numeric, "RandBetween needs finite numbers.")
    if low > high:
        return site.error(ErrorKind.Numeric, f"RandBetween: the low value {low:g} is above the high value {high:g}.")
    first, last = math.ceil(low), math.floor(high)
    if first > last:
        # No whole number in between: Excel takes the ceiling of the low value.
        return float(first)
    return float(first + _below(frame, last - first + 1))


@eager("GUID", 0, 1)
def _guid(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """GUID(): a new random (version 4) GUID; GUID(text): the text, checked to be a GUID."""
    if not args:
        return str(uuid.UUID(bytes=frame.ctx.random_bytes(16), version=4))
    return guid_from_text(site, args[0])


@eager("Shuffle", 1, 1)
def _shuffle(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Shuffle(table): its rows in a random order (Fisher-Yates on the context's random source)."""
    value = args[0]
    if value is None:
        return None
    if not isinstance(value, Table):
        return site.invalid("expects a table.")
    rows = list(value.rows)
    for i in range(len(rows) - 1, 0, -1):
        j = _below(frame, i + 1)
        rows[i], rows[j] = rows[j], rows[i]
    return Table(rows, value.columns)
