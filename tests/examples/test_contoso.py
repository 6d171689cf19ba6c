"""The seed example end to end over real HTTP: CRM updated on hang-up only; the log topic always."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from postcall.testing import Conversation
from testing.crm_server import CrmServer

AGENT = Path(__file__).resolve().parents[2] / "examples" / "contoso-support"
CRM_TOPIC = "Post-call CRM update"
LOG_TOPIC = "Post-call log"


@pytest.fixture
def conv(crm: CrmServer) -> Iterator[Conversation]:
    c = Conversation(AGENT, env={"crm_BaseUrl": crm.url}, conversation_id="call-1")
    yield c
    c.close()


def _look_up_case(conv: Conversation, number: str = "12345") -> list[str]:
    conv.start()
    asked = conv.say("I'd like to check on my case")
    assert asked == ["Please say or key in your case number, then press pound."]
    return conv.press(number + "#")


def test_greeting_names_the_agent(conv: Conversation) -> None:
    assert conv.start() == [
        "Thank you for calling Contoso Support. I can check the status of a case, help with "
        "billing, or connect you to a person. How can I help?"
    ]
    listen = conv.listening
    assert listen is not None and listen.silence_timeout_ms == 5000


def test_case_status_keyed_on_the_dial_pad(conv: Conversation, crm: CrmServer) -> None:
    replies = _look_up_case(conv)
    assert replies == [
        "Case 12345, Router keeps rebooting: the status is Open.",
        "Is there anything else I can help you with?",
    ]
    (lookup,) = crm.requests("GET", "/cases/12345")
    assert lookup["headers"]["idempotency-key"] == "call-1:Case status:httpRequest_Lk9pQ2"


def test_case_number_spoken_as_digits(conv: Conversation) -> None:
    conv.start()
    conv.say("what's the status of my case")
    replies = conv.say("four two four two")
    assert replies[0] == "Case 4242, Refund request: the status is Waiting on customer."


def test_case_question_listens_for_digits(conv: Conversation) -> None:
    conv.start()
    conv.say("case status")
    listen = conv.listening
    assert listen is not None
    assert (listen.dtmf_min_digits, listen.dtmf_max_digits, listen.dtmf_finish_key) == (4, 8, "#")
    assert listen.silence_timeout_ms == 6000


def test_unknown_case_and_crm_failure(conv: Conversation, crm: CrmServer) -> None:
    conv.start()
    conv.say("case status")
    assert conv.press("99999#")[0] == "I couldn't find case 99999. Please check the number and ask me again."
    crm.fail("/cases/12345", 503)
    conv.say("case status")
    assert conv.press("12345#")[0] == "Sorry, I can't reach our case system right now. Please try again later."


def test_hang_up_updates_the_case_and_logs(conv: Conversation, crm: CrmServer) -> None:
    _look_up_case(conv)
    end = conv.hang_up()
    assert end is not None and end.reason == "CUSTOMER_HANGUP" and end.initiator == "caller"
    assert [(r.topic, r.status) for r in conv.post_call_runs] == [
        (CRM_TOPIC, "succeeded"),
        (LOG_TOPIC, "succeeded"),
    ]
    case = crm.case("12345")
    assert case is not None
    assert case["status"] == "Caller hung up"
    assert case["lastCallEndReason"] == "CUSTOMER_HANGUP"
    assert case["lastCallEndTime"] == "2026-01-01T12:00:03.000Z"
    assert case["conversationId"] == "call-1"
    (patch,) = crm.requests("PATCH", "/cases/12345")
    assert patch["headers"]["idempotency-key"] == f"call-1:{CRM_TOPIC}:httpRequest_CrmUpd"
    (outcome,) = crm.requests("POST", "/call-outcomes")
    assert json.loads(outcome["body"]) == {
        "conversationId": "call-1",
        "endReason": "CUSTOMER_HANGUP",
        "endTime": "2026-01-01T12:00:03.000Z",
        "caseNumber": "12345",
    }
    assert outcome["headers"]["idempotency-key"] == f"call-1:{LOG_TOPIC}:invokeFlowAction_Oc0m31"
    (event,) = conv.telemetry
    assert event["event_name"] == "PostCallOutcome"
    assert event["properties"]["EndReason"] == "CUSTOMER_HANGUP"
    assert conv.run(LOG_TOPIC).steps[-1]["result"]["outputs"] == {"outcomeId": "oc-1"}


@pytest.mark.parametrize(
    ("ask", "reason"),
    [("I have a question about my bill", "BLIND_TRANSFER"), ("talk to a person", "CCAAS_TRANSFER")],
)
def test_transfers_log_but_do_not_update_the_case(
    conv: Conversation, crm: CrmServer, ask: str, reason: str
) -> None:
    _look_up_case(conv)
    conv.say(ask)
    (transfer,) = conv.transfers
    conv.transfer_result("answered")
    assert conv.end is not None and conv.end.reason == reason
    assert [r.topic for r in conv.post_call_runs] == [LOG_TOPIC]
    assert crm.requests("PATCH") == []
    assert crm.case("12345")["status"] == "Open"  # type: ignore[index]
    (outcome,) = crm.requests("POST", "/call-outcomes")
    assert json.loads(outcome["body"])["endReason"] == reason


def test_billing_transfers_to_the_billing_number(conv: Conversation) -> None:
    conv.start()
    assert conv.say("I was charged twice") == ["I'll transfer you to our billing team."]
    (transfer,) = conv.transfers
    assert transfer.target.phone_number == "+15550100200"  # type: ignore[union-attr]
    assert transfer.target.sip_uui_header == "call-1"  # type: ignore[union-attr]


def test_busy_transfer_goes_back_to_the_agent_then_hang_up_updates(conv: Conversation, crm: CrmServer) -> None:
    _look_up_case(conv)
    conv.say("billing")
    assert conv.transfer_result("busy") == [
        "The billing team couldn't take your call. Is there anything else I can help you with?"
    ]
    assert not conv.ended
    assert conv.state.system["Transfer.Outcome"] == "busy"
    conv.hang_up()
    assert conv.end is not None and conv.end.reason == "CUSTOMER_HANGUP"
    assert conv.end.transfer is not None and conv.end.transfer.outcome == "busy"
    assert [r.topic for r in conv.post_call_runs] == [CRM_TOPIC, LOG_TOPIC]


def test_goodbye_hangs_up_as_agent_and_only_logs(conv: Conversation, crm: CrmServer) -> None:
    _look_up_case(conv)
    assert conv.say("that's all, goodbye") == ["Thank you for calling Contoso. Goodbye!"]
    assert conv.hung_up
    assert conv.end is not None and conv.end.reason == "AGENT_HANGUP"
    assert [r.topic for r in conv.post_call_runs] == [LOG_TOPIC]
    assert crm.requests("PATCH") == []


def test_hang_up_without_a_case_skips_the_patch(conv: Conversation, crm: CrmServer) -> None:
    conv.start()
    conv.hang_up()
    assert [(r.topic, r.status) for r in conv.post_call_runs] == [(CRM_TOPIC, "succeeded"), (LOG_TOPIC, "succeeded")]
    assert crm.requests("PATCH") == []


def test_rerunning_post_call_topics_applies_the_update_once(conv: Conversation, crm: CrmServer) -> None:
    _look_up_case(conv)
    conv.hang_up()
    conv.run_post_call_topics()  # a redrive: same idempotency keys
    assert len(crm.requests("PATCH", "/cases/12345")) == 2
    assert crm.case("12345")["updates"] == 1  # type: ignore[index]
    keys = {r["headers"]["idempotency-key"] for r in crm.requests("PATCH")}
    assert keys == {f"call-1:{CRM_TOPIC}:httpRequest_CrmUpd"}


def test_crm_failure_fails_only_its_own_run(conv: Conversation, crm: CrmServer) -> None:
    _look_up_case(conv)
    crm.fail("/cases/12345", 500)
    conv.hang_up()
    crm_run, log_run = conv.post_call_runs
    assert (crm_run.topic, crm_run.status) == (CRM_TOPIC, "failed")
    assert "HTTP 500" in (crm_run.error or "")
    assert (log_run.topic, log_run.status) == (LOG_TOPIC, "succeeded")
