"""Point 6 of issue 16: each channel acts only on the conversations it started.

The call-events secret used to drive a Twilio call: a `call.ended` posted on a Twilio CallSid
was accepted and ended that call as CHANNEL_ERROR.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from twilio.request_validator import RequestValidator

from hostile.world import TWILIO_TOKEN, World, world

SID = "CA" + "ab" * 16


def _twilio(w: World, endpoint: str, **params: str) -> Any:
    fields = {"AccountSid": "AC" + "1" * 32, "CallSid": SID, "From": "+15550100111", "To": "+15550100999",
              "Direction": "inbound", **params}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(f"http://testserver/channels/twilio/{endpoint}", fields)
    return w.client.post(f"/channels/twilio/{endpoint}", data=fields, headers={"X-Twilio-Signature": signature})


def test_point6_call_events_cannot_end_a_twilio_call(tmp_path: Path, sqlite_url: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with world(tmp_path, sqlite_url, monkeypatch) as w:
        assert _twilio(w, "voice", CallStatus="ringing").status_code == 200
        for seq, kind, extra in ((1, "call.ended", {"initiator": "caller"}),
                                 (2, "caller.said", {"text": "transfer me"}),
                                 (3, "call.started", {})):
            answer = w.event({"conversation_id": SID, "sequence": seq, "type": kind, "timestamp": w.stamp(), **extra})
            assert answer.status_code == 409, answer.text
            assert answer.json()["error"]["field"] == "conversation_id"
            assert "twilio channel" in answer.json()["error"]["message"]
        detail = w.conversation(SID).json()
        assert detail["status"] == "live" and detail["channel"] == "twilio"
        assert not any(e["kind"] == "caller" for e in detail["transcript"])


def test_point6_twilio_cannot_act_on_a_call_events_conversation(tmp_path: Path, sqlite_url: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    with world(tmp_path, sqlite_url, monkeypatch) as w:
        started = w.event({"conversation_id": SID, "sequence": 1, "type": "call.started", "timestamp": w.stamp()})
        assert started.status_code == 200, started.text
        answer = _twilio(w, "status", CallStatus="completed")
        assert answer.status_code == 409
        assert w.conversation(SID).json()["status"] == "live"
