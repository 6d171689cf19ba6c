"""Evaluation context (what the caller supplies) and the per-evaluation frame compiled code reads."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from postcall.diagnostics import SourceSpan
from postcall.errors import PowerFxError
from postcall.powerfx.values import ErrorKind, ErrorValue, Record, Value


@dataclass(frozen=True)
class Limits:
    """Bounds on one evaluation.  Exceeding one gives an error value, never a hang or a crash."""

    max_depth: int = 200  # nesting depth of a formula's syntax tree
    max_text_length: int = 1_000_000  # characters in any text value produced
    max_table_rows: int = 100_000  # rows in any table produced
    max_row_visits: int = 2_000_000  # rows visited by all table functions of one evaluation
    max_regex_text_length: int = 20_000  # characters of text a regular expression may search
    max_regex_pattern_length: int = 2_000  # characters of a regular expression
    regex_timeout_seconds: float = 0.25  # time one regular expression search may take


def _no_clock() -> dt.datetime:
    raise PowerFxError(
        "Now()/Today() need a clock, but the evaluation context has none: pass EvalContext(now=...).",
        code="RUN401",
    )


@dataclass
class EvalContext:
    """What a formula can see.

    `scope` maps top-level names (`Topic`, `Global`, `System`, `Env`, `Conversation`...) to values
    (usually Records; plain dicts are read as records too).  `now` is the clock `Now()` and
    `Today()` read; without it they raise PowerFxError.  `random` gives the bytes `Rand()`,
    `RandBetween()` and `GUID()` draw (the operating system's when None; the engine passes a
    `SeededRandom` so that a replayed run draws the same values).  `timezone` is the local zone DateTime
    values live in (Now() is converted to it; `DateTimeFormat.UTC` converts back).  `enums`
    adds option sets beyond the built-in ones (`DateTimeFormat`, `ErrorKind`, `TimeUnit`...).
    """

    scope: Mapping[str, Value] = field(default_factory=dict)
    now: Callable[[], dt.datetime] | None = None
    limits: Limits = field(default_factory=Limits)
    enums: Mapping[str, Mapping[str, Value]] = field(default_factory=dict)
    timezone: dt.tzinfo = dt.UTC
    random: Callable[[int], bytes] | None = None

    def random_bytes(self, count: int) -> bytes:
        """`count` random bytes from the context's source."""
        return self.random(count) if self.random is not None else os.urandom(count)

    def local_now(self) -> dt.datetime:
        """The current local time as a naive DateTime."""
        clock = self.now if self.now is not None else _no_clock
        value = clock()
        if value.tzinfo is not None:
            value = value.astimezone(self.timezone).replace(tzinfo=None)
        return value


class SeededRandom:
    """A stream of random bytes fixed by a seed: the n-th draw of a run is the same on every replay.

    The engine seeds it with what identifies a run (conversation, turn or post-call topic), which
    is recorded with the run; evaluation order is deterministic, so a replay after a crash draws
    exactly the values the first attempt drew, the way a recorded side effect would be returned.
    """

    __slots__ = ("_seed", "_counter")

    def __init__(self, seed: str) -> None:
        self._seed = seed.encode("utf-8")
        self._counter = 0

    def __call__(self, count: int) -> bytes:
        out = b""
        while len(out) < count:
            self._counter += 1
            block = hashlib.blake2b(self._seed + b"#" + str(self._counter).encode(), digest_size=64)
            out += block.digest()
        return out[:count]


# Top-level names that read as empty records when the caller did not supply them.
WELL_KNOWN_ROOTS = frozenset({"Topic", "Global", "System", "Env", "Conversation", "User", "Bot"})

EMPTY_RECORD = Record()


class RowScope:
    """One record in scope inside ForAll/Filter/With...: its fields read as plain names."""

    __slots__ = ("record", "alias", "columns")

    def __init__(self, record: Value, alias: str | None = None, columns: tuple[str, ...] = ()) -> None:
        self.record = record
        self.alias = alias
        self.columns = columns


class Frame:
    """The state of one evaluation: the context and the stack of row scopes."""

    __slots__ = ("ctx", "scope", "rows", "visits", "errors_in_scope", "decimal")

    def __init__(self, ctx: EvalContext) -> None:
        self.ctx = ctx
        self.scope = ctx.scope
        self.rows: list[RowScope] = []
        self.visits = 0
        # Stack of FirstError/AllErrors values visible inside IfError fallbacks.
        self.errors_in_scope: list[ErrorValue] = []
        # Decimal mode: Value() and numbers coerced from text are Decimals (numbers.py).
        self.decimal = False

    def visit(self, count: int = 1) -> None:
        """Count rows visited by table functions; raises _Budget when over the limit."""
        self.visits += count
        if self.visits > self.ctx.limits.max_row_visits:
            raise BudgetExceeded("The formula visits too many table rows (limit "
                                 f"{self.ctx.limits.max_row_visits}).")


class BudgetExceeded(Exception):
    """Internal: an evaluation limit was hit; turned into an error value by Formula.evaluate."""


def error(kind: ErrorKind, message: str, span: SourceSpan | None = None) -> ErrorValue:
    return ErrorValue(kind, message, span)
