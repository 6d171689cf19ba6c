"""Property tests: whatever arrives, a channel answers with an input or a ChannelError, never
another exception; whatever the agent says, the TwiML is a well-formed document."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from postcall.channels.base import Acknowledge, ActivityInput, CallStarted, WebhookRequest
from postcall.channels.events import EventsChannel, render_actions, signature_headers
from postcall.channels.twilio import ENDPOINTS, TwilioChannel
from postcall.channels.twilio_twiml import (
    AgentTransferSettings,
    TwilioSettings,
    TwilioVoiceSettings,
    render_twiml,
)
from postcall.engine.activity import (
    HangUp,
    Listen,
    Say,
    Transfer,
    TransferToAgent,
    TransferToPhoneNumber,
)
from postcall.errors import ChannelError

from .conftest import TOKEN, load

SECRET = "fuzz-secret"
NOW = 1_795_000_000.0
INPUTS = (CallStarted, ActivityInput, Acknowledge)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

twilio_channel = TwilioChannel(TOKEN)
events_channel = EventsChannel(SECRET, now=lambda: NOW)

header_names = st.sampled_from(
    [
        "X-Twilio-Signature",
        "Content-Type",
        "X-Postcall-Timestamp",
        "X-Postcall-Signature",
        "X-Twilio-Webhooks-Signature-Settings",
        "Host",
    ]
)
headers = st.dictionaries(header_names, st.text(max_size=80))
paths = st.one_of(
    st.sampled_from([f"/channels/twilio/{e}" for e in ENDPOINTS] + ["/channels/events"]),
    st.text(max_size=40).map(lambda t: "/" + t),
)
queries = st.one_of(
    st.just(""),
    st.text(max_size=30).map(lambda t: "?" + t),
    st.integers(-5, 10**14).map(lambda n: f"?turn={n}"),
)
urls = st.builds(
    lambda scheme, host, path, query: f"{scheme}://{host}{path}{query}",
    st.sampled_from(["http", "https"]),
    st.sampled_from(["127.0.0.1:8000", "voice.example.com", "h:99999", "[::1]"]),
    paths,
    queries,
)
methods = st.sampled_from(["POST", "GET", "PUT", "post", "DELETE"])
bodies = st.one_of(st.binary(max_size=400), st.text(max_size=400).map(str.encode))


@FUZZ
@given(method=methods, url=urls, headers=headers, body=bodies)
def test_twilio_any_request_gives_an_input_or_a_channel_error(
    method: str, url: str, headers: dict, body: bytes
) -> None:
    request = WebhookRequest.build(method, url, headers, body)
    try:
        result = twilio_channel.parse(request)
    except ChannelError as error:
        assert error.status in (400, 403, 404, 413)
    else:
        assert isinstance(result, INPUTS)


param_names = st.sampled_from(
    [
        "CallSid",
        "ParentCallSid",
        "CallStatus",
        "SpeechResult",
        "Confidence",
        "Digits",
        "DialCallStatus",
        "DialCallSid",
        "QueueResult",
        "SequenceNumber",
        "Timestamp",
        "CallDuration",
        "From",
        "To",
        "SipResponseCode",
    ]
)
param_values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "CA5f2c8f2e8b7d4c1a9e6b3d0f1a2b3c4d",
            "completed",
            "in-progress",
            "busy",
            "no-answer",
            "0.5",
            "1e400",
            "nan",
            "-0",
            "123",
            "Tue, 24 Nov 2026 17:21:38 +0000",
            "Mon, 99 Foo 2026",
        ]
    ),
)


signed_queries = st.one_of(
    st.just(""),
    st.integers(-5, 10**14).map(lambda n: f"?turn={n}"),
    st.text(st.characters(codec="ascii", categories=["L", "N"]), max_size=8).map(
        lambda t: f"?turn={t}"
    ),
    st.just("?turn=1&failed=invalid-target"),
)


@FUZZ
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    params=st.dictionaries(param_names, param_values, max_size=10),
    query=signed_queries,
)
def test_twilio_any_signed_parameters_give_an_input_or_a_400(
    endpoint: str, params: dict, query: str
) -> None:
    url = f"https://voice.example.com/channels/twilio/{endpoint}{query}"
    signature = RequestValidator(TOKEN).compute_signature(url, params)
    request = WebhookRequest.build(
        "POST", url, {"X-Twilio-Signature": signature}, urlencode(params).encode()
    )
    try:
        result = twilio_channel.parse(request)
    except ChannelError as error:
        assert error.status == 400 and error.field
    else:
        assert isinstance(result, INPUTS)
        assert result.conversation_id


@FUZZ
@given(method=methods, url=urls, headers=headers, body=bodies)
def test_events_any_request_gives_an_input_or_a_channel_error(
    method: str, url: str, headers: dict, body: bytes
) -> None:
    try:
        result = events_channel.parse(WebhookRequest.build(method, url, headers, body))
    except ChannelError as error:
        assert error.status in (400, 403, 404, 413)
    else:
        assert isinstance(result, INPUTS)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=10,
)
event_fields = st.sampled_from(
    [
        "conversation_id",
        "sequence",
        "type",
        "timestamp",
        "text",
        "confidence",
        "digits",
        "outcome",
        "initiator",
        "raw_reason",
        "caller",
        "callee",
        "metadata",
    ]
)
valid_event = load("events/valid_events.json")[1]["event"]


@FUZZ
@given(
    changes=st.dictionaries(event_fields, json_values, max_size=4),
    drop=st.sets(event_fields, max_size=3),
)
def test_events_any_signed_json_gives_an_input_or_a_400(changes: dict, drop: set) -> None:
    event = {k: v for k, v in {**valid_event, **changes}.items() if k not in drop}
    body = json.dumps(event).encode()
    headers = {"Content-Type": "application/json", **signature_headers(SECRET, body, int(NOW))}
    try:
        result = events_channel.parse(
            WebhookRequest.build("POST", "http://127.0.0.1/channels/events", headers, body)
        )
    except ChannelError as error:
        assert error.status == 400 and error.field
    else:
        assert isinstance(result, INPUTS)


# -- rendering --------------------------------------------------------------------------------

texts = st.text(max_size=60)
says = st.builds(
    Say,
    texts,
    st.one_of(st.none(), texts, texts.map(lambda t: f"<speak>{t}</speak>")),
    st.booleans(),
)
listens = st.builds(
    Listen,
    st.booleans(),
    st.booleans(),
    st.one_of(st.none(), st.integers(1, 20)),
    st.none(),
    st.one_of(st.none(), st.sampled_from(["#", "*", ""])),
    st.one_of(st.none(), st.integers(1, 60_000)),
    st.one_of(st.none(), st.integers(1, 60_000)),
)
targets = st.one_of(
    st.builds(
        TransferToPhoneNumber,
        texts,
        st.one_of(st.none(), texts),
        st.dictionaries(texts, texts, max_size=2),
        st.one_of(st.none(), texts),
    ),
    st.builds(
        TransferToAgent,
        st.one_of(st.none(), texts),
        st.dictionaries(texts, json_values, max_size=2),
    ),
)
outputs = st.lists(
    st.one_of(says, listens, st.builds(Transfer, targets), st.just(HangUp())), max_size=5
)
setups = st.sampled_from(
    [
        TwilioSettings(),
        TwilioSettings(voice=TwilioVoiceSettings(voice="Polly.Joanna")),
        TwilioSettings(transfer_to_agent=AgentTransferSettings(mode="enqueue", workflow_sid="WW1")),
        TwilioSettings(
            transfer_to_agent=AgentTransferSettings(mode="dial", target="sip:cc@example.com")
        ),
    ]
)


@FUZZ
@given(
    turn_outputs=outputs, twilio_settings=setups, turn=st.one_of(st.none(), st.integers(0, 10**6))
)
def test_any_turn_renders_to_well_formed_twiml(
    turn_outputs: list, twilio_settings: TwilioSettings, turn: int | None
) -> None:
    root = ET.fromstring(render_twiml(turn_outputs, twilio_settings, turn=turn))
    assert root.tag == "Response"
    assert root[-1].tag in ("Gather", "Dial", "Enqueue", "Hangup", "Redirect")
    json.dumps(render_actions(turn_outputs), default=str)
