"""Retries, the one place: the policy (backoff with full jitter, Retry-After), which answers are worth another attempt, and the loop.

`RetryPolicy` says how often and how long to wait; `is_retryable_status` and
`parse_retry_after` read an HTTP answer; `retry_attempts` is the loop shared by every action
kind (HTTP, flows, connectors, telemetry), in a call, after a call, in `chat` and in tests.  Each attempt yields an `AttemptOutcome`
(the result it would return, whether another attempt may help, the server's Retry-After) and
an `AttemptRecord` (what was sent and received, secrets already masked) goes to the listener,
which stores it as a row of the run's step history.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from postcall.actions.types import ActionResult
from postcall.errors import ConfigError

# Statuses retried besides every 5xx: request timeout and too many requests.
RETRYABLE_STATUSES = frozenset({408, 429})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a failed attempt is retried: exponential backoff with full jitter, honouring Retry-After."""

    max_attempts: int = 5
    """Attempts in all, the first included.  1 means no retry."""

    initial_interval_s: float = 0.5
    """Upper bound of the first backoff, in seconds."""

    backoff_rate: float = 2.0
    """Factor by which the upper bound grows after each attempt."""

    max_interval_s: float = 30.0
    """Cap of the backoff upper bound, in seconds."""

    max_retry_after_s: float = 60.0
    """Cap of a server's Retry-After, in seconds; a longer wait is shortened to this."""

    def __post_init__(self) -> None:
        problems = []
        if self.max_attempts < 1:
            problems.append(f"max_attempts must be at least 1, not {self.max_attempts!r}")
        if self.initial_interval_s < 0:
            problems.append(f"initial_interval_s must not be negative, not {self.initial_interval_s!r}")
        if self.backoff_rate < 1:
            problems.append(f"backoff_rate must be at least 1, not {self.backoff_rate!r}")
        if self.max_interval_s < 0:
            problems.append(f"max_interval_s must not be negative, not {self.max_interval_s!r}")
        if self.max_retry_after_s < 0:
            problems.append(f"max_retry_after_s must not be negative, not {self.max_retry_after_s!r}")
        if problems:
            raise ConfigError("Invalid retry policy: " + "; ".join(problems) + ".")

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based): full jitter.

        The wait is drawn uniformly from [0, min(max_interval, initial * rate ** (attempt - 1))],
        so that many runs failing together do not retry in lockstep.
        """
        ceiling = min(self.max_interval_s, self.initial_interval_s * self.backoff_rate ** (attempt - 1))
        return (rng or random).uniform(0.0, ceiling)

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random | None = None) -> float:
        """The wait before the next attempt: the server's Retry-After (capped) or the backoff."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after_s)
        return self.backoff(attempt, rng)

    def to_json(self) -> dict[str, Any]:
        return {
            "max_attempts": self.max_attempts,
            "initial_interval_s": self.initial_interval_s,
            "backoff_rate": self.backoff_rate,
            "max_interval_s": self.max_interval_s,
            "max_retry_after_s": self.max_retry_after_s,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RetryPolicy:
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"Unknown retry policy field(s) {', '.join(map(repr, unknown))}; known: {', '.join(sorted(known))}.")
        return cls(**{k: data[k] for k in data})


def is_retryable_status(status_code: int) -> bool:
    """408, 429 and every 5xx are worth another attempt; other statuses are final."""
    return status_code in RETRYABLE_STATUSES or 500 <= status_code <= 599


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None if absent or bad."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return float(int(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    current = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - current).total_seconds())


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """What one attempt sent and got back, redacted and truncated, for the step history."""

    attempt: int
    started_at: dt.datetime
    duration_ms: float
    request: dict[str, Any]
    response: dict[str, Any] | None
    ok: bool
    error: str | None = None
    error_category: str | None = None
    retry_in_s: float | None = None
    """Seconds waited before the next attempt; None when this attempt was the last."""

    def to_json(self) -> dict[str, Any]:
        return {
            "attempt": self.attempt,
            "started_at": self.started_at.isoformat(),
            "duration_ms": round(self.duration_ms, 3),
            "request": self.request,
            "response": self.response,
            "ok": self.ok,
            "error": self.error,
            "error_category": self.error_category,
            "retry_in_s": self.retry_in_s,
        }


