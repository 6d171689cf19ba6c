"""LogCustomTelemetryEvent: one attempt of a log action, and where its event goes (`TelemetrySink`)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Protocol

from postcall.actions.retry import AttemptOutcome
from postcall.actions.types import ActionRequest, ActionResult, TelemetryEvent
from postcall.logging import get_logger
from postcall.redaction import redact_json

log = get_logger("postcall.actions")


class TelemetrySink(Protocol):
    """Where LogCustomTelemetryEvent rows go: the store (in a call), or the step's checkpoint (in a run).

    A sink whose `blocking` attribute is False only keeps the event in memory and is called
    on the event loop; any other is called in a thread (it writes to the database).
    """

    def record_telemetry(self, event: TelemetryEvent) -> bool:
        """Store one event; False when an event with the same idempotency key is already there."""
        ...


def log_once(
    request: ActionRequest, telemetry: TelemetrySink | None, run_id: str | None
) -> Callable[[int, float | None], Awaitable[AttemptOutcome]]:
    async def once(attempt: int, seconds_left: float | None) -> AttemptOutcome:
        name = str(request.payload.get("event_name") or "")
        properties = dict(request.payload.get("properties") or {})
        view = {"event_name": name, "properties": redact_json(properties)}
        if not name:
            return AttemptOutcome(
                ActionResult(ok=False, error=f"Node {request.node_id!r} logs an event without a name.", error_category="bad_request"),
                request_view=view,
            )
        log.info(
            "telemetry_event",
            event_name=name,
            properties=properties,
            conversation_id=request.conversation_id,
            topic=request.topic,
            node=request.node_id,
            run_id=run_id,
        )
        if telemetry is not None:
            try:
                event = TelemetryEvent(
                    idempotency_key=request.idempotency_key,
                    conversation_id=request.conversation_id,
                    run_id=run_id,
                    topic=request.topic,
                    node_id=request.node_id,
                    event_name=name,
                    properties=properties,
                    at=dt.datetime.now(dt.UTC),
                )
                if getattr(telemetry, "blocking", True):
                    await asyncio.to_thread(telemetry.record_telemetry, event)
                else:  # kept in memory (a run's step checkpoint): no thread needed
                    telemetry.record_telemetry(event)
            except Exception as exc:  # the database may be busy or gone for a moment
                return AttemptOutcome(
                    ActionResult(ok=False, error=f"The telemetry event could not be stored: {exc}", error_category="internal"),
                    retryable=True,
                    request_view=view,
                )
        return AttemptOutcome(ActionResult(ok=True), request_view=view, response_view={"stored": telemetry is not None})

    return once
