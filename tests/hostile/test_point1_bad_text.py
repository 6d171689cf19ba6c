"""Point 1 of issue 16: one bad string must never stop a call, or every call, from ending.

A lone UTF-16 surrogate (JSON `"\\udfff"`) or a NUL in any text field of a call event used to give
a 500 (SQLite cannot encode the surrogate, PostgreSQL refuses NUL), and the watchdog's pass then
stopped at that conversation for good.  Free text from a channel is now stored with U+FFFD in
place of each such character (docs/security.md); operator input is refused with a 4xx naming
the field; and the watchdog acts on each conversation by itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from twilio.request_validator import RequestValidator

from hostile.world import TWILIO_TOKEN, World, world

BAD = "x\udfff\x00y"
CLEANED = "x\ufffd\ufffdy"


def _started(w: World, cid: str, **extra: Any) -> dict[str, Any]:
    return {"conversation_id": cid, "sequence": 1, "type": "call.started", "timestamp": w.stamp(), **extra}


def test_point1_surrogate_and_nul_in_every_events_text_field(tmp_path: Path, database_url: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    with world(tmp_path, database_url, monkeypatch) as w:
        cid = "bridge-bad-text"
        started = w.event(_started(w, cid, caller=BAD, callee=BAD, metadata={BAD: [BAD, {"k": BAD}]}))
        assert started.status_code == 200, started.text
        said = w.event({"conversation_id": cid, "sequence": 2, "type": "caller.said", "timestamp": w.stamp(),
                        "text": f"billing {BAD}", "confidence": 0.9, "caller": BAD})
        assert said.status_code == 200, said.text
        ended = w.event({"conversation_id": cid, "sequence": 3, "type": "call.ended", "timestamp": w.stamp(),
                         "initiator": "caller", "raw_reason": BAD})
        assert ended.status_code == 200, ended.text
        assert ended.json()["ended"] is True

        detail = w.conversation(cid)
        assert detail.status_code == 200, detail.text
        body = detail.json()
        assert body["caller"] == CLEANED
        assert body["status"] == "ended"
        said_texts = [e["text"] for e in body["transcript"] if e["kind"] == "caller"]
        assert f"billing {CLEANED}" in said_texts
        assert body["end_record"]["raw"] == CLEANED
        page = w.client.get(f"/console/conversations/{cid}", cookies=_console_cookies(w))
        assert page.status_code == 200
        assert CLEANED in page.text


def test_point1_bad_text_in_a_field_with_syntax_is_400_naming_it(tmp_path: Path, sqlite_url: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    with world(tmp_path, sqlite_url, monkeypatch) as w:
        for name, value in (("conversation_id", "a\x00b"), ("timestamp", w.stamp() + "\udfff"),
                            ("type", "call.started\x00")):
            body = _started(w, "bridge-syntax")
            body[name] = value
            answer = w.event(body)
            assert answer.status_code == 400, (name, answer.text)
            assert answer.json()["error"]["field"] == name
        assert w.conversation("bridge-syntax").status_code == 404


def test_point1_nul_in_twilio_parameters_is_replaced(tmp_path: Path, database_url: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with world(tmp_path, database_url, monkeypatch) as w:
        sid = "CA" + "0" * 32
        params = {"AccountSid": "AC" + "1" * 32, "CallSid": sid, "CallStatus": "ringing",
                  "From": "+1555\x000100", "To": "+15550100999", "Direction": "inbound"}
        url = "http://testserver/channels/twilio/voice"
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
        answer = w.client.post("/channels/twilio/voice", data=params, headers={"X-Twilio-Signature": signature})
        assert answer.status_code == 200, answer.text
        detail = w.conversation(sid).json()
        assert detail["caller"] == "+1555\ufffd0100"


@pytest.mark.parametrize("path", ["/api/conversations/a%00b", "/console/conversations/a%00b",
                                  "/api/runs?topic=a%00b", "/console/conversations?caller=%00"])
def test_point1_nul_in_admin_urls_is_400_naming_it(tmp_path: Path, database_url: str, path: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    with world(tmp_path, database_url, monkeypatch) as w:
        answer = w.client.get(path, cookies=_console_cookies(w))
        assert answer.status_code in (400, 422), answer.text
        detail = answer.json()["detail"]
        assert ("path" in detail) or ("topic" in detail) or ("caller" in detail)


def test_point1_nul_in_a_console_form_is_400_naming_it(tmp_path: Path, sqlite_url: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    with world(tmp_path, sqlite_url, monkeypatch) as w:
        w.client.get("/console/login")
        answer = w.client.post("/console/login", data={"token": "abc\x00", "csrf_token": "x"})
        assert answer.status_code == 400
        assert "'token'" in answer.json()["detail"] and "NUL" in answer.json()["detail"]


def test_point1_store_cleans_what_reaches_it_from_elsewhere(tmp_path: Path, database_url: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A NUL or surrogate produced inside (a formula, a CRM's answer) is cleaned by the store."""
    with world(tmp_path, database_url, monkeypatch) as w:
        store = w.runtime.store
        store.create_conversation("inside", agent="a", channel="events", caller="c\x00")
        conv = store.get_conversation("inside")
        assert conv is not None and conv.caller == "c\ufffd"
        store.save_turn("inside", state={"globals": {"V": BAD, BAD: 1}}, activities=[], expected_version=conv.version)
        again = store.get_conversation("inside")
        assert again is not None and again.state == {"globals": {"V": CLEANED, CLEANED: 1}}


def _console_cookies(w: World) -> dict[str, str]:
    """Sign in to the console with the admin token; the session cookie."""
    from hostile.world import ADMIN_TOKEN

    client = w.client
    page = client.get("/console/login")
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    done = client.post("/console/login", data={"token": ADMIN_TOKEN, "csrf_token": csrf, "next": "/console"})
    assert done.status_code == 303, done.text
    return dict(client.cookies)
