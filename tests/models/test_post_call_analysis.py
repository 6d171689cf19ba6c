"""Post-call analysis end to end: a call on the runtime (SQLite), the transcript, a prompt action
on a real OpenAI-protocol server as one DBOS step, the summary PATCHed to the example CRM; a
redrive after a failed PATCH reuses the recorded model answer (never billed twice); a call with
no caller speech is not sent to the model."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crm.launcher import CrmProcess
from postcall.channels.base import end_of_conversation_activity, message_activity
from postcall.clock import FixedClock
from postcall.devtools.openai_server import OpenAIServer, Scripted
from postcall.durable import Executor, ExecutorConfig
from postcall.engine.activity import Initiator
from postcall.lifecycle.runtime import Runtime, open_runtime

REPO = Path(__file__).resolve().parents[2]
START = dt.datetime(2026, 11, 24, 17, 0, tzinfo=dt.UTC)
TOPIC = "Post-call analysis"


def analyse(body: dict[str, Any]) -> str:
    """The model's side: a summary of the transcript it was sent, as the schema asks."""
    prompt = body["messages"][-1]["content"]
    if body.get("response_format", {}).get("type") == "json_schema":
        transcript = prompt.split("Transcript:", 1)[1]
        asked = "saturday" in transcript.lower()
        return json.dumps({
            "summary": "The caller asked about Saturday opening hours for case 1003." if asked else "No question.",
            "resolved": asked,
            "case_number": "1003",
        })
    return "We open at 10 am on Saturdays."


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIServer]:
    with OpenAIServer(api_key="sk-analysis") as s:
        s.responder = analyse
        monkeypatch.setenv("POSTCALL_MODEL_BASE_URL", s.base_url)
        monkeypatch.setenv("POSTCALL_MODEL_API_KEY", "sk-analysis")
        yield s


@pytest.fixture
def runtime(tmp_path: Path, server: OpenAIServer, crm: CrmProcess) -> Iterator[Runtime]:
    agent = tmp_path / "contoso-analysis"
    shutil.copytree(REPO / "examples" / "contoso-analysis", agent, ignore=shutil.ignore_patterns(".postcall"))
    config = agent / "agent.yaml"  # quick retries: the tests count requests, not waits
    text = config.read_text(encoding="utf-8").replace("initial_interval_seconds: 0.5", "initial_interval_seconds: 0.01")
    # a caller-facing budget shorter than a slow endpoint: in-call answers here are immediate
    config.write_text(text.replace("budget_seconds: 8", "budget_seconds: 0.3"), encoding="utf-8")
    rt = open_runtime(agent, database_url=f"sqlite:///{tmp_path / 'postcall.sqlite'}",
                      env_overrides={"crm_BaseUrl": crm.url}, clock=FixedClock(START))
    try:
        yield rt
    finally:
        rt.close()


def _say(rt: Runtime, cid: str, n: int, text: str) -> list[str]:
    activity = message_activity(f"{cid}:{n}", START + dt.timedelta(seconds=n), channel_id="twilio", text=text)
    outcome = asyncio.run(rt.sessions.handle(cid, activity, event_id=f"{cid}:{n}"))
    return [o.text for o in outcome.outputs if type(o).__name__ == "Say"]  # type: ignore[attr-defined]


def _hang_up(rt: Runtime, cid: str, n: int) -> None:
    end = end_of_conversation_activity(f"{cid}:end", START + dt.timedelta(seconds=n), Initiator.CALLER, "completed", channel_id="twilio")
    assert asyncio.run(rt.sessions.handle(cid, end, event_id=f"{cid}:end")).ended


def _executor(rt: Runtime) -> Executor:
    url = rt.settings.database_url
    return Executor(ExecutorConfig(database_url=url, polling_interval_s=0.02, heartbeat_interval_s=0.5, stale_after_s=5),
                    rt.programs, store=rt.store)


def test_the_summary_reaches_the_crm_once_and_a_redrive_does_not_ask_the_model_again(
    runtime: Runtime, server: OpenAIServer, crm: CrmProcess
) -> None:
    cid = "CA-analysis-1"
    asyncio.run(runtime.sessions.start(cid, channel="twilio", caller="+15550100111", event_id=f"{cid}:0"))
    _say(runtime, cid, 1, "my case")
    _say(runtime, cid, 2, "1003")
    assert _say(runtime, cid, 3, "when do you open on saturday") == ["We open at 10 am on Saturdays."]
    answer_request = server.requests[-1]
    assert "On Saturdays we open at 10 am" in answer_request["messages"][0]["content"]  # grounded on the passage
    _hang_up(runtime, cid, 4)
    crm.set_faults(status=400, count=1)  # the PATCH fails once, after the model step was recorded
    run_id = f"postcall:{cid}:{TOPIC}"
    with _executor(runtime) as executor:
        assert executor.wait_for_runs([run_id], timeout_s=60) == {run_id: "failed"}
        analyses = [r for r in server.requests if r.get("response_format")]
        assert len(analyses) == 1
        prompt = analyses[0]["messages"][0]["content"]
        assert "caller: when do you open on saturday" in prompt and "Case number known to the agent: 1003" in prompt
        runtime.store.redrive(run_id)
        assert executor.wait_for_runs([run_id], timeout_s=60) == {run_id: "succeeded"}
    assert len([r for r in server.requests if r.get("response_format")]) == 1  # reused, not re-billed
    case = crm.case(1003)
    assert case["call_summary"] == "The caller asked about Saturday opening hours for case 1003."
    assert case["status"] == "resolved" and case["update_count"] == 1


