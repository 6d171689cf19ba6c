"""Topics written for generative orchestration: a `modelDescription` and no trigger phrases.

With `recognizer: {kind: llm}` the model is offered them by name and description; under a
recogniser that matches phrases nothing could start them, and `postcall check` says so (TPC238).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from postcall.devtools.openai_server import OpenAIServer, Scripted
from postcall.testing import Conversation
from postcall.topics import load_agent

REFUND = """kind: AdaptiveDialog
modelDescription: Helps a caller get their money back for an order they returned or did not receive.
beginDialog:
  kind: OnRecognizedIntent
  id: main
  intent: {}
  actions:
    - kind: SendActivity
      id: say_refund
      activity: This is the Refund topic.
"""
HOURS = """kind: AdaptiveDialog
beginDialog:
  kind: OnRecognizedIntent
  id: main
  intent:
    triggerQueries:
      - when are you open
      - what are your opening hours
  actions:
    - kind: SendActivity
      id: say_hours
      activity: We are open nine to five.
"""
# Reached only by redirects: no phrases, no description, so no warning.
HELPER = """kind: AdaptiveDialog
beginDialog:
  kind: OnRecognizedIntent
  id: main
  actions:
    - kind: SendActivity
      id: say_helper
      activity: A helper.
"""


def agent_dir(root: Path, recognizer: str, extra: str = "") -> Path:
    (root / "topics").mkdir(parents=True)
    for name, text in (("Refund", REFUND), ("Hours", HOURS), ("Helper", HELPER)):
        (root / "topics" / f"{name}.topic.yaml").write_text(text)
    (root / "agent.yaml").write_text(f"name: shop\n{extra}recognizer:\n  kind: {recognizer}\n"
                                     + ("  url: http://127.0.0.1:9/x\n" if recognizer == "http" else ""))
    return root


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIServer]:
    monkeypatch.setenv("POSTCALL_MODEL_API_KEY", "sk-test")
    with OpenAIServer(api_key="sk-test") as server:
        yield server


def llm_extra(server: OpenAIServer) -> str:
    return f"allowed_hosts: ['127.0.0.1']\nmodel:\n  base_url: {server.base_url}\n  model: local-model\n"


def test_the_model_is_offered_a_topic_with_only_a_description(tmp_path: Path, model: OpenAIServer) -> None:
    def respond(body: dict[str, Any]) -> str:
        topics = body["response_format"]["json_schema"]["schema"]["properties"]["topics"]["items"]["enum"]
        chosen = ["Refund"] if "Refund" in topics else []
        return json.dumps({"outcome": "match" if chosen else "none", "topics": chosen,
                           "confidence": 0.9, "reason": "wants money back"})

    model.responder = respond
    root = agent_dir(tmp_path, "llm", llm_extra(model))
    assert [d for d in load_agent(root).diagnostics if d.code == "TPC238"] == []
    convo = Conversation(root)
    convo.start()
    assert convo.say("I want a refund for my order") == ["This is the Refund topic."]
    system = model.requests[-1]["messages"][0]["content"]
    assert "- Refund: Helps a caller get their money back for an order they returned or did not receive." in system
    assert '- Hours: Hours. Examples: "when are you open"' in system
    assert "Helper" not in system  # neither phrases nor a description: not a candidate


def test_when_the_model_fails_the_embedded_fallback_decides_among_the_phrased_topics(
    tmp_path: Path, model: OpenAIServer
) -> None:
    model.script.extend([Scripted(status=500), Scripted(status=500)])
    convo = Conversation(agent_dir(tmp_path, "llm", llm_extra(model)))
    convo.start()
    assert convo.say("when are you open") == ["We are open nine to five."]
    found = convo.results[-1].recognitions[-1]
    assert found.recognizer == "llm->embedded"
    assert "Refund" not in {m.topic for m in found.ranked}


@pytest.mark.parametrize("kind", ["embedded", "lexical", "http"])
def test_check_warns_that_a_described_only_topic_can_never_start(tmp_path: Path, kind: str) -> None:
    diagnostics = load_agent(agent_dir(tmp_path, kind)).diagnostics
    found = [d for d in diagnostics if d.code == "TPC238"]
    assert len(found) == 1, [d.message for d in diagnostics]
    [warning] = found
    assert warning.span is not None
    assert (warning.span.path, warning.span.line, warning.span.column) == ("topics/Refund.topic.yaml", 4, 3)
    assert f"the {kind} recogniser" in warning.message and "can never start" in warning.message
    assert warning.hint is not None and "kind: llm" in warning.hint