@dataclass(slots=True)
class AttemptOutcome:
    """The result of one attempt and whether it is worth another."""

    result: ActionResult
    retryable: bool = False
    retry_after: float | None = None
    request_view: dict[str, Any] = field(default_factory=dict)
    response_view: dict[str, Any] | None = None


AttemptListener = Callable[[AttemptRecord], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]
Now = Callable[[], float]
"""The wall-clock time in seconds (`time.time`); the harness passes its fake clock's, so its waits spend budgets too."""


RUN_BUDGET = "the run budget"


def run_budget_spent(budget_s: float, node_id: str) -> str:
    """Why a post-call run failed when its budget ran out (a DBOS run and the harness say the same)."""
    return f"The run's time budget of {budget_s:g} s was spent before node {node_id!r}."


def budget_failure(attempts: int = 0, budget: str = RUN_BUDGET) -> ActionResult:
    return ActionResult(
        ok=False,
        error=f"{budget[:1].upper()}{budget[1:]} was spent before this action could run.",
        error_category="budget",
        attempts=attempts,
    )


async def retry_attempts(
    once: Callable[[int, float | None], Awaitable[AttemptOutcome]],
    policy: RetryPolicy,
    *,
    deadline: float | None = None,
    on_attempt: AttemptListener | None = None,
    sleep: Sleep = asyncio.sleep,
    now: Now = time.time,
    rng: random.Random | None = None,
    budget: str = RUN_BUDGET,
) -> ActionResult:
    """Call `once(attempt, seconds_left)` until it succeeds, fails for good, or attempts or time run out.

    `deadline` is a wall-clock time (as `now()` reads it) after which no attempt starts and no
    wait reaches; `seconds_left` tells the attempt how long it may take at most.  `budget` names
    what set the deadline, for the error text (the run budget, or a model call's caller-facing
    budget).
    """
    attempt = 0
    began = time.perf_counter()

    def elapsed_ms() -> float:
        return round((time.perf_counter() - began) * 1000, 1)

    while True:
        attempt += 1
        seconds_left = None if deadline is None else deadline - now()
        if seconds_left is not None and seconds_left <= 0:
            return replace(budget_failure(attempt - 1, budget), elapsed_ms=elapsed_ms())
        started = dt.datetime.now(dt.UTC)
        t0 = time.perf_counter()
        outcome = await once(attempt, seconds_left)
        duration_ms = (time.perf_counter() - t0) * 1000
        result = outcome.result
        delay: float | None = None
        final = result.ok or not outcome.retryable
        note = ""
        if not final and attempt >= policy.max_attempts:
            final = True
            note = f" (gave up after {attempt} attempts)"
        if not final:
            delay = policy.delay(attempt, outcome.retry_after, rng)
            if deadline is not None and now() + delay >= deadline:
                final = True
                delay = None
                note = f" (no time left in {budget} for attempt {attempt + 1})"
        if on_attempt is not None:
            await on_attempt(
                AttemptRecord(
                    attempt=attempt,
                    started_at=started,
                    duration_ms=duration_ms,
                    request=outcome.request_view,
                    response=outcome.response_view,
                    ok=result.ok,
                    error=result.error,
                    error_category=result.error_category,
                    retry_in_s=None if delay is None else round(delay, 3),
                )
            )
        if final:
            error = result.error + note if (result.error and note) else result.error
            return replace(result, attempts=attempt, error=error, elapsed_ms=elapsed_ms())
        assert delay is not None
        await sleep(delay)
