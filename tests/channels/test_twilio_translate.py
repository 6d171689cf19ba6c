"""Every Twilio webhook, from recorded parameter sets, to what it means for the runtime."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from postcall.channels.base import Acknowledge, ActivityInput, CallStarted, WebhookRequest
from postcall.channels.twilio import TwilioChannel, translate
from postcall.errors import ChannelError
from postcall.vocabulary import ActivityType

from .conftest import DATA, TOKEN, load, twilio_request

NOW = dt.datetime(2026, 11, 24, 17, 0, tzinfo=dt.UTC)
RECORDED = sorted(path.name for path in (DATA / "twilio").glob("*.json"))


def _channel(case: dict) -> TwilioChannel:
    return TwilioChannel(
        case.get("auth_token", TOKEN),
        base_path=case.get("base_path", "/channels/twilio"),
        now=lambda: NOW,
    )


def _request(case: dict) -> WebhookRequest:
    if "signature" in case:  # recorded together with Twilio's own signature
        return twilio_request(case["url"], case["params"], signature=case["signature"])
    return twilio_request(case["url"], case["params"])


@pytest.mark.parametrize("name", RECORDED)
def test_recorded_webhook_translates(name: str) -> None:
    case = load(f"twilio/{name}")
    expect = case["expect"]
    result = _channel(case).parse(_request(case))

    assert type(result).__name__ == expect["kind"]
    assert result.conversation_id == expect["conversation_id"]
    if "event_id" in expect:
        assert result.event_id == expect["event_id"]
    if isinstance(result, CallStarted):
        assert (result.caller, result.callee) == (expect["caller"], expect["callee"])
        assert result.raw["CallSid"] == expect["conversation_id"]
        return
    if isinstance(result, Acknowledge):
        return
    assert isinstance(result, ActivityInput)
    activity = result.activity
    assert activity.type == ActivityType(expect["activity_type"])
    assert activity.channel_id == "twilio"
    assert activity.id  # every activity carries an id, even when it cannot be deduplicated
    if "turn" in expect:
        assert result.turn == expect["turn"]
    for key in ("text", "dtmf", "confidence", "name"):
        if key in expect:
            assert getattr(activity, key) == expect[key], key
    if "outcome" in expect:
        assert activity.value["outcome"] == expect["outcome"]
    if "raw" in expect:
        assert activity.value["raw"] == expect["raw"]
    if "initiator" in expect:
        assert activity.value["initiator"] == expect["initiator"]
    if "duration_s" in expect:
        assert activity.value["duration_s"] == expect["duration_s"]
    if "timestamp" in expect:
        assert activity.timestamp.isoformat() == expect["timestamp"]
    # The provider's parameters travel with the activity for the record.
    assert activity.channel_data["twilio"]["CallSid"] == case["params"]["CallSid"]


def test_every_endpoint_has_a_recorded_payload() -> None:
    endpoints = {Path(load(f"twilio/{name}")["url"].split("?")[0]).name for name in RECORDED}
    assert endpoints >= {
        "voice",
        "gather",
        "status",
        "dial",
        "dial-status",
        "enqueue",
        "enqueue-wait",
    }


@pytest.mark.parametrize("case", load("twilio_invalid.json"), ids=lambda c: c["case"])
def test_bad_webhook_names_the_field(case: dict) -> None:
    channel = TwilioChannel(TOKEN, now=lambda: NOW)
    with pytest.raises(ChannelError) as caught:
        channel.parse(twilio_request(case["url"], case["params"]))
    assert caught.value.status == case["status"]
    assert caught.value.field == case["field"]
    assert case["field"] in str(caught.value) or case["status"] == 404


def test_retried_callback_has_the_same_event_id() -> None:
    case = load("twilio/status_completed.json")
    channel = _channel(case)
    first, second = channel.parse(_request(case)), channel.parse(_request(case))
    assert first.event_id == second.event_id is not None


def test_gather_without_turn_cannot_be_deduplicated() -> None:
    case = load("twilio/gather_speech.json")
    url = case["url"].split("?")[0]
    result = _channel(case).parse(twilio_request(url, case["params"]))
    assert isinstance(result, ActivityInput)
    assert result.event_id is None and result.turn is None
    assert result.activity.text == case["params"]["SpeechResult"]


def test_different_gathers_have_different_event_ids() -> None:
    speech, digits = load("twilio/gather_speech.json"), load("twilio/gather_digits.json")
    a, b = _channel(speech).parse(_request(speech)), _channel(digits).parse(_request(digits))
    assert a.event_id != b.event_id


def test_child_leg_answered_and_dial_action_concern_the_parent_call() -> None:
    child, action = load("twilio/dial_status_answered.json"), load("twilio/dial_completed.json")
    a, b = _channel(child).parse(_request(child)), _channel(action).parse(_request(action))
    assert a.conversation_id == b.conversation_id == action["params"]["CallSid"]
    assert isinstance(a, ActivityInput) and isinstance(b, ActivityInput)
    assert a.activity.value["outcome"] == b.activity.value["outcome"] == "answered"


def test_translate_is_pure() -> None:
    case = load("twilio/gather_speech.json")
    one = translate("gather", case["params"], {"turn": "2"}, NOW)
    two = translate("gather", case["params"], {"turn": "2"}, NOW)
    assert one == two


def test_get_webhook_reads_the_query() -> None:
    case = load("twilio/voice_incoming.json")
    result = TwilioChannel(TOKEN).parse(twilio_request(case["url"], case["params"], method="GET"))
    assert isinstance(result, CallStarted)
    assert result.conversation_id == case["params"]["CallSid"]


def test_unsupported_method_is_400() -> None:
    request = WebhookRequest.build(
        "PUT", "https://voice.example.com/channels/twilio/voice", {}, b""
    )
    with pytest.raises(ChannelError) as caught:
        TwilioChannel(TOKEN).parse(request)
    assert (caught.value.status, caught.value.field) == (400, "method")
