"""agent.yaml `recognizer:` selects the recogniser and its thresholds; bad values are reported."""

from __future__ import annotations

from pathlib import Path

from postcall.engine.recognizer import PhraseRecognizer
from postcall.testing import Conversation
from postcall.topics import load_agent
from postcall.understanding import EmbeddedRecognizer, recognizer_for

TOPIC = """kind: AdaptiveDialog
beginDialog:
  kind: OnRecognizedIntent
  id: main
  intent:
    triggerQueries:
      - check my order status
      - where is my order
  actions:
    - kind: SendActivity
      id: say_order
      activity: Your order is on its way.
"""


def agent_dir(root: Path, agent_yaml: str) -> Path:
    (root / "topics").mkdir(parents=True)
    (root / "topics" / "Order.topic.yaml").write_text(TOPIC)
    (root / "agent.yaml").write_text(agent_yaml)
    return root


def test_default_is_the_embedded_recogniser(tmp_path: Path) -> None:
    agent = load_agent(agent_dir(tmp_path, "name: shop\n")).agent
    assert agent is not None
    assert isinstance(recognizer_for(agent), EmbeddedRecognizer)
    convo = Conversation(agent)
    convo.start()
    assert "Your order is on its way." in convo.say("uh where's my order at")
    assert convo.results[-1].recognitions[-1].recognizer == "embedded"


def test_lexical_and_thresholds_are_selected(tmp_path: Path) -> None:
    agent = load_agent(agent_dir(tmp_path, "recognizer:\n  kind: lexical\n  match_threshold: 0.7\n")).agent
    assert agent is not None
    found = recognizer_for(agent)
    assert isinstance(found, PhraseRecognizer) and found.threshold == 0.7


def test_embedded_thresholds_are_settable(tmp_path: Path) -> None:
    yaml_text = "recognizer:\n  similarity_floor: 0.99\n  ambiguity_ratio: 0.5\n"
    agent = load_agent(agent_dir(tmp_path, yaml_text)).agent
    assert agent is not None
    found = recognizer_for(agent)
    assert isinstance(found, EmbeddedRecognizer)
    assert (found.thresholds.similarity_floor, found.thresholds.ambiguity_ratio) == (0.99, 0.5)
    convo = Conversation(agent)
    convo.start()
    assert "Your order is on its way." not in " ".join(convo.say("where is my parcel"))


def test_unknown_kinds_and_bad_values_are_reported(tmp_path: Path) -> None:
    yaml_text = "recognizer:\n  kind: rasa\n  match_threshold: 3\n  colour: red\n  auth: basic\n  url: ftp://x\n"
    result = load_agent(agent_dir(tmp_path, yaml_text))
    messages = [d.message for d in result.diagnostics]
    assert any("recognizer kind 'rasa' is not one of embedded, lexical, llm, http" in m for m in messages)
    assert any("recognizer.auth 'basic' must be one of hmac, bearer" in m for m in messages)
    assert any("recognizer.url 'ftp://x' must start with http://" in m for m in messages)
    assert any("match_threshold must be between 0 and 1" in m for m in messages)
    assert any("has no key 'colour'" in m for m in messages)
    assert result.agent is not None and result.agent.config.recognizer.kind == "embedded"
