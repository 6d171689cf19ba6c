"""`InProcessActions`: `execute_action` for synchronous callers (the test harness, `chat`, `call`).

It is not a second action layer: every request goes through `execute.execute_action` with the
agent's `ActionSettings`, so allowed hosts, the private-address refusal, 2xx-only success, the
Idempotency-Key header, timeouts, retries with backoff and Retry-After, flows and connectors
behave exactly as in a call on `postcall serve` and in a post-call DBOS step.  What a caller
may swap is only the plumbing:

- `transport`: httpx's transport (default: real sockets);
- `sleep`: how the wait between attempts passes (the harness advances its fixed clock
  instead of waiting, so a retried 503 costs no wall time in a test; the waits are the same);
- `now`: the clock budgets are read on (the harness's fixed clock, so its waits spend them);
- `resolver`: DNS (default: the system resolver).

Telemetry events are kept in memory (`events`) instead of the store.  The coroutines run on a
private event loop in a helper thread, so a synchronous caller works whether or not its own
thread already runs a loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from postcall.actions.execute import deadline_failure, execute_action
from postcall.actions.hosts import Resolver
from postcall.actions.http import http_client
from postcall.actions.retry import Now, Sleep
from postcall.actions.settings import ActionSettings
from postcall.actions.types import ActionRequest, ActionResult, TelemetryEvent

T = TypeVar("T")

SettingsFor = Callable[[str | None], ActionSettings]
"""The settings of a topic's actions (None: the agent's defaults)."""

DEADLINE_GRACE_S = 1.0
"""How much longer than a total deadline a caller waits for the loop to hand back the cut-off
action (it normally does at once; this bounds the wait if a step ignores cancellation)."""


@dataclass
class ActionCall:
    """One request and what came back (after its retries)."""

    request: ActionRequest
    result: ActionResult

    def to_json(self) -> dict[str, Any]:
        return {"request": self.request.to_json(), "result": self.result.to_json()}


class MemoryTelemetry:
    """A `TelemetrySink` that keeps events in a list, once per idempotency key (as the store does)."""

    blocking = False

    def __init__(self) -> None:
        self.events: list[TelemetryEvent] = []

    def record_telemetry(self, event: TelemetryEvent) -> bool:
        if any(e.idempotency_key == event.idempotency_key for e in self.events):
            return False
        self.events.append(event)
        return True


class InProcessActions:
    """Runs ActionRequests now, in this process, through the one action layer (see module docstring)."""

    def __init__(
        self,
        settings_for: SettingsFor,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep | None = None,
        resolver: Resolver | None = None,
        now: Now = time.time,
        keep_calls: bool = True,
    ) -> None:
        """`keep_calls` False keeps no `calls` (a long-lived runner, e.g. a recogniser's)."""
        self.settings_for = settings_for
        self.keep_calls = keep_calls
        self._start_lock = threading.Lock()
        self.calls: list[ActionCall] = []
        self.telemetry = MemoryTelemetry()
        self._transport = transport
        self._sleep: Sleep = sleep or asyncio.sleep
        self._resolver = resolver
        self._now = now
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client: httpx.AsyncClient | None = None

    @property
    def events(self) -> list[TelemetryEvent]:
        return list(self.telemetry.events)

    def execute(
        self, request: ActionRequest, *, post_call: bool = False, deadline: float | None = None, total_s: float | None = None
    ) -> ActionResult:
        """Carry out `request` under its topic's settings; a failure comes back as a result, never raised.

        `post_call`: a post-call topic's step (execute_action's policy for it); `deadline`: the
        run budget's end, on the `now` clock (as a DBOS run passes it); `total_s`: the longest
        this call waits, in real seconds, whatever the answer does (execute_action's)."""
        try:
            result = self._run(
                self._execute(request, post_call, deadline, total_s),
                wait_s=None if total_s is None else total_s + DEADLINE_GRACE_S,
            )
        except TimeoutError:
            result = deadline_failure(request, total_s or 0.0)
        if self.keep_calls:
            self.calls.append(ActionCall(request, result))
        return result

    async def _execute(
        self, request: ActionRequest, post_call: bool = False, deadline: float | None = None, total_s: float | None = None
    ) -> ActionResult:
        if self._client is None:  # created on the loop that uses it
            self._client = http_client(transport=self._transport)
        return await execute_action(
            request,
            self.settings_for(request.topic),
            http_client=self._client,
            telemetry=self.telemetry,
            sleep=self._sleep,
            now=self._now,
            deadline=deadline,
            resolver=self._resolver,
            post_call=post_call,
            total_s=total_s,
        )

    def _run(self, coroutine: Coroutine[Any, Any, T], *, wait_s: float | None = None) -> T:
        """Run `coroutine` on the helper loop and wait for it (at most `wait_s`: then it is
        cancelled and TimeoutError raised)."""
        with self._start_lock:  # several threads may call at once (a server's turns)
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="postcall-inprocess-actions", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            loop = self._loop
        future = asyncio.run_coroutine_threadsafe(coroutine, loop)
        try:
            return future.result(timeout=wait_s)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError from None

    def close(self) -> None:
        """Close the HTTP client and stop the helper thread (idempotent)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if self._client is not None:
            asyncio.run_coroutine_threadsafe(self._client.aclose(), loop).result()
            self._client = None
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
        self._loop = self._thread = None
