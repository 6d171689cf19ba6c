"""Point 7 of issue 16: caller text put into a `speak` template stays text.

`You said {System.Activity.Text}` used to pass `<break time="60s"/>` straight into the TwiML.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from twilio.request_validator import RequestValidator

from hostile.world import TWILIO_TOKEN, World, world

SID = "CA" + "cd" * 16
ATTACK = '<break time="60s"/><prosody rate="x-slow">&amp; hello'

ECHO = """kind: AdaptiveDialog
beginDialog:
  kind: OnUnknownIntent
  id: main
  priority: -1
  actions:
    - kind: SendActivity
      id: sendMessage_Echo01
      activity:
        text:
          - "You said {System.Activity.Text}"
        speak:
          - "<prosody rate=\\"medium\\">You said {System.Activity.Text}</prosody>"
"""


def _post(w: World, path: str, **params: str) -> str:
    fields = {"AccountSid": "AC" + "1" * 32, "CallSid": SID, "From": "+15550100111", "To": "+15550100999",
              "Direction": "inbound", "CallStatus": "in-progress", **params}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(f"http://testserver{path}", fields)
    answer = w.client.post(path, data=fields, headers={"X-Twilio-Signature": signature})
    assert answer.status_code == 200, answer.text
    return answer.text


def test_point7_caller_text_in_speak_is_escaped(tmp_path: Path, sqlite_url: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def echo_agent(agent_dir: Path) -> None:
        (agent_dir / "topics" / "Fallback.topic.yaml").write_text(ECHO, encoding="utf-8")
        config = agent_dir / "agent.yaml"  # a voice that reads SSML
        config.write_text(config.read_text(encoding="utf-8").replace("voice:\n", "voice:\n  voice: Polly.Joanna-Neural\n", 1),
                          encoding="utf-8")

    with world(tmp_path, sqlite_url, monkeypatch, prepare=echo_agent) as w:
        first = _post(w, "/channels/twilio/voice", CallStatus="ringing")
        action = ET.fromstring(first).find("Gather")
        assert action is not None
        path = action.get("action", "")
        path = path[path.index("/channels/"):]
        twiml = _post(w, path, SpeechResult=ATTACK, Confidence="0.9")
        root = ET.fromstring(twiml)
        tags = {element.tag for element in root.iter()}
        assert "break" not in tags, twiml
        prosody = [e for e in root.iter() if e.tag == "prosody"]
        assert len(prosody) == 1 and prosody[0].get("rate") == "medium"  # the author's markup stays
        spoken = "".join(prosody[0].itertext())
        assert spoken == f"You said {ATTACK}"  # the caller's words, as words