def test_a_call_without_caller_speech_is_not_analysed(runtime: Runtime, server: OpenAIServer, crm: CrmProcess) -> None:
    cid = "CA-analysis-2"
    asyncio.run(runtime.sessions.start(cid, channel="twilio", caller="+15550100112", event_id=f"{cid}:0"))
    _hang_up(runtime, cid, 1)
    run_id = f"postcall:{cid}:{TOPIC}"
    with _executor(runtime) as executor:
        assert executor.wait_for_runs([run_id], timeout_s=60) == {run_id: "succeeded"}
    assert server.requests == []
    run = runtime.store.get_run(run_id)
    assert run is not None and not [s for s in run.steps if s.kind == "http"]


def test_an_answer_off_the_schema_fails_the_step_and_a_redrive_asks_the_model_again(
    runtime: Runtime, server: OpenAIServer, crm: CrmProcess
) -> None:
    """The answer is checked inside the durable model step: an answer off the schema is a failed
    attempt (retried), never a recorded success that a redrive would replay for ever."""
    cid = "CA-analysis-3"
    asyncio.run(runtime.sessions.start(cid, channel="twilio", caller="+15550100113", event_id=f"{cid}:0"))
    _say(runtime, cid, 1, "my case")
    _say(runtime, cid, 2, "1003")
    _say(runtime, cid, 3, "when do you open on saturday")
    _hang_up(runtime, cid, 4)
    good = server.responder
    server.responder = lambda body: json.dumps({"summary": "x", "resolved": "yes", "case_number": "1003"}) \
        if body.get("response_format") else "We open at 10 am on Saturdays."
    run_id = f"postcall:{cid}:{TOPIC}"
    with _executor(runtime) as executor:
        assert executor.wait_for_runs([run_id], timeout_s=60) == {run_id: "failed"}
        failed = [r for r in server.requests if r.get("response_format")]
        assert len(failed) >= 2  # retried within the step
        run = runtime.store.get_run(run_id)
        assert run is not None and run.error is not None
        assert "resolved: 'yes' is not of type 'boolean'" in run.error
        server.responder = good
        runtime.store.redrive(run_id)
        assert executor.wait_for_runs([run_id], timeout_s=60) == {run_id: "succeeded"}
    assert len([r for r in server.requests if r.get("response_format")]) == len(failed) + 1  # one new request
    assert crm.case(1003)["call_summary"] == "The caller asked about Saturday opening hours for case 1003."


def test_a_non_json_answer_is_a_failed_attempt_not_a_recorded_success(
    runtime: Runtime, server: OpenAIServer, crm: CrmProcess
) -> None:
    cid = "CA-analysis-4"
    asyncio.run(runtime.sessions.start(cid, channel="twilio", caller="+15550100114", event_id=f"{cid}:0"))
    _say(runtime, cid, 1, "when do you open on saturday")
    _hang_up(runtime, cid, 2)
    good = server.responder
    server.responder = lambda body: "Sure! Here is the summary you asked for." if body.get("response_format") else "ok"
    run_id = f"postcall:{cid}:{TOPIC}"
    with _executor(runtime) as executor:
        assert executor.wait_for_runs([run_id], timeout_s=60) == {run_id: "failed"}
        run = runtime.store.get_run(run_id)
        assert run is not None and run.error is not None and "not JSON" in run.error
        bad = [s for s in run.steps if s.kind == "model"]
        assert bad and not any(s.ok for s in bad)
        before = len(server.requests)
        server.responder = good
        runtime.store.redrive(run_id)
        assert executor.wait_for_runs([run_id], timeout_s=60) == {run_id: "succeeded"}
    assert len(server.requests) == before + 1


def test_a_post_call_prompt_slower_than_the_callers_budget_is_waited_for(
    runtime: Runtime, server: OpenAIServer, crm: CrmProcess
) -> None:
    """budget_seconds (8 s here) bounds what a caller waits; the analysis after the call runs by
    the run's policy, so an endpoint slower than the caller's budget still gets its answer."""
    assert runtime.agent.config.model is not None
    cid = "CA-analysis-5"
    asyncio.run(runtime.sessions.start(cid, channel="twilio", caller="+15550100115", event_id=f"{cid}:0"))
    _say(runtime, cid, 1, "1003")
    _say(runtime, cid, 2, "when do you open on saturday")
    _hang_up(runtime, cid, 3)
    config = runtime.agent.root / "agent.yaml" if runtime.agent.root.is_dir() else runtime.agent.root
    assert "budget_seconds: 0.3" in config.read_text(encoding="utf-8")
    server.script.append(Scripted(delay_s=0.8, content=json.dumps(
        {"summary": "A slow summary.", "resolved": True, "case_number": "1003"})))
    run_id = f"postcall:{cid}:{TOPIC}"
    with _executor(runtime) as executor:
        assert executor.wait_for_runs([run_id], timeout_s=60) == {run_id: "succeeded"}
    assert len([r for r in server.requests if r.get("response_format")]) == 1  # one attempt, not cut
    assert crm.case(1003)["call_summary"] == "A slow summary."
