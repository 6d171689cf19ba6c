"""`execute_action` against the real example CRM: retries, Retry-After, timeouts, host checks, flows, log events."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import pytest

from crm.launcher import CrmProcess, _free_port
from durable import flows_for_tests
from postcall.actions import ActionRequest, ActionResult, TelemetryEvent
from postcall.actions.execute import execute_action
from postcall.actions.retry import AttemptRecord, RetryPolicy
from postcall.actions.settings import ActionSettings, FlowBinding

FAST = RetryPolicy(max_attempts=4, initial_interval_s=0.01, max_interval_s=0.02)
LOCAL = ActionSettings(retry=FAST, allowed_hosts=("127.0.0.1",), request_timeout_s=5)


def request(kind: str = "http", **payload: Any) -> ActionRequest:
    cid = f"conv-{uuid.uuid4().hex[:8]}"
    return ActionRequest(kind=kind, node_id="node1", topic="crm", conversation_id=cid,
                         idempotency_key=f"{cid}:crm:node1", payload=payload)


class Recorder:
    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.attempts: list[AttemptRecord] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    async def on_attempt(self, record: AttemptRecord) -> None:
        self.attempts.append(record)


def run(req: ActionRequest, settings: ActionSettings = LOCAL, rec: Recorder | None = None, **kw: Any) -> ActionResult:
    rec = rec or Recorder()

    async def go() -> ActionResult:
        async with httpx.AsyncClient(trust_env=False) as client:
            return await execute_action(req, settings, http_client=client, sleep=rec.sleep, on_attempt=rec.on_attempt, **kw)

    return asyncio.run(go())


def patch(crm: CrmProcess, case: int, **extra: Any) -> ActionRequest:
    return request(method="PATCH", url=f"{crm.url}/cases/{case}", body=json.dumps({"status": "closed"}),
                   content_type="application/json", headers={"Authorization": "Bearer sekret-token-1"}, **extra)


def test_success_sends_the_idempotency_key_and_parses_json(crm: CrmProcess) -> None:
    req = patch(crm, 1101)
    rec = Recorder()
    result = run(req, rec=rec)
    assert result.ok and result.status_code == 200 and result.attempts == 1
    assert result.json["number"] == 1101 and result.json["status"] == "closed"
    assert crm.requests()["keys"][req.idempotency_key] == 1
    sent = rec.attempts[0].request
    assert sent["headers"]["Idempotency-Key"] == req.idempotency_key
    assert sent["headers"]["Authorization"] == "[redacted]"
    assert rec.attempts[0].response is not None and rec.attempts[0].response["status_code"] == 200


def test_503s_are_retried_with_the_same_key_until_success(crm: CrmProcess) -> None:
    req = patch(crm, 1102)
    rec = Recorder()
    crm.set_faults(status=503, count=2)
    try:
        result = run(req, rec=rec)
    finally:
        crm.clear_faults()
    assert result.ok and result.attempts == 3
    assert [a.response["status_code"] for a in rec.attempts if a.response] == [503, 503, 200]
    assert len(rec.sleeps) == 2 and all(0 <= s <= 0.02 for s in rec.sleeps)
    assert [a.retry_in_s is not None for a in rec.attempts] == [True, True, False]
    assert crm.case(1102)["update_count"] == 1


def test_retry_after_is_honoured_and_429_retried(crm: CrmProcess) -> None:
    rec = Recorder()
    crm.set_faults(status=429, count=1, retry_after="7")
    try:
        result = run(patch(crm, 1103), rec=rec)
    finally:
        crm.clear_faults()
    assert result.ok and result.attempts == 2
    assert rec.sleeps == [7.0]


def test_retries_are_spent_then_the_failure_comes_back(crm: CrmProcess) -> None:
    rec = Recorder()
    crm.set_faults(status=500, count=None)
    try:
        result = run(patch(crm, 1104), rec=rec)
    finally:
        crm.clear_faults()
    assert not result.ok and result.status_code == 500 and result.attempts == 4
    assert result.error_category == "http_status" and "gave up after 4 attempts" in (result.error or "")
    assert "Injected fault" in (result.body or "")
    assert crm.case(1104)["update_count"] == 0


def test_other_4xx_are_not_retried(crm: CrmProcess) -> None:
    rec = Recorder()
    result = run(request(method="PATCH", url=f"{crm.url}/cases/99999", body="{}", content_type="application/json"), rec=rec)
    assert not result.ok and result.status_code == 404 and result.attempts == 1 and rec.sleeps == []
    assert result.json == {"error": "No case 99999."}


def test_timeouts_are_retried_within_the_request_timeout(crm: CrmProcess) -> None:
    rec = Recorder()
    crm.set_faults(status=None, delay_ms=600)
    try:
        result = run(request(method="GET", url=f"{crm.url}/cases/1105", timeout_ms=150), rec=rec)
    finally:
        crm.clear_faults()
    assert not result.ok and result.error_category == "timeout" and result.attempts == 4
    assert "timed out after 0.15 s" in (result.error or "")


def test_connection_errors_are_retried() -> None:
    port = _free_port()  # nothing listens there
    result = run(request(method="GET", url=f"http://127.0.0.1:{port}/x"))
    assert not result.ok and result.error_category == "connection" and result.attempts == 4


def test_a_refused_host_fails_at_once_without_sending(crm: CrmProcess) -> None:
    req = patch(crm, 1106)
    result = run(req, ActionSettings(retry=FAST))  # default allowed_hosts: public only
    assert not result.ok and result.error_category == "refused_host" and result.attempts == 1
    assert "loopback" in (result.error or "")
    assert req.idempotency_key not in crm.requests()["keys"]


def test_bad_requests_fail_clearly() -> None:
    assert run(request(method="BREW", url="http://127.0.0.1/x")).error_category == "bad_request"
    assert run(request(method="GET")).error_category == "bad_request"
    unknown = run(request(kind="sms"))  # type: ignore[arg-type]
    assert unknown.error_category == "bad_request" and "sms" in (unknown.error or "")


def test_the_run_budget_stops_retries_and_blocks_late_actions(crm: CrmProcess) -> None:
    late = run(patch(crm, 1107), deadline=time.time() - 1)
    assert not late.ok and late.error_category == "budget" and late.attempts == 0
    rec = Recorder()
    crm.set_faults(status=503, count=None, retry_after="30")
    try:
        short = run(patch(crm, 1107), rec=rec, deadline=time.time() + 5)
    finally:
        crm.clear_faults()
    assert not short.ok and short.attempts == 1 and rec.sleeps == []
    assert "no time left in the run budget" in (short.error or "")


def test_flows_bound_to_callables() -> None:
    settings = LOCAL.with_changes(flows={
        "sync": FlowBinding(callable="durable.flows_for_tests:close_case"),
        "async": FlowBinding(callable="durable.flows_for_tests:async_close_case"),
        "flaky": FlowBinding(callable="durable.flows_for_tests:flaky"),
        "broken": FlowBinding(callable="durable.flows_for_tests:broken"),
        "list": FlowBinding(callable="durable.flows_for_tests:not_a_mapping"),
        "missing": FlowBinding(callable="durable.flows_for_tests:nope"),
    })
    ok = run(request("flow", flow_id="sync", inputs={"case": 7}), settings)
    assert ok.ok and ok.outputs == {"closed": 7, "note": "ok"} and flows_for_tests.calls[-1] == {"case": 7}
    assert run(request("flow", flow_id="async", inputs={"case": 8}), settings).outputs == {"closed": 8, "async": True}
    flows_for_tests._flaky["left"] = 2
    flaky = run(request("flow", flow_id="flaky", inputs={}), settings)
    assert flaky.ok and flaky.attempts == 3
    broken = run(request("flow", flow_id="broken", inputs={}), settings)
    assert broken.error_category == "flow_error" and broken.attempts == 1 and "KeyError" in (broken.error or "")
    assert run(request("flow", flow_id="list", inputs={}), settings).error_category == "bad_response"
    assert run(request("flow", flow_id="missing", inputs={}), settings).error_category == "bad_request"
    unbound = run(request("flow", flow_id="nobody", inputs={}), settings)
    assert unbound.error_category == "bad_request" and "not bound" in (unbound.error or "")


def test_flows_bound_to_http_endpoints(crm: CrmProcess) -> None:
    settings = LOCAL.with_changes(flows={"outcome": FlowBinding(url=f"{crm.url}/call-outcomes")})
    req = request("flow", flow_id="outcome", inputs={"conversation_id": "c-flow", "end_reason": "CUSTOMER_HANGUP"})
    result = run(req, settings)
    assert result.ok and result.outputs["status"] == "recorded" and result.status_code == 201
    assert crm.requests()["keys"][req.idempotency_key] == 1


class Sink:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def record_telemetry(self, event: TelemetryEvent) -> bool:
        self.events.append(event.to_json())
        return True


def test_log_actions_write_a_telemetry_row() -> None:
    sink = Sink()
    result = run(request("log", event_name="CallEnded", properties={"reason": "CUSTOMER_HANGUP"}), telemetry=sink, run_id="r1")
    assert result.ok
    assert sink.events[0]["event_name"] == "CallEnded" and sink.events[0]["run_id"] == "r1"
    assert sink.events[0]["properties"] == {"reason": "CUSTOMER_HANGUP"}
    assert run(request("log", properties={})).error_category == "bad_request"


@pytest.mark.parametrize("status", [408, 502, 504])
def test_each_retryable_status_is_retried(crm: CrmProcess, status: int) -> None:
    crm.set_faults(status=status, count=1)
    try:
        result = run(request(method="GET", url=f"{crm.url}/cases/1108"))
    finally:
        crm.clear_faults()
    assert result.ok and result.attempts == 2
