"""The seed example end to end against the example CRM (a real process with its own SQLite file):
the CRM is updated on hang-up only; the log topic runs for every end."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from crm.launcher import CrmProcess
from postcall.testing import Conversation

AGENT = Path(__file__).resolve().parents[2] / "examples" / "contoso-support"
CRM_TOPIC = "Post-call CRM update"
LOG_TOPIC = "Post-call log"
_ids = itertools.count(1)


@pytest.fixture
def conv(crm: CrmProcess) -> Iterator[Conversation]:
    c = Conversation(AGENT, env={"crm_BaseUrl": crm.url}, conversation_id=f"contoso-{next(_ids)}")
    yield c
    c.close()


def _outcomes(crm: CrmProcess, conversation_id: str) -> list[dict[str, object]]:
    return [o for o in crm.client.get("/call-outcomes").json() if o["conversation_id"] == conversation_id]


def _look_up_case(conv: Conversation, number: int) -> list[str]:
    conv.start()
    asked = conv.say("I'd like to check on my case")
    assert asked == ["Please say or key in your case number, then press pound."]
    return conv.press(f"{number}#")


def test_greeting_names_the_agent(conv: Conversation) -> None:
    assert conv.start() == [
        "Thank you for calling Contoso Support. I can check the status of a case, help with "
        "billing, or connect you to a person. How can I help?"
    ]
    listen = conv.listening
    assert listen is not None and listen.silence_timeout_ms == 5000


def test_case_status_keyed_on_the_dial_pad(conv: Conversation, crm: CrmProcess, case_number: int) -> None:
    status = crm.case(case_number)["status"].replace("_", " ")
    assert _look_up_case(conv, case_number) == [
        f"Case {case_number}: the status is {status}.",
        "Is there anything else I can help you with?",
    ]
    call = conv.action_calls[0]
    assert call.request.payload["url"] == f"{crm.url}/cases/{case_number}"
    assert call.request.idempotency_key == f"{conv.conversation_id}:Case status:httpRequest_Lk9pQ2"


def test_case_number_spoken_as_digits(conv: Conversation, crm: CrmProcess) -> None:
    conv.start()
    conv.say("what's the status of my case")
    replies = conv.say("one zero zero two")
    assert replies[0] == f"Case 1002: the status is {crm.case(1002)['status'].replace('_', ' ')}."


def test_case_question_listens_for_digits(conv: Conversation) -> None:
    conv.start()
    conv.say("case status")
    listen = conv.listening
    assert listen is not None
    assert (listen.dtmf_min_digits, listen.dtmf_max_digits, listen.dtmf_finish_key) == (4, 8, "#")
    assert listen.silence_timeout_ms == 6000


def test_unknown_case_and_crm_failure(conv: Conversation, crm: CrmProcess, case_number: int) -> None:
    conv.start()
    conv.say("case status")
    assert conv.press("99999#")[0] == "I couldn't find case 99999. Please check the number and ask me again."
    crm.set_faults(status=503, count=5)  # agent.yaml retries 5 times in all, in `chat` as in production
    try:
        conv.say("case status")
        assert conv.press(f"{case_number}#")[0] == "Sorry, I can't reach our case system right now. Please try again later."
    finally:
        crm.clear_faults()
    assert conv.action_calls[-1].result.attempts == 5


def test_hang_up_updates_the_case_and_logs(conv: Conversation, crm: CrmProcess, case_number: int) -> None:
    _look_up_case(conv, case_number)
    end = conv.hang_up()
    assert end is not None and end.reason == "CUSTOMER_HANGUP" and end.initiator == "caller"
    assert [(r.topic, r.status) for r in conv.post_call_runs] == [(CRM_TOPIC, "succeeded"), (LOG_TOPIC, "succeeded")]
    case = crm.case(case_number)
    assert (case["status"], case["end_reason"], case["call_end_time"]) == (
        "in_progress", "CUSTOMER_HANGUP", "2026-01-01T12:00:03.000Z"
    )
    assert case["update_count"] == 1
    keys = crm.requests()["keys"]
    assert keys[f"{conv.conversation_id}:{CRM_TOPIC}:httpRequest_CrmUpd"] == 1
    assert keys[f"{conv.conversation_id}:{LOG_TOPIC}:invokeFlowAction_Oc0m31"] == 1
    (outcome,) = _outcomes(crm, conv.conversation_id)
    assert outcome["case_number"] == case_number and outcome["end_reason"] == "CUSTOMER_HANGUP"
    assert outcome["data"] == {
        "conversation_id": conv.conversation_id, "end_reason": "CUSTOMER_HANGUP",
        "end_time": "2026-01-01T12:00:03.000Z", "case_number": str(case_number),
    }
    (event,) = conv.telemetry
    assert event["event_name"] == "PostCallOutcome"
    assert event["properties"]["EndReason"] == "CUSTOMER_HANGUP"
    assert conv.run(LOG_TOPIC).steps[-1]["result"]["outputs"]["id"] == outcome["id"]


@pytest.mark.parametrize(
    ("ask", "reason"),
    [("I have a question about my bill", "BLIND_TRANSFER"), ("talk to a person", "CCAAS_TRANSFER")],
)
def test_transfers_log_but_do_not_update_the_case(
    conv: Conversation, crm: CrmProcess, case_number: int, ask: str, reason: str
) -> None:
    _look_up_case(conv, case_number)
    conv.say(ask)
    assert len(conv.transfers) == 1
    conv.transfer_result("answered")
    assert conv.end is not None and conv.end.reason == reason
    assert [r.topic for r in conv.post_call_runs] == [LOG_TOPIC]
    assert crm.case(case_number)["update_count"] == 0
    (outcome,) = _outcomes(crm, conv.conversation_id)
    assert outcome["end_reason"] == reason


def test_billing_transfers_to_the_billing_number(conv: Conversation) -> None:
    conv.start()
    assert conv.say("I was charged twice") == ["I'll transfer you to our billing team."]
    (transfer,) = conv.transfers
    assert transfer.target.phone_number == "+15550100200"  # type: ignore[union-attr]
    assert transfer.target.sip_uui_header == conv.conversation_id  # type: ignore[union-attr]


def test_busy_transfer_goes_back_to_the_agent_then_hang_up_updates(conv: Conversation, crm: CrmProcess, case_number: int) -> None:
    _look_up_case(conv, case_number)
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
    assert crm.case(case_number)["end_reason"] == "CUSTOMER_HANGUP"


def test_goodbye_hangs_up_as_agent_and_only_logs(conv: Conversation, crm: CrmProcess, case_number: int) -> None:
    _look_up_case(conv, case_number)
    assert conv.say("that's all, goodbye") == ["Thank you for calling Contoso. Goodbye!"]
    assert conv.hung_up
    assert conv.end is not None and conv.end.reason == "AGENT_HANGUP"
    assert [r.topic for r in conv.post_call_runs] == [LOG_TOPIC]
    assert crm.case(case_number)["update_count"] == 0


def test_hang_up_without_a_case_skips_the_patch(conv: Conversation, crm: CrmProcess) -> None:
    conv.start()
    conv.hang_up()
    assert [(r.topic, r.status) for r in conv.post_call_runs] == [(CRM_TOPIC, "succeeded"), (LOG_TOPIC, "succeeded")]
    assert not any(c.request.payload.get("method") == "PATCH" for c in conv.action_calls)
    (outcome,) = _outcomes(crm, conv.conversation_id)
    assert outcome["case_number"] is None


def test_rerunning_post_call_topics_applies_the_update_once(conv: Conversation, crm: CrmProcess, case_number: int) -> None:
    _look_up_case(conv, case_number)
    conv.hang_up()
    conv.run_post_call_topics()  # a redrive: the same idempotency keys
    assert crm.requests()["keys"][f"{conv.conversation_id}:{CRM_TOPIC}:httpRequest_CrmUpd"] == 2
    assert crm.case(case_number)["update_count"] == 1
    assert len(_outcomes(crm, conv.conversation_id)) == 1


def test_crm_failure_fails_only_its_own_run(conv: Conversation, crm: CrmProcess, case_number: int) -> None:
    _look_up_case(conv, case_number)
    crm.set_faults(status=500, count=5)  # every attempt the retry policy allows
    try:
        conv.hang_up()
    finally:
        crm.clear_faults()
    crm_run, log_run = conv.post_call_runs
    assert (crm_run.topic, crm_run.status) == (CRM_TOPIC, "failed")
    assert "HTTP 500" in (crm_run.error or "")
    assert (log_run.topic, log_run.status) == (LOG_TOPIC, "succeeded")


def test_three_misunderstandings_escalate_to_a_person(conv: Conversation) -> None:
    conv.start()
    sorry = "Sorry, I didn't understand. You can ask about a case, billing, or talking to a person."
    assert conv.say("what's the weather") == [sorry]
    assert conv.say("tell me a joke") == [sorry]
    assert conv.say("purple elephants") == ["Connecting you to a support agent now. Please hold."]
    assert len(conv.transfers) == 1 and conv.state.waiting_for == "transfer"


def test_asking_for_a_person_during_the_case_question_cancels_it(conv: Conversation) -> None:
    conv.start()
    conv.say("case status")
    assert conv.say("actually let me talk to a person") == ["Connecting you to a support agent now. Please hold."]
    conv.transfer_result("failed")
    assert conv.state.stack == [] and conv.replies[-1].startswith("Sorry, no one could take your call")
