"""CallEventsClient against a real HTTP server on 127.0.0.1 speaking the call-events channel,
through the same call scenarios as the Twilio simulator."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from postcall.channels.events import EventsChannel, signature_headers
from postcall.devtools.events_client import CallEventsClient
from postcall.engine.activity import EndReason
from postcall.errors import ChannelError, ConfigError

from .harness import ScriptedRuntime, WebhookServer

SECRET = "whsec_3b1f9d27c4e84a06"


@pytest.fixture
def served() -> Iterator[tuple[ScriptedRuntime, CallEventsClient]]:
    runtime = ScriptedRuntime(events=EventsChannel(SECRET))
    with (
        WebhookServer(runtime.handle_events) as server,
        CallEventsClient(server.url, SECRET) as client,
    ):
        yield runtime, client


def test_call_started_answers_with_the_greeting(
    served: tuple[ScriptedRuntime, CallEventsClient],
) -> None:
    runtime, client = served
    reply = client.call_started(
        "vapi-1", caller="+15550100", callee="+15550199", metadata={"provider": "vapi"}
    )
    assert [a["type"] for a in reply["actions"]] == ["say", "listen"]
    assert reply["actions"][0]["text"] == "Hello, how can I help?"
    assert reply == {**reply, "ended": False, "end_reason": None}
    assert runtime.conversations["vapi-1"].turn == 1


def test_caller_hangs_up(served: tuple[ScriptedRuntime, CallEventsClient]) -> None:
    runtime, client = served
    client.call_started("c1")
    reply = client.caller_said("c1", "What are your hours?", confidence=0.8)
    assert reply["actions"][0]["text"] == "You said: What are your hours?."
    reply = client.call_ended("c1", "caller", raw_reason="customer-ended-call")
    assert reply["ended"] is True and reply["end_reason"] == "CUSTOMER_HANGUP"
    assert runtime.conversations["c1"].end_reason == EndReason.CUSTOMER_HANGUP


def test_transfer_answered(served: tuple[ScriptedRuntime, CallEventsClient]) -> None:
    runtime, client = served
    client.call_started("c2")
    reply = client.caller_said("c2", "transfer me")
    assert reply["actions"][-1]["type"] == "transfer"
    assert reply["actions"][-1]["target"]["phone_number"] == ScriptedRuntime.PHONE
    reply = client.transfer_answered("c2", raw_reason="transfer_bridged")
    assert reply["end_reason"] == "BLIND_TRANSFER"
    client.call_ended("c2", "caller")
    assert runtime.conversations["c2"].end_reason == EndReason.BLIND_TRANSFER


def test_busy_transfer_then_the_caller_hangs_up(
    served: tuple[ScriptedRuntime, CallEventsClient],
) -> None:
    runtime, client = served
    client.call_started("c3")
    client.caller_said("c3", "transfer me")
    reply = client.transfer_failed("c3", "busy", raw_reason="dial_busy")
    assert reply["ended"] is False and "busy" in reply["actions"][0]["text"]
    client.caller_said("c3", "ok never mind")
    client.call_ended("c3", "caller")
    assert runtime.conversations["c3"].end_reason == EndReason.CUSTOMER_HANGUP


def test_escalation(served: tuple[ScriptedRuntime, CallEventsClient]) -> None:
    runtime, client = served
    client.call_started("c4")
    reply = client.caller_said("c4", "let me speak to an agent")
    assert reply["actions"][-1]["target"] == {
        "type": "agent",
        "message_to_agent": "Caller asked for a person",
        "context": {"topic": "billing"},
    }
    assert client.transfer_answered("c4")["end_reason"] == "CCAAS_TRANSFER"


def test_agent_hangs_up(served: tuple[ScriptedRuntime, CallEventsClient]) -> None:
    runtime, client = served
    client.call_started("c5")
    reply = client.caller_said("c5", "bye")
    assert [a["type"] for a in reply["actions"]] == ["say", "hangup"]
    assert reply["end_reason"] == "AGENT_HANGUP"
    client.call_ended("c5", "agent", raw_reason="assistant-ended-call")
    assert runtime.conversations["c5"].end_reason == EndReason.AGENT_HANGUP


def test_caller_hangs_up_while_the_transfer_rings(
    served: tuple[ScriptedRuntime, CallEventsClient],
) -> None:
    runtime, client = served
    client.call_started("c6")
    client.caller_said("c6", "transfer me")
    client.call_ended("c6", "caller", raw_reason="customer-ended-call-during-transfer")
    conv = runtime.conversations["c6"]
    assert conv.end_reason == EndReason.CUSTOMER_HANGUP and conv.transfer_abandoned


def test_dtmf_silence_and_unrecognized(served: tuple[ScriptedRuntime, CallEventsClient]) -> None:
    _, client = served
    client.call_started("c7")
    assert client.caller_dtmf("c7", "42#")["actions"][0]["text"] == "You pressed 42#."
    assert client.caller_silence("c7")["actions"][0]["text"] == "Are you still there?"
    assert client.caller_unrecognized("c7")["actions"][0]["text"].startswith("You said")


def test_replayed_event_changes_nothing(served: tuple[ScriptedRuntime, CallEventsClient]) -> None:
    runtime, client = served
    client.call_started("c8")
    event = client.prepare({"type": "call.ended", "conversation_id": "c8", "initiator": "caller"})
    first, second = client.send(event), client.send(event)
    assert first == second
    conv = runtime.conversations["c8"]
    assert conv.duplicates == 1 and conv.end_signals == 1


def test_sequence_numbers_count_per_conversation(
    served: tuple[ScriptedRuntime, CallEventsClient],
) -> None:
    runtime, client = served
    client.call_started("a")
    client.call_started("b")
    client.caller_said("a", "one")
    ids = [inp.event_id for inp in runtime.conversations["a"].inputs]
    assert ids == ["events:a:1", "events:a:2"]
    assert [inp.event_id for inp in runtime.conversations["b"].inputs] == ["events:b:1"]


def test_refused_event_raises_with_the_field(
    served: tuple[ScriptedRuntime, CallEventsClient],
) -> None:
    runtime, client = served
    client.call_started("c9")
    with pytest.raises(ChannelError) as caught:
        client.caller_dtmf("c9", "12x")
    assert (caught.value.status, caught.value.field) == (400, "digits")
    with pytest.raises(ChannelError) as caught:
        client.caller_said("nobody", "hello")
    assert (caught.value.status, caught.value.field) == (404, "conversation_id")


def test_wrong_secret_is_403_and_records_nothing(
    served: tuple[ScriptedRuntime, CallEventsClient],
) -> None:
    runtime, client = served
    with CallEventsClient(client.url.rsplit("/channels", 1)[0], "wrong-secret") as other:
        with pytest.raises(ChannelError) as caught:
            other.call_started("x1")
    assert (caught.value.status, caught.value.field) == (403, "X-Postcall-Signature")
    assert runtime.conversations == {}


def test_oversized_body_is_413(served: tuple[ScriptedRuntime, CallEventsClient]) -> None:
    _, client = served
    body = json.dumps(
        {
            "conversation_id": "c",
            "sequence": 1,
            "type": "call.started",
            "timestamp": "2026-01-01T00:00:00Z",
            "metadata": {"x": "y" * 70_000},
        }
    ).encode()
    headers = {"Content-Type": "application/json", **signature_headers(SECRET, body)}
    response = httpx.post(client.url, content=body, headers=headers)
    assert response.status_code == 413
    assert response.json()["error"]["field"] == "body"


def test_client_needs_a_secret() -> None:
    with pytest.raises(ConfigError):
        CallEventsClient("http://127.0.0.1:1", "")
    with CallEventsClient("http://127.0.0.1:1", "s3cret") as client:
        assert "s3cret" not in repr(client)
