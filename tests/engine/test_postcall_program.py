"""PostCallProgram: deterministic requests, idempotency keys, skipped nodes, failures."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest

from postcall.actions import ActionRequest, ActionResult
from postcall.engine import (
    Engine,
    PostCallProgram,
    explain_post_call_selection,
    select_post_call_topics,
)
from postcall.engine.activity import Activity
from postcall.errors import EngineError
from postcall.vocabulary import ActivityType

from .helpers import agent

T0 = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC)


def _snapshot(reason_value: dict[str, Any] | None = None) -> dict[str, Any]:
    engine = Engine(agent("postcall"))
    state = engine.new_state("pc-1", now=T0)
    state = engine.turn(state, Activity(type=ActivityType.CONVERSATION_UPDATE, id="1", timestamp=T0), now=T0).state
    end = T0 + dt.timedelta(seconds=42)
    result = engine.turn(
        state,
        Activity(type=ActivityType.END_OF_CONVERSATION, id="2", timestamp=end, value=reason_value or {"initiator": "caller"}),
        now=end,
    )
    assert result.end_snapshot is not None
    stored: dict[str, Any] = json.loads(json.dumps(result.end_snapshot))  # the durable layer keeps JSON
    return stored


def _drive(program: PostCallProgram, results: list[ActionResult]) -> list[ActionRequest]:
    requests: list[ActionRequest] = []
    request = program.start()
    feed = iter(results)
    while request is not None:
        requests.append(request)
        request = program.resume(next(feed))
    return requests


OK = ActionResult(ok=True, status_code=201, json={"id": "x1"})


def test_selection_in_priority_order_and_a_failing_condition_does_not_select() -> None:
    snap = _snapshot()
    assert select_post_call_topics(agent("postcall"), snap) == ["Loop calls", "Chatty", "Raises", "Flows"]
    bad = next(e for e in explain_post_call_selection(agent("postcall"), snap) if e["topic"] == "Bad condition")
    assert bad["selected"] is False
    assert "Division by zero" in " ".join(bad["log"])


def test_loop_requests_are_deterministic_with_suffixed_keys() -> None:
    snap = _snapshot()
    first = _drive(PostCallProgram(agent("postcall"), "Loop calls", snap), [OK] * 4)
    second = _drive(PostCallProgram(agent("postcall"), "Loop calls", snap), [OK] * 4)
    assert [r.to_json() for r in first] == [r.to_json() for r in second]
    assert [r.idempotency_key for r in first] == [
        "pc-1:Loop calls:httpRequest_item",
        "pc-1:Loop calls:httpRequest_item#2",
        "pc-1:Loop calls:httpRequest_item#3",
        "pc-1:Loop calls:log_done",
    ]
    body = json.loads(first[0].payload["body"])
    assert body == {
        "item": "a", "reason": "CUSTOMER_HANGUP", "caller": "Ada",
        "ended": "2026-06-01T10:00:42.000Z", "now": "2026-06-01T10:00:42.000Z",
    }
    assert first[3].kind == "log" and first[3].payload["properties"] == {"last": "x1"}


def test_messages_questions_transfers_and_hang_ups_are_skipped_with_warnings() -> None:
    program = PostCallProgram(agent("postcall"), "Chatty", _snapshot())
    requests = _drive(program, [OK])
    assert [r.payload["event_name"] for r in requests] == ["StillRuns"]
    assert requests[0].payload["properties"] == {"answer": None, "caller": "Ada"}
    outcome = program.outcome()
    assert outcome["status"] == "succeeded"
    assert len(outcome["warnings"]) == 5
    assert any("SendActivity skipped" in w for w in outcome["warnings"])
    assert any("Question skipped" in w for w in outcome["warnings"])


def test_a_raised_http_error_fails_the_run_and_stops_it() -> None:
    program = PostCallProgram(agent("postcall"), "Raises", _snapshot())
    request = program.start()
    assert request is not None and request.payload["url"] == "http://127.0.0.1:9/fail"
    assert program.resume(ActionResult(ok=False, status_code=503, body="down", error_category="http_status")) is None
    outcome = program.outcome()
    assert outcome["status"] == "failed" and outcome["error_code"] == "HttpRequestFailed"
    assert "HTTP 503" in outcome["error"]
    assert [s["node"] for s in outcome["steps"]] == ["httpRequest_raise"]
    assert outcome["steps"][0]["result"]["status_code"] == 503


def test_flows_bind_outputs_and_an_unbound_flow_fails() -> None:
    program = PostCallProgram(agent("postcall"), "Flows", _snapshot({"reason": "CHANNEL_ERROR"}))
    request = program.start()
    assert request is not None and request.kind == "flow"
    assert request.payload == {
        "flow_id": "flow-bound", "inputs": {"reason": "CHANNEL_ERROR"},
        "url": "http://127.0.0.1:9/flows/outcome", "method": "POST", "headers": {},
    }
    log = program.resume(ActionResult(ok=True, outputs={"ticket": "T-9"}))
    assert log is not None and log.payload["properties"] == {"ticket": "T-9"}
    assert program.resume(ActionResult(ok=True)) is None
    outcome = program.outcome()
    assert outcome["status"] == "failed" and outcome["error_code"] == "FlowNotBound"
    assert "not-bound-anywhere" in outcome["error"]


def test_programs_refuse_misuse() -> None:
    snap = _snapshot()
    with pytest.raises(EngineError, match="no topic"):
        PostCallProgram(agent("postcall"), "Nope", snap)
    program = PostCallProgram(agent("postcall"), "Chatty", snap)
    with pytest.raises(EngineError, match="not waiting"):
        program.resume(OK)
    program.start()
    with pytest.raises(EngineError, match="already started"):
        program.start()
    with pytest.raises(EngineError, match="malformed"):
        PostCallProgram(agent("postcall"), "Chatty", {"conversation_id": "x"})


def test_guid_and_rand_work_after_the_call_and_a_replay_draws_the_same_values() -> None:
    snap = _snapshot()
    first = _drive(PostCallProgram(agent("postcall"), "Reference numbers", snap), [OK, OK])
    replay = _drive(PostCallProgram(agent("postcall"), "Reference numbers", snap), [OK, OK])
    assert [r.to_json() for r in first] == [r.to_json() for r in replay]
    body = json.loads(first[0].payload["body"])
    ref = uuid.UUID(body["ref"])
    assert ref.version == 4 and str(ref) == body["ref"]
    assert 1 <= body["sample"] <= 1_000_000 and body["sample"] == int(body["sample"])
    assert 0 <= body["weight"] < 1
    logged = first[1].payload["properties"]
    # The same variable after the resume; a new GUID drawn after it continues the stream.
    assert logged["ref"] == body["ref"]
    assert uuid.UUID(logged["next"]).version == 4 and logged["next"] != body["ref"]


def test_another_conversation_draws_other_values() -> None:
    snap = _snapshot()
    other = json.loads(json.dumps(snap).replace('"pc-1"', '"pc-2"'))
    mine = _drive(PostCallProgram(agent("postcall"), "Reference numbers", snap), [OK, OK])
    theirs = _drive(PostCallProgram(agent("postcall"), "Reference numbers", other), [OK, OK])
    assert json.loads(mine[0].payload["body"])["ref"] != json.loads(theirs[0].payload["body"])["ref"]


def test_the_same_conversation_id_and_times_do_not_foretell_the_values() -> None:
    # The seed mixes in a secret drawn when the conversation starts (kept in its state and its end
    # snapshot): knowing the id, the topic and the end time is not enough to compute a GUID.
    first, second = _snapshot(), _snapshot()
    assert first["conversation_id"] == second["conversation_id"] and first["end"] == second["end"]
    assert first["entropy"] != second["entropy"] and len(first["entropy"]) == 32
    a = _drive(PostCallProgram(agent("postcall"), "Reference numbers", first), [OK, OK])
    b = _drive(PostCallProgram(agent("postcall"), "Reference numbers", second), [OK, OK])
    assert json.loads(a[0].payload["body"])["ref"] != json.loads(b[0].payload["body"])["ref"]
    stored = json.loads(json.dumps(first))  # as a run's input comes back from the database
    again = _drive(PostCallProgram(agent("postcall"), "Reference numbers", stored), [OK, OK])
    assert [r.to_json() for r in again] == [r.to_json() for r in a]
