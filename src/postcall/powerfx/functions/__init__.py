"""Power Fx's built-in functions, one module per family; importing this package registers them all."""

from __future__ import annotations

from postcall.powerfx.functions import (  # noqa: F401  (imported to register the functions)
    colors,
    conversion,
    dates,
    grouping,
    logical,
    math,
    randomness,
    records,
    regex,
    tables,
    text,
    typed,
)
from postcall.powerfx.functions.registry import FUNCTIONS, CallSite, Fn, FunctionSpec

KNOWN_FUNCTIONS: frozenset[str] = frozenset(FUNCTIONS)

__all__ = ["FUNCTIONS", "KNOWN_FUNCTIONS", "CallSite", "Fn", "FunctionSpec"]
