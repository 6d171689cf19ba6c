"""One attempt of an action and the retry loop around attempts: backoff, Retry-After, run budget, history.

`retry_attempts` is shared by HTTP requests and flows.  Each attempt yields an `AttemptOutcome`
(the result it would return, whether another attempt may help, the server's Retry-After) and
an `AttemptRecord` (what was sent and received, secrets already masked) goes to the listener,
which stores it as a row of the run's step history.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from postcall.actions import ActionResult
from postcall.durable.policy import RetryPolicy


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


def budget_failure(attempts: int = 0) -> ActionResult:
    return ActionResult(
        ok=False,
        error="The run's time budget was spent before this action could run.",
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
    rng: random.Random | None = None,
) -> ActionResult:
    """Call `once(attempt, seconds_left)` until it succeeds, fails for good, or attempts or time run out.

    `deadline` is a wall-clock time (time.time()) after which no attempt starts and no wait
    reaches; `seconds_left` tells the attempt how long it may take at most.
    """
    attempt = 0
    while True:
        attempt += 1
        seconds_left = None if deadline is None else deadline - time.time()
        if seconds_left is not None and seconds_left <= 0:
            return budget_failure(attempt - 1)
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
            if deadline is not None and time.time() + delay >= deadline:
                final = True
                delay = None
                note = f" (no time left in the run budget for attempt {attempt + 1})"
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
            return replace(result, attempts=attempt, error=error)
        assert delay is not None
        await sleep(delay)
