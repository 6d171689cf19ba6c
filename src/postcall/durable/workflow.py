"""The post-call run as a DBOS workflow: build the program from its input, run each request as one checkpointed step.

On a crash DBOS replays this function: every step that completed returns its recorded result
without running again, the program re-evaluates its control flow from those results, and the
run carries on after its last completed step.  Only a step that was running when the process
died runs a second time, with the same Idempotency-Key.

Retries happen inside the step (not DBOS's step retries) so that Retry-After is honoured and
every attempt lands in the run's step history.  This module is imported by the executor before
DBOS launches: the decorators register the workflow under `WORKFLOW_NAME`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from typing import Any

import httpx
from dbos import DBOS, PortableWorkflowError

from postcall import tracing
from postcall.actions import ActionRequest, ActionResult
from postcall.actions.execute import execute_action
from postcall.actions.retry import AttemptRecord, run_budget_spent
from postcall.actions.settings import ActionSettings
from postcall.actions.types import TelemetryEvent
from postcall.durable.runtime import RunRuntime, runtime
from postcall.logging import bind_log_context, get_logger
from postcall.redaction import redact_text
from postcall.store import WORKFLOW_NAME, RunEnvelope, RunStepRecord

STEP_NAME = "postcall.action"
# A run that crashes its process this many times in a row is parked as
# MAX_RECOVERY_ATTEMPTS_EXCEEDED instead of taking every worker down with it.
MAX_RECOVERY_ATTEMPTS = 50

log = get_logger("postcall.runs")


@DBOS.step(name=STEP_NAME)
def action_step(run_id: str, request: dict[str, Any], settings: dict[str, Any], deadline: float) -> dict[str, Any]:
    """Carry out one ActionRequest (with its retries); the returned JSON is what DBOS records."""
    rt = runtime()
    return rt.run_coroutine(_run_action(rt, run_id, int(DBOS.step_id or 0), request, settings, deadline))


async def _run_action(rt: RunRuntime, run_id: str, step: int, request: dict[str, Any], settings: dict[str, Any], deadline: float) -> dict[str, Any]:
    action = ActionRequest.from_json(request)
    action_settings = ActionSettings.from_json(settings)

    # A failed attempt is stored at once (a retrying or failing step must be visible while it
    # runs).  A successful attempt is always the step's last: it travels in the step's output,
    # which DBOS checkpoints in the commit that completes the step, and the workflow stores it
    # with the run's outcome: one commit fewer per step, and never lost (a replay reads it back).
    deferred: list[dict[str, Any]] = []

    async def record(attempt: AttemptRecord) -> None:
        row = RunStepRecord(
            run_id=run_id,
            step=step,
            node_id=action.node_id,
            kind=action.kind,
            idempotency_key=action.idempotency_key,
            attempt=attempt.attempt,
            ok=attempt.ok,
            request=attempt.request,
            response=attempt.response,
            error=redact_text(attempt.error) if attempt.error else attempt.error,
            error_category=attempt.error_category,
            retry_in_s=attempt.retry_in_s,
            duration_ms=attempt.duration_ms,
            executor_id=rt.executor_id,
            at=attempt.started_at,
        )
        if attempt.ok:
            deferred.append(row.to_json())
        else:
            rt.store.record_step(row)  # this loop is the run's own: blocking it holds up nobody

    client: httpx.AsyncClient = rt.http_client()
    telemetry = _CarriedTelemetry()
    with tracing.call_span("postcall.step", action.conversation_id,
                           {"postcall.run_id": run_id, "postcall.step": step, "postcall.kind": str(action.kind),
                            "postcall.topic": action.topic, "postcall.node": action.node_id}) as span:
        result = await execute_action(
            action,
            action_settings,
            http_client=client,
            telemetry=telemetry,
            run_id=run_id,
            deadline=deadline,
            on_attempt=record if rt.record_attempts else None,
            post_call=True,
        )
        tracing.set_attributes(span, **{"postcall.ok": result.ok, "postcall.attempts": result.attempts,
                                        "http.response.status_code": result.status_code})
    return {"step": step, "result": result.to_json(), "attempts": deferred, "telemetry": telemetry.events}


class _CarriedTelemetry:
    """A log step's event, carried in the step's checkpoint and stored with the run's outcome.

    Exactly once like the attempt records: DBOS checkpoints the step's output, a replay reads it
    back, and the store inserts an event once per idempotency key.  (In-call log actions, outside
    a run, store their event at once.)
    """

    blocking = False  # see TelemetrySink

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def record_telemetry(self, event: TelemetryEvent) -> bool:
        self.events.append(event.to_json())
        return True


def _failure_error(outcome: dict[str, Any]) -> str:
    error = outcome.get("error")
    # a run error is stored, shown and logged (DBOS's traceback too): masked once, here
    return redact_text(str(error)) if error else "The run failed."


@DBOS.workflow(name=WORKFLOW_NAME, max_recovery_attempts=MAX_RECOVERY_ATTEMPTS)
def postcall_run(spec: RunEnvelope) -> dict[str, Any]:
    """One post-call run: build its program from the envelope the store enqueued, drive it."""
    rt = runtime()
    run_id = spec["run_id"]
    bind_log_context(run_id=run_id, conversation_id=spec["conversation_id"], topic=spec["topic"], executor_id=rt.executor_id)
    rt.active_started(run_id)
    # The run's span, in the call's trace; its steps nest under it (postcall/tracing.py).
    traced = contextlib.ExitStack()
    run_span = traced.enter_context(tracing.call_span(
        "postcall.run", spec["conversation_id"] or run_id,
        {"postcall.run_id": run_id, "postcall.topic": spec["topic"], "postcall.executor_id": rt.executor_id}))
    # Marking the run running is bookkeeping, not a side effect: it happens beside the steps,
    # and only for a run that takes a while (see durable/running.py).
    started_at = rt.marks.watch(run_id)
    try:
        failed_step: int | None = None
        failed_node: str | None = None
        attempts = 0
        records: list[RunStepRecord] = []
        events: list[TelemetryEvent] = []
        try:
            program = rt.programs.build(spec["program"], dict(spec["input"] or {}))
            settings = program.action_settings()
            # The budget is counted from the start of each execution (first run, recovery,
            # redrive: docs/durable-actions.md), so this clock read is deliberately not a
            # recorded step: only steps not yet recorded consult it, and a replay's path
            # through the recorded ones depends on their results alone.
            deadline = time.time() + settings.run_budget_s
            settings_json = settings.to_json()
            request = program.start()
            outcome: dict[str, Any] | None = None
            while request is not None:
                rt.step_gate(run_id)
                recorded = action_step(run_id, request.to_json(), settings_json, deadline)
                result = ActionResult.from_json(recorded["result"])
                records.extend(RunStepRecord.from_json(run_id, r) for r in recorded.get("attempts") or ())
                events.extend(TelemetryEvent.from_json(e) for e in recorded.get("telemetry") or ())
                attempts = result.attempts
                if result.ok:
                    failed_step = failed_node = None
                else:
                    failed_step, failed_node = int(recorded["step"]), request.node_id
                if result.error_category == "budget":
                    outcome = {
                        "status": "failed",
                        "error": run_budget_spent(settings.run_budget_s, request.node_id),
                    }
                    break
                request = program.resume(result)
            if outcome is None:
                outcome = dict(program.outcome())
        except Exception as exc:  # the program is user-facing logic: its failure fails the run, visibly
            log.exception("run_program_error")
            outcome = {"status": "failed", "error": f"The run's program raised {type(exc).__name__}: {exc}"}
        executions = rt.marks.settle(run_id)
        if executions is not None:
            log.info("run_executed", execution=executions)
        began = (started_at, rt.executor_id) if executions is None else None
        status = "failed" if outcome.get("status") == "failed" else "succeeded"
        if status == "succeeded":
            failed_step = failed_node = None
        # Bookkeeping, not a side effect, and idempotent (attempt records and telemetry are
        # inserted once per key, the outcome is set): a replay after a crash between this write
        # and DBOS's outcome writes it again harmlessly.  As a step it would cost one more
        # checkpoint commit per run on the single-writer SQLite file.
        rt.store.finish_run(
            run_id,
            status=status,
            error=_failure_error(outcome) if status == "failed" else None,
            failed_step=failed_step,
            failed_node=failed_node,
            attempts=attempts,
            outcome=outcome,
            steps=records,
            telemetry=events,
            began=began,
        )
        log.info("run_finished", status=status, error=outcome.get("error"), finished_at=dt.datetime.now(dt.UTC).isoformat())
        tracing.set_attributes(run_span, **{"postcall.status": status, "postcall.failed_node": failed_node})
        rt.run_finished(run_id, status)
        if status == "failed":
            # An ERROR workflow is DBOS's dead letter: kept, listable, and rewindable by redrive.
            raise PortableWorkflowError(_failure_error(outcome), "PostCallRunFailed", None, {"run_id": run_id, "failed_step": failed_step})
        return outcome
    finally:
        rt.marks.discard(run_id)
        rt.active_ended(run_id)
        traced.close()
