"""Bad input over real HTTP against `postcall serve`: clear 4xx answers, nothing recorded, never a 500.

A malformed body is 400 naming the field; an unknown conversation 404; a body over the limit
413; a bad or missing signature 403 (and nothing is recorded); a replayed request gets the same
answer and creates nothing new.  Then hypothesis throws arbitrary bodies, headers and (signed)
parameters at every webhook path of the live server.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from e2e.server import ServeProcess
from postcall.channels.events import signature_headers
from postcall.channels.twilio_translate import ENDPOINTS
from postcall.devtools.events_client import CallEventsClient

pytestmark = pytest.mark.slow

TWILIO_PATHS = [f"/channels/twilio/{endpoint}" for endpoint in ENDPOINTS]
EVENTS_PATH = "/channels/events"
LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with ServeProcess(Path(tmp_path_factory.mktemp("serve-bad-input"))) as process:
        yield process


@pytest.fixture(scope="module")
def http(server: ServeProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30, trust_env=False) as client:
        yield client


def _params(call_sid: str, **extra: str) -> dict[str, str]:
    return {"AccountSid": "AC" + "1" * 32, "ApiVersion": "2010-04-01", "CallSid": call_sid,
            "CallStatus": "in-progress", "From": "+15550100111", "To": "+15550100999",
            "Direction": "inbound", **extra}


def twilio_post(server: ServeProcess, http: httpx.Client, path: str, params: dict[str, str], *,
                signature: str | None = None, sign_url: str | None = None) -> httpx.Response:
    """POST form parameters signed as Twilio signs them (or with the given signature)."""
    url = server.url + path
    sig = signature if signature is not None else RequestValidator(server.twilio_token).compute_signature(
        sign_url or url, params)
    return http.post(path, data=params, headers={"X-Twilio-Signature": sig})


def events_post(server: ServeProcess, http: httpx.Client, body: bytes, *,
                headers: dict[str, str] | None = None, stamp: int | None = None) -> httpx.Response:
    signed = signature_headers(server.events_secret, body, stamp)
    return http.post(EVENTS_PATH, content=body, headers={"Content-Type": "application/json", **signed,
                                                         **(headers or {})})


def _error(response: httpx.Response) -> dict[str, Any]:
    return dict(response.json()["error"])


def _activity_count(server: ServeProcess, conversation_id: str) -> int:
    detail = server.conversation(conversation_id)
    assert detail is not None
    return len(detail["activities"])


def _new_call(server: ServeProcess, http: httpx.Client) -> tuple[str, str]:
    call_sid = "CA" + secrets.token_hex(16)
    response = twilio_post(server, http, "/channels/twilio/voice", _params(call_sid, CallStatus="ringing"))
    assert response.status_code == 200, response.text
    return call_sid, response.text


def _gather_url(twiml: str) -> str:
    """The Gather action URL of a TwiML answer (a path with its turn)."""
    import xml.etree.ElementTree as ET

    gather = ET.fromstring(twiml).find("Gather")
    assert gather is not None, twiml
    action = gather.get("action") or ""
    return action[action.index("/channels/"):]


# ----------------------------------------------------------------------------------------------
# Twilio


def test_twilio_missing_call_sid_is_400_naming_it(server: ServeProcess, http: httpx.Client) -> None:
    params = _params("CA" + secrets.token_hex(16))
    del params["CallSid"]
    response = twilio_post(server, http, "/channels/twilio/voice", params)
    assert response.status_code == 400
    assert "CallSid" in response.text


@pytest.mark.parametrize(("field", "value"), [("Digits", "12x4"), ("Confidence", "2.5"), ("CallSid", "CA not a sid")])
def test_twilio_bad_field_is_400_naming_it(server: ServeProcess, http: httpx.Client, field: str, value: str) -> None:
    call_sid, twiml = _new_call(server, http)
    before = _activity_count(server, call_sid)
    params = _params(call_sid, SpeechResult="hello", Confidence="0.9")
    params[field] = value
    response = twilio_post(server, http, _gather_url(twiml), params)
    assert response.status_code == 400
    assert field in response.text
    assert _activity_count(server, call_sid) == before


def test_twilio_bad_turn_is_400(server: ServeProcess, http: httpx.Client) -> None:
    call_sid, _ = _new_call(server, http)
    response = twilio_post(server, http, "/channels/twilio/gather?turn=abc", _params(call_sid, Digits="1"))
    assert response.status_code == 400 and "turn" in response.text


@pytest.mark.parametrize("path", ["/channels/twilio/gather", "/channels/twilio/dial", "/channels/twilio/status"])
def test_twilio_unknown_conversation_is_404(server: ServeProcess, http: httpx.Client, path: str) -> None:
    call_sid = "CA" + secrets.token_hex(16)
    extra = {"/channels/twilio/gather": {"Digits": "1"}, "/channels/twilio/dial": {"DialCallStatus": "busy"},
             "/channels/twilio/status": {"CallStatus": "completed"}}[path]
    response = twilio_post(server, http, path, _params(call_sid, **extra))
    assert response.status_code == 404, response.text
    assert server.conversation(call_sid) is None


def test_twilio_body_over_the_limit_is_413(server: ServeProcess, http: httpx.Client) -> None:
    params = _params("CA" + secrets.token_hex(16), SpeechResult="x" * (LIMIT + 10))
    response = twilio_post(server, http, "/channels/twilio/voice", params)
    assert response.status_code == 413
    assert server.conversation(params["CallSid"]) is None


def test_twilio_streamed_body_over_the_limit_is_413(server: ServeProcess, http: httpx.Client) -> None:
    """No Content-Length (chunked): the server counts what it reads and stops at the limit."""

    def chunks() -> Iterator[bytes]:
        yield b"CallSid=CA" + b"1" * 32 + b"&SpeechResult="
        for _ in range(20):
            yield b"y" * 8192

    response = http.post("/channels/twilio/voice", content=chunks(),
                         headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"})
    assert response.status_code == 413


@pytest.mark.parametrize("how", ["missing", "wrong", "other-url", "tampered"])
def test_twilio_bad_signature_is_403_and_records_nothing(server: ServeProcess, http: httpx.Client, how: str) -> None:
    before = server.all_conversations_count()
    call_sid = "CA" + secrets.token_hex(16)
    params = _params(call_sid, CallStatus="ringing")
    path = "/channels/twilio/voice"
    if how == "missing":
        response = http.post(path, data=params)
    elif how == "wrong":
        response = twilio_post(server, http, path, params, signature="bm90IGEgc2lnbmF0dXJl")
    elif how == "other-url":
        response = twilio_post(server, http, path, params, sign_url="https://example.com" + path)
    else:
        signature = RequestValidator(server.twilio_token).compute_signature(server.url + path, params)
        response = twilio_post(server, http, path, {**params, "From": "+15550199999"}, signature=signature)
    assert response.status_code == 403
    assert "X-Twilio-Signature" in response.text
    assert server.conversation(call_sid) is None
    assert server.all_conversations_count() == before


def test_twilio_signed_with_another_token_is_403(server: ServeProcess, http: httpx.Client) -> None:
    params = _params("CA" + secrets.token_hex(16))
    signature = RequestValidator("not-the-token").compute_signature(server.url + "/channels/twilio/voice", params)
    response = twilio_post(server, http, "/channels/twilio/voice", params, signature=signature)
    assert response.status_code == 403


def test_twilio_replays_create_nothing_new(server: ServeProcess, http: httpx.Client) -> None:
    call_sid, twiml = _new_call(server, http)
    count = server.all_conversations_count()
    again = twilio_post(server, http, "/channels/twilio/voice", _params(call_sid, CallStatus="ringing"))
    assert again.status_code == 200 and again.text == twiml
    assert server.all_conversations_count() == count
    activities = _activity_count(server, call_sid)

    gather = _params(call_sid, SpeechResult="what is the status of my case", Confidence="0.9")
    first = twilio_post(server, http, _gather_url(twiml), gather)
    after_first = _activity_count(server, call_sid)
    assert first.status_code == 200 and after_first > activities
    repeat = twilio_post(server, http, _gather_url(twiml), gather)
    assert repeat.status_code == 200 and repeat.text == first.text
    assert _activity_count(server, call_sid) == after_first

    status = _params(call_sid, CallStatus="completed", SequenceNumber="3", CallDuration="9")
    assert twilio_post(server, http, "/channels/twilio/status", status).status_code == 200
    detail = server.wait_finished(call_sid)
    assert detail["end_reason"] == "CUSTOMER_HANGUP"
    ended_activities, runs = len(detail["activities"]), [r["id"] for r in detail["runs"]]
    for _ in range(2):
        assert twilio_post(server, http, "/channels/twilio/status", status).status_code == 200
    later = server.wait_finished(call_sid)
    assert len(later["activities"]) == ended_activities
    assert [r["id"] for r in later["runs"]] == runs
    assert [t["kind"] for t in later["transcript"]].count("end") == 1


def test_twilio_unknown_path_is_404(server: ServeProcess, http: httpx.Client) -> None:
    response = twilio_post(server, http, "/channels/twilio/nothing-here", _params("CA" + "2" * 32))
    assert response.status_code == 404


# ----------------------------------------------------------------------------------------------
# Call events


def _event(cid: str, sequence: Any, **fields: Any) -> dict[str, Any]:
    base = {"conversation_id": cid, "sequence": sequence, "type": "call.started",
            "timestamp": "2026-11-24T17:00:00Z"}
    return {**base, **fields}


@pytest.mark.parametrize(("body", "field"), [
    (b"{not json", "body"),
    (b"[1, 2]", "body"),
    (json.dumps({"conversation_id": "c-1", "sequence": 1, "timestamp": "2026-11-24T17:00:00Z"}).encode(), "type"),
    (json.dumps(_event("c-1", 1, type="caller.shouted")).encode(), "type"),
    (json.dumps(_event("c-1", "one")).encode(), "sequence"),
    (json.dumps(_event("c-1", 0)).encode(), "sequence"),
    (json.dumps(_event("c 1", 1)).encode(), "conversation_id"),
    (json.dumps(_event("c-1", 1, timestamp="yesterday")).encode(), "timestamp"),
    (json.dumps(_event("c-1", 1, colour="blue")).encode(), "colour"),
    (json.dumps(_event("c-1", 2, type="caller.said")).encode(), "text"),
    (json.dumps(_event("c-1", 2, type="caller.said", text="hi", confidence=7)).encode(), "confidence"),
    (json.dumps(_event("c-1", 2, type="caller.dtmf", digits="12x")).encode(), "digits"),
    (json.dumps(_event("c-1", 2, type="transfer.failed", outcome="bored")).encode(), "outcome"),
    (json.dumps(_event("c-1", 2, type="call.ended", initiator="cat")).encode(), "initiator"),
])
def test_events_malformed_body_is_400_naming_the_field(server: ServeProcess, http: httpx.Client,
                                                       body: bytes, field: str) -> None:
    before = server.all_conversations_count()
    response = events_post(server, http, body)
    assert response.status_code == 400, response.text
    error = _error(response)
    assert error["field"] == field, error
    assert error["status"] == 400 and error["message"], error
    assert server.all_conversations_count() == before


def test_events_wrong_content_type_is_400(server: ServeProcess, http: httpx.Client) -> None:
    body = json.dumps(_event("c-ct", 1)).encode()
    response = events_post(server, http, body, headers={"Content-Type": "text/plain"})
    assert response.status_code == 400 and _error(response)["field"] == "Content-Type"


def test_events_unknown_conversation_is_404(server: ServeProcess, http: httpx.Client) -> None:
    cid = f"nobody-{secrets.token_hex(4)}"
    body = json.dumps(_event(cid, 2, type="caller.said", text="hello")).encode()
    response = events_post(server, http, body)
    assert response.status_code == 404
    assert _error(response)["field"] == "conversation_id"
    assert server.conversation(cid) is None


def test_events_body_over_the_limit_is_413(server: ServeProcess, http: httpx.Client) -> None:
    body = json.dumps(_event("c-big", 1, metadata={"blob": "z" * (LIMIT + 1)})).encode()
    response = events_post(server, http, body)
    assert response.status_code == 413 and _error(response)["field"] == "body"
    assert server.conversation("c-big") is None


@pytest.mark.parametrize("how", ["no-timestamp", "no-signature", "wrong-secret", "stale", "tampered", "future"])
def test_events_bad_signature_is_403_and_records_nothing(server: ServeProcess, http: httpx.Client, how: str) -> None:
    cid = f"unsigned-{how}-{secrets.token_hex(4)}"
    body = json.dumps(_event(cid, 1)).encode()
    now = int(time.time())
    headers = {"Content-Type": "application/json", **signature_headers(server.events_secret, body, now)}
    if how == "no-timestamp":
        del headers["X-Postcall-Timestamp"]
    elif how == "no-signature":
        del headers["X-Postcall-Signature"]
    elif how == "wrong-secret":
        headers.update(signature_headers("not-the-secret", body, now))
    elif how == "stale":
        headers.update(signature_headers(server.events_secret, body, now - 3600))
    elif how == "future":
        headers.update(signature_headers(server.events_secret, body, now + 3600))
    else:
        body = body.replace(b"call.started", b"call.ended")
    response = http.post(EVENTS_PATH, content=body, headers=headers)
    assert response.status_code == 403, response.text
    assert _error(response)["field"] in ("X-Postcall-Timestamp", "X-Postcall-Signature")
    assert server.conversation(cid) is None


def test_events_replays_create_nothing_new(server: ServeProcess) -> None:
    cid = f"replay-{secrets.token_hex(4)}"
    with CallEventsClient(server.url, server.events_secret) as client:
        started = client.prepare(_event(cid, 1, caller="+15550100111"))
        first = client.send(started)
        assert client.send(started) == first
        count = server.all_conversations_count()
        said = client.prepare({"conversation_id": cid, "type": "caller.said", "text": "billing"})
        reply = client.send(said)
        activities = _activity_count(server, cid)
        assert client.send(said) == reply
        assert client.send(started) == first
        assert _activity_count(server, cid) == activities
        assert server.all_conversations_count() == count
        ended = client.prepare({"conversation_id": cid, "type": "call.ended", "initiator": "caller"})
        assert client.send(ended)["end_reason"] == "CUSTOMER_HANGUP"
        detail = server.wait_finished(cid)
        assert client.send(ended)["end_reason"] == "CUSTOMER_HANGUP"
        again = server.wait_finished(cid)
        assert len(again["activities"]) == len(detail["activities"])
        assert [r["id"] for r in again["runs"]] == [r["id"] for r in detail["runs"]]


def test_events_get_is_refused(http: httpx.Client) -> None:
    assert http.get(EVENTS_PATH).status_code in (400, 405)


# ----------------------------------------------------------------------------------------------
# Whatever arrives: never a 500

FUZZ = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
ALLOWED = {200, 400, 403, 404, 405, 413, 415, 422}
header_values = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60).map(str.strip)
header_names = st.sampled_from(["X-Twilio-Signature", "Content-Type", "X-Postcall-Timestamp",
                                "X-Postcall-Signature", "X-Twilio-Webhooks-Signature-Settings",
                                "Content-Encoding", "Transfer-Encoding-Hint"])
paths = st.sampled_from([*TWILIO_PATHS, EVENTS_PATH, "/channels/twilio/", "/channels/twilio/voice/x"])
queries = st.one_of(st.just(""), st.sampled_from(["?turn=1", "?turn=-1", "?turn=99999999999999", "?failed=x",
                                                  "?turn=1&failed="]),
                    st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=20).map(lambda t: "?" + t))
form_text = st.text(max_size=40)
twilio_names = st.sampled_from(["CallSid", "From", "To", "CallStatus", "SpeechResult", "Confidence", "Digits",
                                "DialCallStatus", "DialCallSid", "QueueResult", "ParentCallSid", "SequenceNumber",
                                "Timestamp", "CallDuration", "SipResponseCode"])
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                           max_leaves=8)


def _assert_clean(response: httpx.Response) -> None:
    assert response.status_code in ALLOWED, (response.status_code, response.text[:300])
    assert "Traceback" not in response.text


@FUZZ
@given(path=paths, query=queries, body=st.binary(max_size=400), headers=st.dictionaries(header_names, header_values))
def test_arbitrary_requests_never_500(http: httpx.Client, path: str, query: str, body: bytes,
                                      headers: dict[str, str]) -> None:
    _assert_clean(http.post(path + query, content=body, headers=headers))


@FUZZ
@given(path=st.sampled_from(TWILIO_PATHS), query=queries,
       params=st.dictionaries(st.one_of(twilio_names, form_text), form_text, max_size=8),
       call=st.sampled_from(["known", "new", "none"]))
def test_signed_twilio_parameters_never_500(server: ServeProcess, http: httpx.Client, path: str, query: str,
                                            params: dict[str, str], call: str) -> None:
    """Correctly signed, so the parameters reach translation and the lifecycle."""
    if call == "known":
        params = {**params, "CallSid": _known_call(server, http)}
    elif call == "new":
        params = {**params, "CallSid": "CA" + secrets.token_hex(16)}
    url = server.url + path + query
    signature = RequestValidator(server.twilio_token).compute_signature(url, params)
    _assert_clean(http.post(path + query, content=urlencode(params).encode(),
                            headers={"X-Twilio-Signature": signature,
                                     "Content-Type": "application/x-www-form-urlencoded"}))


@FUZZ
@given(event=st.dictionaries(st.sampled_from(["conversation_id", "sequence", "type", "timestamp", "text", "digits",
                                              "confidence", "outcome", "initiator", "raw_reason", "caller",
                                              "metadata", "callee"]), json_values, max_size=8),
       kind=st.sampled_from(["call.started", "caller.said", "caller.dtmf", "caller.silence", "caller.unrecognized",
                             "transfer.answered", "transfer.failed", "call.ended", None]),
       known=st.booleans())
def test_signed_events_never_500(server: ServeProcess, http: httpx.Client, event: dict[str, Any],
                                 kind: str | None, known: bool) -> None:
    if kind is not None:
        event = {**event, "type": kind}
    if known:
        event = {**event, "conversation_id": _known_events_call(server)}
    body = json.dumps(event).encode()
    _assert_clean(events_post(server, http, body))


_known: dict[str, str] = {}


def _known_call(server: ServeProcess, http: httpx.Client) -> str:
    if "twilio" not in _known:
        _known["twilio"] = _new_call(server, http)[0]
    return _known["twilio"]


def _known_events_call(server: ServeProcess) -> str:
    if "events" not in _known:
        cid = f"fuzz-{secrets.token_hex(4)}"
        with CallEventsClient(server.url, server.events_secret) as client:
            client.call_started(cid)
        _known["events"] = cid
    return _known["events"]


def test_the_server_logged_no_errors(server: ServeProcess) -> None:
    log = server.log_path.read_text(encoding="utf-8", errors="replace")
    assert '"status": 500' not in log, server.log_tail(80)
    assert "Traceback" not in log, server.log_tail(80)
    for secret in (server.twilio_token, server.events_secret, server.admin_token):
        assert secret not in log  # never logged
