"""`execute_action`: carry out one ActionRequest (http, flow, log) with retries: the one entry point.

The same function runs an in-call HttpRequestAction from the server's event loop, a
post-call step inside a DBOS workflow, and every action of `chat`, `call` and the test
harness (through `inprocess.InProcessActions`), so all get the same timeouts, host checks,
retries and error categories.  It never raises for a failed action: the failure comes back as an
`ActionResult` with `ok=False`, and the program (errorHandling) decides what happens next.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

import httpx

from postcall.actions.flow import flow_once
from postcall.actions.hosts import Resolver
from postcall.actions.http import send_once
from postcall.actions.retry import (
    RUN_BUDGET,
    AttemptListener,
    AttemptOutcome,
    AttemptRecord,
    Now,
    Sleep,
    retry_attempts,
)
from postcall.actions.settings import ActionSettings
from postcall.actions.telemetry import TelemetrySink, log_once
from postcall.actions.types import ActionRequest, ActionResult
from postcall.logging import get_logger
from postcall.redaction import redact_url

log = get_logger("postcall.actions")


async def execute_action(
    request: ActionRequest,
    settings: ActionSettings,
    *,
    http_client: httpx.AsyncClient,
    telemetry: TelemetrySink | None = None,
    run_id: str | None = None,
    deadline: float | None = None,
    on_attempt: AttemptListener | None = None,
    sleep: Sleep = asyncio.sleep,
    now: Now = time.time,
    resolver: Resolver | None = None,
    rng: random.Random | None = None,
    post_call: bool = False,
    total_s: float | None = None,
) -> ActionResult:
    """Carry out `request` under `settings`, retrying as the policy allows; never raises for a failed action.

    Args:
        http_client: the client HTTP and HTTP-bound flow actions use (its own timeouts are
            overridden per request).
        telemetry: where log actions store their event; None logs only.
        run_id: the post-call run this action belongs to (for logs and telemetry rows).
        deadline: wall-clock time (as `now()` reads it) after which no attempt starts: the run budget.
        on_attempt: awaited after every attempt with its redacted record.
        sleep, now, resolver, rng: injection points for tests (waiting, the clock budgets are read
            on, DNS, jitter).
        post_call: the action is a post-call step (nobody is waiting on the line): a model call
            then follows the step's own policy (docs/models.md) instead of the caller's budget.
        total_s: the longest the caller waits for the whole action: every attempt, every wait
            between attempts and every byte of the answer.  Per-attempt timeouts bound each
            connect and each read, not an answer that trickles in; when `total_s` passes, the
            action is cancelled and comes back failed with category "timeout".  Whoever holds
            a caller on the line passes it (the recogniser passes its `timeout_seconds`).
    """
    if total_s is None:
        return await _execute_action(
            request, settings, http_client=http_client, telemetry=telemetry, run_id=run_id, deadline=deadline,
            on_attempt=on_attempt, sleep=sleep, now=now, resolver=resolver, rng=rng, post_call=post_call,
        )
    began = time.perf_counter()
    try:
        async with asyncio.timeout(total_s):
            return await _execute_action(
                request, settings, http_client=http_client, telemetry=telemetry, run_id=run_id, deadline=deadline,
                on_attempt=on_attempt, sleep=sleep, now=now, resolver=resolver, rng=rng, post_call=post_call,
            )
    except TimeoutError:  # _execute_action turns its own errors into results: this is the deadline
        log.info("action_deadline", kind=request.kind, total_s=total_s, conversation_id=request.conversation_id,
                 topic=request.topic, node=request.node_id, run_id=run_id)
        return deadline_failure(request, total_s, elapsed_ms=round((time.perf_counter() - began) * 1000, 1))


def load_model_support() -> None:
    """Import the model endpoint's module (the openai SDK: about a second) now.

    It is otherwise imported on the first model action; a caller-facing one (the llm
    recogniser, under its total deadline) would spend that second of the caller's wait on it
    and fall back on the first turn of every process."""
    from postcall.actions.model import model_once  # noqa: F401


def deadline_failure(request: ActionRequest, total_s: float, *, elapsed_ms: float | None = None) -> ActionResult:
    """The result of an action cut off by its caller's total deadline (`execute_action(total_s=)`)."""
    if request.kind == "model":
        what = "The model endpoint"
    elif request.kind == "http":
        what = f"{str(request.payload.get('method') or 'GET').upper()} {redact_url(str(request.payload.get('url') or ''))}"
    else:
        what = f"The {request.kind} action"
    return ActionResult(
        ok=False, error=f"{what} timed out: it did not answer within {total_s:g} s in all (the caller's deadline).",
        error_category="timeout", elapsed_ms=elapsed_ms,
    )


