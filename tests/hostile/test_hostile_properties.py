"""Arbitrary Unicode in every field of every webhook and admin request, on SQLite and PostgreSQL.

Hypothesis puts text with lone surrogates, NUL, right-to-left marks, emoji and 1 MB strings in
one field at a time: every call-event field of every event type, every Twilio parameter, the
admin API's path and query parameters and the console's sign-in form.  Whatever it sends:

- the answer is never a 5xx;
- a webhook is either refused with a 4xx (and changes nothing) or taken, and then what was sent
  is stored and readable back through the API (NUL and lone surrogates as U+FFFD, docs/security.md);
- every conversation ends exactly once and has each of its post-call runs exactly once;
- and afterwards the watchdog still ends an idle call started after all of it.

The example count is kept modest (the whole file takes seconds per back end).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from hostile.world import TWILIO_TOKEN, World, world
from postcall.safetext import clean_text

SPECIALS = ["\udfff", "a\ud800b", "\x00", "a\x00b", "\u202eevil\u202c", "\u200f\u200e", "😀 ok",
            "x" * 1_000_000, "\udfff" * 3000, "", " ", "\ufeff", "é" * 5000]
TEXT = st.one_of(
    st.sampled_from(SPECIALS),
    st.text(st.one_of(st.characters(exclude_categories=[]), st.characters(categories=["Cs"])), max_size=60),
)
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "call.started": ("conversation_id", "type", "timestamp", "caller", "callee"),
    "caller.said": ("text", "caller", "metadata.key", "metadata.value"),  # its raw event is kept
    "caller.dtmf": ("digits",),
    "transfer.failed": ("outcome", "raw_reason"),
    "call.ended": ("initiator", "raw_reason"),
}
TWILIO_FIELDS = ("From", "To", "CallStatus", "SpeechResult", "Digits", "Confidence", "CallerName", "Unknown")
API_PATHS = ("/api/conversations?caller={}", "/api/runs?topic={}", "/api/runs?conversation_id={}",
             "/api/conversations/{}", "/api/runs/{}", "/console/conversations?caller={}",
             "/console/conversations/{}", "/console/runs/{}")

PROPS = settings(max_examples=16, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                        HealthCheck.data_too_large])


@pytest.fixture
def w(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with world(tmp_path, database_url, monkeypatch) as made:
        page = made.client.get("/console/login")
        csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        from hostile.world import ADMIN_TOKEN

        assert made.client.post("/console/login", data={"token": ADMIN_TOKEN, "csrf_token": csrf}).status_code == 303
        yield made


def holds(value: Any, text: str) -> bool:
    """Whether `text` is in some string (or key) of a JSON value."""
    if isinstance(value, str):
        return text in value
    if isinstance(value, dict):
        return any(holds(k, text) or holds(v, text) for k, v in value.items())
    if isinstance(value, list):
        return any(holds(v, text) for v in value)
    return False


def _event(w: World, body: dict[str, Any]) -> Any:
    answer = w.event(json.dumps(body).encode("utf-8"))  # \\udfff escapes: a lone surrogate as JSON sends it
    assert answer.status_code < 500, answer.text
    return answer


def _settle(w: World, cid: str, seq: int) -> None:
    """End the call if it is still live; then: one end, each post-call run once."""
    detail = w.conversation(cid)
    if detail.status_code == 404:
        return
    if detail.json()["status"] == "live":
        _event(w, {"conversation_id": cid, "sequence": seq, "type": "call.ended", "timestamp": w.stamp(),
                   "initiator": "caller"})
        detail = w.conversation(cid)
    body = detail.json()
    assert body["status"] == "ended", body
    ends = [a for a in w.runtime.store.history(cid) if a.type == "endOfConversation" and a.direction == "in"]
    assert len(ends) >= 1
    _runs_once(w, cid)


def _runs_once(w: World, cid: str) -> None:
    """Each post-call topic the end selected has exactly one run."""
    conv = w.runtime.store.get_conversation(cid)
    assert conv is not None and conv.end_record is not None
    topics = [r.topic for r in w.runtime.store.list_runs(conversation_id=cid, limit=None)]
    assert sorted(topics) == sorted(conv.end_record["post_call_topics"]), (cid, topics)


def _idle_call_still_ends(w: World) -> None:
    cid = "after-all-of-it"
    _event(w, {"conversation_id": cid, "sequence": 1, "type": "call.started", "timestamp": w.stamp()})
    w.clock.advance(w.runtime.agent.config.limits.idle_timeout_seconds + 1)
    ended = asyncio.run(w.sessions.end_idle())
    assert cid in ended
    assert w.conversation(cid).json()["end_reason"] == "INACTIVITY_TIMEOUT"
    assert w.runtime.watchdog_failures() == []


def test_hostile_text_in_every_call_event_field(w: World) -> None:
    counter = itertools.count()
    cases = [(kind, name) for kind, names in EVENT_FIELDS.items() for name in names]

    @PROPS
    @given(case=st.sampled_from(cases), text=TEXT)
    def run(case: tuple[str, str], text: str) -> None:
        kind, name = case
        cid = f"prop-{next(counter)}"
        seq = 1
        if kind != "call.started":
            _event(w, {"conversation_id": cid, "sequence": 1, "type": "call.started", "timestamp": w.stamp()})
            seq = 2
        body: dict[str, Any] = {"conversation_id": cid, "sequence": seq, "type": kind, "timestamp": w.stamp()}
        body.update({"caller.said": {"text": "hello"}, "caller.dtmf": {"digits": "1"},
                     "transfer.failed": {"outcome": "busy"}, "call.ended": {"initiator": "caller"}}.get(kind, {}))
        if name == "metadata.key":
            body["metadata"] = {text: "v"}
        elif name == "metadata.value":
            body["metadata"] = {"k": text}
        else:
            body[name] = text
        before = w.conversation(cid)
        before_count = len(before.json()["activities"]) if before.status_code == 200 else 0
        answer = _event(w, body)
        stored_as = body.get("conversation_id") if name == "conversation_id" else cid
        if answer.status_code >= 400:
            after = w.conversation(cid)
            assert (len(after.json()["activities"]) if after.status_code == 200 else 0) == before_count
        else:
            assert isinstance(stored_as, str)
            detail = w.client.get(f"/api/conversations/{quote(stored_as, safe='')}")
            assert detail.status_code == 200, detail.text
            if text and name not in ("conversation_id", "type", "timestamp", "digits", "outcome", "initiator"):
                assert holds(detail.json(), clean_text(text)[:200]), (name, text[:40])
            assert w.client.get(f"/console/conversations/{quote(stored_as, safe='')}").status_code == 200
            cid = stored_as
        _settle(w, cid, seq + 1)

    run()
    _idle_call_still_ends(w)


def test_hostile_text_in_every_twilio_parameter(w: World) -> None:
    counter = itertools.count()

    @PROPS
    @given(name=st.sampled_from(TWILIO_FIELDS), text=TEXT, endpoint=st.sampled_from(["voice", "gather", "status"]))
    def run(name: str, text: str, endpoint: str) -> None:
        sid = f"CA{next(counter):032x}"
        base = {"AccountSid": "AC" + "1" * 32, "CallSid": sid, "From": "+15550100111", "To": "+15550100999",
                "Direction": "inbound", "CallStatus": "in-progress"}
        if endpoint != "voice":
            assert _twilio(w, "voice", {**base, "CallStatus": "ringing"}).status_code == 200
        params = {**base, name: text}
        if endpoint == "status" and name != "CallStatus":
            params["CallStatus"] = "completed"
        answer = _twilio(w, endpoint if endpoint != "gather" else "gather?turn=1", params)
        assert answer.status_code < 500, answer.text
        if answer.status_code == 200 and endpoint == "voice" and name == "From" and text:
            assert holds(w.conversation(sid).json(), clean_text(text)[:200])
        if w.conversation(sid).status_code == 200 and w.conversation(sid).json()["status"] == "live":
            assert _twilio(w, "status", {**base, "CallStatus": "completed"}).status_code == 200
        if w.conversation(sid).status_code == 200:
            assert w.conversation(sid).json()["status"] == "ended"
            _runs_once(w, sid)

    run()
    _idle_call_still_ends(w)


def test_hostile_text_in_every_admin_parameter_and_form(w: World) -> None:
    @PROPS
    @given(path=st.sampled_from(API_PATHS), text=TEXT)
    def run(path: str, text: str) -> None:
        encoded = quote(text.encode("utf-8", "surrogatepass"), safe="")
        answer = w.client.get(path.format(encoded))
        assert answer.status_code < 500, (path, answer.status_code, answer.text[:200])
        csrf = w.client.get("/console").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        form = w.client.post("/console/runs/x/redrive", content=f"csrf_token={csrf}&next={encoded}".encode("ascii"),
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert form.status_code < 500

    run()
    _idle_call_still_ends(w)


def _twilio(w: World, endpoint: str, params: dict[str, str]) -> Any:
    path = f"/channels/twilio/{endpoint}"
    try:
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(f"http://testserver{path}", params)
    except UnicodeEncodeError:
        signature = "unsignable"
    body = "&".join(f"{quote(k.encode('utf-8', 'surrogatepass'))}={quote(v.encode('utf-8', 'surrogatepass'))}"
                    for k, v in params.items())
    return w.client.post(path, content=body.encode("ascii"),
                         headers={"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"})
