"""postcall.testing: the in-process conversation harness and its action runner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from postcall.engine.activity import Say
from postcall.errors import TopicError
from postcall.testing import Conversation
from testing import sample_flows
from testing.crm_server import CrmServer

HARNESS = Path(__file__).resolve().parent / "agents" / "harness"


@pytest.fixture
def conv(crm: CrmServer) -> Iterator[Conversation]:
    with Conversation(HARNESS, env={"api": crm.url}, conversation_id="h-1") as c:
        yield c


def test_backend_actions_run_over_real_http_with_the_idempotency_key(conv: Conversation, crm: CrmServer) -> None:
    conv.start()
    assert conv.say("fetch it") == ["Got Router keeps rebooting."]
    (request,) = crm.requests("GET", "/cases/12345")
    assert request["headers"]["idempotency-key"] == "h-1:Fetch:httpRequest_fetch"
    conv.say("fetch it")
    second = crm.requests("GET", "/cases/12345")[1]
    assert second["headers"]["idempotency-key"] == "h-1:Fetch:httpRequest_fetch#2"


def test_hosts_outside_allowed_hosts_are_refused(conv: Conversation, crm: CrmServer) -> None:
    conv.start()
    assert conv.say("go elsewhere") == ["status 0 body Refused to send an HTTP request to 10.1.2.3: it is a private address, which needs an explicit allowed_hosts entry (for port 80)."]
    (call,) = conv.action_calls
    assert call.result.error_category == "refused_host"


def test_python_flows_and_post_call_runs(conv: Conversation) -> None:
    sample_flows.CALLS.clear()
    conv.start()
    conv.hang_up()
    (run,) = conv.post_call_runs
    assert (run.topic, run.status) == ("Py flow", "succeeded")
    assert sample_flows.CALLS == [{"reason": "CUSTOMER_HANGUP"}]
    assert [r.kind for r in run.requests] == ["flow", "log"]
    assert run.requests[1].payload["properties"] == {"result": "recorded CUSTOMER_HANGUP"}
    assert conv.run("Py flow") is run
    with pytest.raises(KeyError, match="did not run"):
        conv.run("Nope")


def test_report_json_has_the_documented_keys(conv: Conversation) -> None:
    conv.start()
    conv.say("fetch it")
    conv.hang_up()
    report = conv.to_json()
    assert report["conversation_id"] == "h-1"
    assert report["transcript"] == [
        {"from": "caller", "text": "fetch it"},
        {"from": "agent", "text": "Got Router keeps rebooting."},
        {"from": "caller", "text": "[hung up]"},
    ]
    assert report["end"]["reason"] == "CUSTOMER_HANGUP"
    assert report["end"]["initiator"] == "caller"
    assert set(report["end"]["detail"]) >= {"initiator", "raw", "started_at", "ended_at", "transfer"}
    assert [(r["topic"], r["status"]) for r in report["post_call_runs"]] == [("Py flow", "succeeded")]
    assert report["post_call_runs"][0]["steps"][0]["request"]["kind"] == "flow"


def test_replies_listening_and_default_fallback(conv: Conversation) -> None:
    assert conv.start() == []  # this agent has no greeting
    assert conv.listening is not None
    # Unrelated to both topics ("something else entirely" shares "else" with the topic name
    # "Elsewhere": cosine 0.22, at the embedded recogniser's floor since it was calibrated to 0.22).
    assert conv.say("I would like to order a pizza") == ["Sorry, I didn't catch that. Could you say it another way?"]
    assert [type(o).__name__ for o in conv.outputs] == ["Listen", "Say", "Listen"]
    assert isinstance(conv.outputs[1], Say)


def test_an_agent_with_errors_raises_with_every_diagnostic(tmp_path: Path) -> None:
    (tmp_path / "topics").mkdir()
    (tmp_path / "topics" / "A.topic.yaml").write_text("kind: AdaptiveDialog\nbeginDialog: [oops\n")
    with pytest.raises(TopicError) as info:
        Conversation(tmp_path)
    assert "A.topic.yaml" in str(info.value) and info.value.diagnostics


def test_post_call_topics_can_be_left_to_the_caller(crm: CrmServer) -> None:
    with Conversation(HARNESS, env={"api": crm.url}, run_post_call=False) as c:
        c.start()
        c.hang_up()
        assert c.post_call_runs == [] and c.end_snapshot is not None
        assert [r.topic for r in c.run_post_call_topics()] == ["Py flow"]