async def _execute_action(
    request: ActionRequest,
    settings: ActionSettings,
    *,
    http_client: httpx.AsyncClient,
    telemetry: TelemetrySink | None,
    run_id: str | None,
    deadline: float | None,
    on_attempt: AttemptListener | None,
    sleep: Sleep,
    now: Now,
    resolver: Resolver | None,
    rng: random.Random | None,
    post_call: bool,
) -> ActionResult:
    context = {"conversation_id": request.conversation_id, "topic": request.topic, "node": request.node_id, "run_id": run_id}

    async def listener(record: AttemptRecord) -> None:
        log.info(
            "action_attempt",
            kind=request.kind,
            attempt=record.attempt,
            ok=record.ok,
            status_code=(record.response or {}).get("status_code"),
            error=record.error,
            error_category=record.error_category,
            retry_in_s=record.retry_in_s,
            duration_ms=round(record.duration_ms, 1),
            **context,
        )
        if on_attempt is not None:
            await on_attempt(record)

    once: Callable[[int, float | None], Awaitable[AttemptOutcome]]
    policy = settings.retry
    budget = RUN_BUDGET
    if request.kind == "http":

        async def once(attempt: int, seconds_left: float | None) -> AttemptOutcome:
            return await send_once(request, settings, http_client, seconds_left, resolver=resolver)

    elif request.kind == "flow":

        async def once(attempt: int, seconds_left: float | None) -> AttemptOutcome:
            return await flow_once(request, settings, http_client, seconds_left, resolver=resolver)

    elif request.kind == "log":
        once = log_once(request, telemetry, run_id)
    elif request.kind == "model":
        from postcall.actions.model import (
            model_once,  # the openai SDK loads on the first model call
        )

        attempt_timeout: float | None = None
        if settings.model is not None and post_call:
            # after the call nobody waits on the line: the step's own policy (agent.yaml `retry:`,
            # within the run budget), each attempt up to the longer of the model's and the
            # action layer's timeout; the caller-facing budget_seconds does not apply
            attempt_timeout = max(settings.model.timeout_s, settings.request_timeout_s)
        elif settings.model is not None:  # a caller never waits longer than the endpoint's budget
            budget_end = now() + settings.model.budget_s
            if deadline is None or budget_end < deadline:
                deadline = budget_end
                budget = f"the model's {settings.model.budget_s:g} s budget (model: budget_seconds)"
            policy = settings.model.retry_policy(settings.retry)

        async def once(attempt: int, seconds_left: float | None) -> AttemptOutcome:
            return await model_once(request, settings, seconds_left, resolver=resolver, timeout_s=attempt_timeout)

    else:
        return ActionResult(
            ok=False, error=f"Node {request.node_id!r} asks for an unknown action kind {request.kind!r}.", error_category="bad_request"
        )
    try:
        return await retry_attempts(once, policy, deadline=deadline, on_attempt=listener, sleep=sleep, now=now, rng=rng, budget=budget)
    except Exception as exc:  # a bug here must not kill a run silently: it becomes a failed step
        log.exception("action_crashed", kind=request.kind, **context)
        return ActionResult(ok=False, error=f"Internal error while running the action: {type(exc).__name__}: {exc}", error_category="internal")
