"""Text UTF-8 cannot carry (a lone surrogate: what Python makes of invalid bytes on a terminal or
in argv) gets a decision, never a crash: in the recognisers, the engine, the harness, chat, call."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from postcall.engine import Engine
from postcall.engine.activity import Activity
from postcall.engine.recognizer import IntentCandidate, IntentMatch, Recognition
from postcall.testing import Conversation
from postcall.topics import load_agent
from postcall.understanding import default_recognizer
from postcall.vocabulary import ActivityType

BAD = "bill\udcffing question"  # b"bill\xffing question" read with surrogateescape
CANDIDATES = [IntentCandidate("Billing", ("billing question", "my bill is wrong")),
              IntentCandidate("Hours", ("when are you open", "opening hours"))]


def agent_dir(root: Path) -> Path:
    (root / "topics").mkdir(parents=True)
    for name, phrase, reply in (("Billing", "billing question", "Billing here."), ("Hours", "when are you open", "Nine to five.")):
        (root / "topics" / f"{name}.topic.yaml").write_text(
            "kind: AdaptiveDialog\nbeginDialog:\n  kind: OnRecognizedIntent\n  id: main\n  intent:\n    triggerQueries:\n"
            f"      - {phrase}\n      - {phrase} please\n  actions:\n    - kind: SendActivity\n      id: say\n"
            f"      activity: {reply}\n"
        )
    (root / "agent.yaml").write_text("name: bad-text\n")
    return root


def test_the_embedded_recogniser_decides_on_a_lone_surrogate() -> None:
    rec = default_recognizer()
    rec.prepare(CANDIDATES)
    for text in (BAD, "\ud800x", "\udcff", "a\x00b"):
        found = rec.decide(text, CANDIDATES)
        assert isinstance(found, Recognition) and found.outcome in ("match", "ambiguous", "none")
        assert rec.recognize(text, CANDIDATES) == list(found.chosen)
    assert rec.decide(BAD, CANDIDATES).chosen[0].topic == "Billing"


class Strict:
    """A recogniser that fails on text UTF-8 cannot encode (as a tokenizer or a JSON body does)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def recognize(self, text: str, candidates: Sequence[IntentCandidate]) -> list[IntentMatch]:
        text.encode("utf-8")
        self.seen.append(text)
        return []


def test_the_engine_hands_any_recogniser_clean_text(tmp_path: Path) -> None:
    loaded = load_agent(agent_dir(tmp_path))
    assert loaded.agent is not None
    strict = Strict()
    engine = Engine(loaded.agent, recognizer=strict)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    state = engine.new_state("c1", now=now)
    state = engine.turn(state, Activity(type=ActivityType.CONVERSATION_UPDATE, id="a0", timestamp=now), now=now).state
    engine.turn(state, Activity(type=ActivityType.MESSAGE, id="a1", timestamp=now, text=BAD), now=now)
    assert strict.seen == ["bill\ufffding question"]


def test_the_harness_takes_words_with_a_lone_surrogate(tmp_path: Path) -> None:
    loaded = load_agent(agent_dir(tmp_path))
    assert loaded.agent is not None
    convo = Conversation(loaded.agent)
    convo.start()
    assert "Billing here." in convo.say(BAD)


def run_cli(*args: str | bytes, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:surrogateescape", "LC_ALL": "C.UTF-8"}
    return subprocess.run([sys.executable, "-m", "postcall.cli.main", *args], input=stdin, capture_output=True,
                          timeout=120, env=env, check=False)


def test_chat_and_call_take_invalid_bytes(tmp_path: Path) -> None:
    folder = str(agent_dir(tmp_path))
    chat = run_cli("chat", folder, stdin=b"bill\xffing question\n")
    assert chat.returncode == 0 and b"Traceback" not in chat.stderr, chat.stderr.decode(errors="replace")
    assert b"Billing here." in chat.stdout
    call = run_cli("call", folder, "--say", os.fsdecode(b"bill\xffing question"), "--hang-up")
    assert call.returncode == 0 and b"Traceback" not in call.stderr, call.stderr.decode(errors="replace")
    assert b"Billing here." in call.stdout


def test_a_remote_recogniser_sends_the_words_cleaned() -> None:
    from postcall.actions import ActionRequest, ActionResult
    from postcall.understanding import HttpRecognizer

    sent: list[str] = []

    def execute(request: ActionRequest, *, total_s: float | None = None) -> ActionResult:
        body = request.payload["body"]
        body.encode("utf-8")  # what the action layer does before sending
        sent.append(body)
        return ActionResult(ok=True, status_code=200, json={"intents": [{"topic": "Billing", "score": 0.9}]})

    found = HttpRecognizer(execute, "http://127.0.0.1:9/x").decide(BAD, CANDIDATES)
    assert (found.recognizer, found.chosen[0].topic) == ("http", "Billing")
    assert "bill\ufffding question" in sent[0]
