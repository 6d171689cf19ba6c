"""The call-events webhook: schema, signing, replay window, size limit, the reply."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from postcall.channels import events as events_module
from postcall.channels.base import ActivityInput, CallStarted, WebhookRequest
from postcall.channels.events import (
    EventsChannel,
    parse_event,
    render_actions,
    sign,
    signature_headers,
)
from postcall.engine.activity import (
    EmitActivity,
    HangUp,
    Listen,
    Say,
    Transfer,
    TransferToAgent,
    TransferToPhoneNumber,
)
from postcall.errors import ChannelError, ConfigError
from postcall.vocabulary import ActivityType, EndReason

from .conftest import load

SECRET = "whsec_8d3f0c6a2b9e4f1d"
NOW = 1_795_000_000.0
URL = "http://127.0.0.1:8000/channels/events"


def channel(**options: object) -> EventsChannel:
    return EventsChannel(SECRET, now=lambda: NOW, **options)  # type: ignore[arg-type]


def request(
    body: bytes,
    *,
    secret: str = SECRET,
    timestamp: float = NOW,
    headers: dict | None = None,
    url: str = URL,
    method: str = "POST",
) -> WebhookRequest:
    all_headers = {
        "Content-Type": "application/json",
        **signature_headers(secret, body, int(timestamp)),
    }
    all_headers.update(headers or {})
    return WebhookRequest.build(method, url, all_headers, body)


def encode(event: dict) -> bytes:
    return json.dumps(event).encode()


# -- schema ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    load("events/valid_events.json"),
    ids=lambda c: c["event"]["type"] + str(c["event"]["sequence"]),
)
def test_valid_event_translates(case: dict) -> None:
    result = channel().parse(request(encode(case["event"])))
    expect = case["expect"]
    assert type(result).__name__ == expect["kind"]
    assert result.conversation_id == case["event"]["conversation_id"]
    assert (
        result.event_id == f"events:{case['event']['conversation_id']}:{case['event']['sequence']}"
    )
    if "event_id" in expect:
        assert result.event_id == expect["event_id"]
    if isinstance(result, CallStarted):
        assert (result.caller, result.callee) == (expect["caller"], expect["callee"])
        assert result.raw["metadata"] == case["event"]["metadata"]
        return
    assert isinstance(result, ActivityInput)
    activity = result.activity
    assert activity.type == ActivityType(expect["activity_type"])
    assert activity.channel_id == "events"
    assert activity.id == result.event_id
    for key in ("text", "dtmf", "confidence", "name"):
        if key in expect:
            assert getattr(activity, key) == expect[key], key
    for key in ("outcome", "raw", "initiator"):
        if key in expect:
            assert activity.value[key] == expect[key], key
    if "timestamp" in expect:
        assert activity.timestamp.isoformat() == expect["timestamp"]


@pytest.mark.parametrize("case", load("events/invalid_events.json"), ids=lambda c: c["case"])
def test_invalid_event_names_the_field(case: dict) -> None:
    if "raw" in case:
        body = case["raw"].encode()
    elif "raw_hex" in case:
        body = bytes.fromhex(case["raw_hex"])
    else:
        body = encode(case["event"])
    with pytest.raises(ChannelError) as caught:
        channel().parse(request(body))
    assert caught.value.status == 400
    assert caught.value.field == case["field"]
    if case["field"] != "body":
        assert repr(case["field"]) in str(caught.value)


def test_every_event_type_is_covered_by_the_data() -> None:
    covered = {case["event"]["type"] for case in load("events/valid_events.json")}
    assert covered == set(events_module.EVENT_TYPES)


def test_parse_event_is_usable_alone() -> None:
    event, raw = parse_event(
        b'{"conversation_id":"c1","sequence":1,"type":"caller.silence","timestamp":"2026-01-01T00:00:00+00:00"}'
    )
    assert event.event_id == "events:c1:1" and raw["type"] == "caller.silence"


# -- signing -----------------------------------------------------------------------------------


BODY = encode(
    {
        "conversation_id": "c1",
        "sequence": 1,
        "type": "caller.silence",
        "timestamp": "2026-01-01T00:00:00Z",
    }
)


def refused(req: WebhookRequest, **options: object) -> ChannelError:
    with pytest.raises(ChannelError) as caught:
        channel(**options).parse(req)
    assert caught.value.status == 403
    return caught.value


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), b"1795000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, 1795000000, BODY) == f"v1={expected}"


def test_signed_request_is_accepted() -> None:
    assert isinstance(channel().parse(request(BODY)), ActivityInput)


def test_wrong_secret_is_refused() -> None:
    assert refused(request(BODY, secret="other")).field == "X-Postcall-Signature"


def test_tampered_body_is_refused() -> None:
    good = request(BODY)
    tampered = WebhookRequest(good.method, good.url, good.headers, BODY.replace(b"c1", b"c2"))
    refused(tampered)


def test_signature_moved_to_another_timestamp_is_refused() -> None:
    good = request(BODY)
    headers = dict(good.headers.items(), **{"X-Postcall-Timestamp": str(int(NOW) + 1)})
    refused(WebhookRequest.build("POST", URL, headers, BODY))


def test_missing_headers_are_refused() -> None:
    assert refused(WebhookRequest.build("POST", URL, {}, BODY)).field == "X-Postcall-Timestamp"
    only_stamp = {"X-Postcall-Timestamp": str(int(NOW))}
    assert (
        refused(WebhookRequest.build("POST", URL, only_stamp, BODY)).field == "X-Postcall-Signature"
    )


def test_malformed_timestamp_is_refused() -> None:
    for stamp in ("soon", "-5", "1.5", "１２３"):
        req = request(BODY, headers={"X-Postcall-Timestamp": stamp})
        assert refused(req).field == "X-Postcall-Timestamp"


@pytest.mark.parametrize("offset", [-301, 301, -10_000])
def test_timestamp_outside_the_replay_window_is_refused(offset: int) -> None:
    error = refused(request(BODY, timestamp=NOW + offset))
    assert error.field == "X-Postcall-Timestamp" and "300 s" in str(error)


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_timestamp_inside_the_window_is_accepted(offset: int) -> None:
    assert channel().parse(request(BODY, timestamp=NOW + offset)).event_id == "events:c1:1"


def test_replay_window_is_configurable() -> None:
    refused(request(BODY, timestamp=NOW - 61), replay_window_s=60)


def test_several_signatures_and_secrets_for_rotation() -> None:
    stamp = str(int(NOW))
    header = f"v1=deadbeef, {sign('new-secret', stamp, BODY)}"
    req = WebhookRequest.build(
        "POST", URL, {"X-Postcall-Timestamp": stamp, "X-Postcall-Signature": header}, BODY
    )
    rotating = EventsChannel(["old-secret", "new-secret"], now=lambda: NOW)
    assert isinstance(rotating.parse(req), ActivityInput)
    refused(req)  # not with our secret


def test_signatures_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(events_module.hmac, "compare_digest", recording)
    stamp = str(int(NOW))
    header = f"v1={'0' * 64},{sign(SECRET, stamp, BODY)},v1=zz"
    req = WebhookRequest.build(
        "POST", URL, {"X-Postcall-Timestamp": stamp, "X-Postcall-Signature": header}, BODY
    )
    channel().parse(req)
    # Every offered signature was compared (no early exit on the match), each by compare_digest.
    assert len(calls) == 3
    assert all(isinstance(a, bytes) and isinstance(b, bytes) for a, b in calls)


def test_unsigned_request_learns_nothing_about_the_schema() -> None:
    req = WebhookRequest.build("POST", URL, {}, b"not json at all")
    assert refused(req).status == 403


# -- size, path, method, content type -------------------------------------------------------------


def test_body_over_the_limit_is_413() -> None:
    body = encode(
        {
            "conversation_id": "c1",
            "sequence": 1,
            "type": "call.started",
            "timestamp": "2026-01-01T00:00:00Z",
            "metadata": {"blob": "x" * 70_000},
        }
    )
    with pytest.raises(ChannelError) as caught:
        channel().parse(request(body))
    assert (caught.value.status, caught.value.field) == (413, "body")


def test_size_limit_is_configurable() -> None:
    with pytest.raises(ChannelError) as caught:
        channel(max_body_bytes=64).parse(request(BODY))
    assert caught.value.status == 413


def test_wrong_path_is_404_and_wrong_method_400() -> None:
    with pytest.raises(ChannelError) as caught:
        channel().parse(request(BODY, url="http://127.0.0.1:8000/channels/other"))
    assert caught.value.status == 404
    with pytest.raises(ChannelError) as caught:
        channel().parse(request(BODY, method="GET"))
    assert (caught.value.status, caught.value.field) == (400, "method")


def test_content_type_must_be_json() -> None:
    with pytest.raises(ChannelError) as caught:
        channel().parse(request(BODY, headers={"Content-Type": "text/plain"}))
    assert (caught.value.status, caught.value.field) == (400, "Content-Type")


def test_secret_is_required_and_never_shown() -> None:
    with pytest.raises(ConfigError):
        EventsChannel("")
    assert SECRET not in repr(channel())


# -- the reply ---------------------------------------------------------------------------------


def test_render_actions_for_every_output() -> None:
    outputs = [
        Say("Hello", speak="<speak>Hello</speak>", allow_barge_in=False),
        Listen(dtmf_max_digits=4, dtmf_finish_key="#", silence_timeout_ms=7000),
        Transfer(
            TransferToPhoneNumber(
                "+14155550142", sip_uui_header="abc", sipx_headers={"X-A": "1"}, dtmf_sequence="12"
            )
        ),
        Transfer(TransferToAgent(message_to_agent="VIP", context={"case": "C-1"})),
        EmitActivity(ActivityType.EVENT, name="crm.note", value={"n": 1}),
        HangUp(),
    ]
    reply = render_actions(outputs)
    assert [a["type"] for a in reply["actions"]] == [
        "say",
        "listen",
        "transfer",
        "transfer",
        "event",
        "hangup",
    ]
    say, listen, number, agent, event, _ = reply["actions"]
    assert say == {
        "type": "say",
        "text": "Hello",
        "speak": "<speak>Hello</speak>",
        "allow_barge_in": False,
    }
    assert (
        listen["dtmf_max_digits"] == 4
        and listen["dtmf_finish_key"] == "#"
        and listen["silence_timeout_ms"] == 7000
    )
    assert number["target"] == {
        "type": "phone_number",
        "phone_number": "+14155550142",
        "sip_uui_header": "abc",
        "sipx_headers": {"X-A": "1"},
        "dtmf_sequence": "12",
    }
    assert agent["target"] == {
        "type": "agent",
        "message_to_agent": "VIP",
        "context": {"case": "C-1"},
    }
    assert event == {
        "type": "event",
        "activity_type": "event",
        "name": "crm.note",
        "value": {"n": 1},
    }
    assert reply["ended"] is True and reply["end_reason"] is None


def test_render_actions_reports_the_end() -> None:
    assert render_actions([Say("hi"), Listen()]) == {
        "actions": [
            {"type": "say", "text": "hi", "speak": None, "allow_barge_in": True},
            render_actions([Listen()])["actions"][0],
        ],
        "ended": False,
        "end_reason": None,
    }
    ended = render_actions([], ended=True, end_reason=EndReason.BLIND_TRANSFER)
    assert ended == {"actions": [], "ended": True, "end_reason": "BLIND_TRANSFER"}


def test_respond_is_json() -> None:
    reply = channel().respond([Say("hi"), Listen()])
    assert reply.status == 200 and reply.content_type == "application/json"
    assert json.loads(reply.body)["actions"][0]["text"] == "hi"


def test_error_reply_is_json_naming_the_field() -> None:
    reply = channel().error_reply(
        ChannelError("Field 'text' is required.", status=400, field="text")
    )
    assert reply.status == 400
    assert json.loads(reply.body) == {
        "error": {"status": 400, "message": "Field 'text' is required.", "field": "text"}
    }
