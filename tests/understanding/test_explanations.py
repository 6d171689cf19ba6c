"""Explanations say what the engine did with a decision, not only the recogniser's outcome
(Recognition.taken): close topics of which fewer than two may be offered, decisions a waiting
question overrode, Fallback; and every kind shows its candidates' scores where it has them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from postcall.cli.conversation import explain_lines
from postcall.devtools.openai_server import OpenAIServer
from postcall.engine.recognizer import IntentCandidate, PhraseRecognizer, decide
from postcall.testing import Conversation

from .test_select_intent import make_agent

ORDER = """kind: AdaptiveDialog
beginDialog:
  kind: OnRecognizedIntent
  id: main
  intent:
    triggerQueries:
      - track my order
      - where is my order
  actions:
    - kind: Question
      id: ask_number
      interruptionPolicy:
        allowInterruption: true
      variable: init:Topic.Number
      prompt: What is your order number?
      unrecognizedPrompt: Please say the order number.
      entity: NumberPrebuiltEntity
    - kind: SendActivity
      id: say_number
      activity: "Order {Topic.Number} is on its way."
"""


def test_close_topics_with_one_offerable_run_the_best_and_say_why(tmp_path: Path) -> None:
    root = make_agent(tmp_path, with_select=True)
    lost = root / "topics" / "Lost card.topic.yaml"
    lost.write_text(lost.read_text().replace("  intent:\n", "  intent:\n    includeInOnSelectIntent: false\n"))
    convo = Conversation(root)
    convo.start()
    before = len(convo.results)
    said = convo.say("a problem with my card")
    rec = convo.results[-1].recognitions[-1]
    assert rec.outcome == "ambiguous"
    assert {m.topic for m in rec.chosen} == {"Lost card", "Stolen card"}
    best = rec.chosen[0].topic
    assert said == [f"This is the {best} topic."]  # nobody was asked "which one"
    assert rec.taken is not None and rec.taken.action == "best"
    assert f"started {best!r}" in rec.taken.why
    assert "'Lost card': includeInOnSelectIntent false" in rec.taken.why
    assert f"  [engine] {rec.taken.why}" in explain_lines(convo, before)


def test_close_topics_that_may_be_offered_are_asked_about(tmp_path: Path) -> None:
    convo = Conversation(make_agent(tmp_path, with_select=True))
    convo.start()
    convo.say("a problem with my card")
    rec = convo.results[-1].recognitions[-1]
    assert rec.taken is not None and rec.taken.action == "asked"
    assert "'Multiple Topics Matched' (2 options)" in rec.taken.why


def test_a_waiting_question_overrides_the_decision_and_the_explanation_says_so(tmp_path: Path) -> None:
    root = make_agent(tmp_path, with_select=False)
    (root / "topics" / "Order.topic.yaml").write_text(ORDER)
    convo = Conversation(root)
    convo.start()
    assert convo.say("where is my order") == ["What is your order number?"]
    started = convo.results[-1].recognitions[-1]
    assert started.taken is not None and (started.taken.action, started.taken.why) == ("started", "started 'Order'")
    # Several close topics never interrupt a question: asked again, not "did you mean".
    assert convo.say("a problem with my card") == ["Please say the order number."]
    close = convo.results[-1].recognitions[-1]
    assert close.outcome == "ambiguous"
    assert close.taken is not None and close.taken.action == "not-understood"
    assert "several topics are close" in close.taken.why and "asks again" in close.taken.why
    # Words that answer the question are its answer, whatever the recogniser thought of them.
    assert convo.say("42") == ["Order 42 is on its way."]
    answered = convo.results[-1].recognitions[-1]
    assert answered.outcome == "none"
    assert answered.taken is not None and answered.taken.action == "answer"
    assert "taken as the answer to the waiting question" in answered.taken.why


def test_nothing_recognised_says_which_fallback_ran(tmp_path: Path) -> None:
    convo = Conversation(make_agent(tmp_path, with_select=False))
    convo.start()
    convo.say("purple elephants dancing")
    rec = convo.results[-1].recognitions[-1]
    assert rec.outcome == "none"
    assert rec.taken is not None and rec.taken.action == "fallback"
    assert "the default reply" in rec.taken.why and "System.FallbackCount 1" in rec.taken.why
    assert rec.to_json()["taken"] == {"action": "fallback", "why": rec.taken.why}


CARDS = [
    IntentCandidate("Lost card", ("I lost my card", "my card is lost")),
    IntentCandidate("Stolen card", ("my card was stolen", "someone stole my card")),
    IntentCandidate("Opening hours", ("when are you open",)),
]


def test_lexical_none_still_shows_the_nearest_topics_with_scores() -> None:
    strict = PhraseRecognizer(threshold=0.95)
    found = decide(strict, "my card", CARDS)
    assert found.outcome == "none"
    assert {m.topic for m in found.ranked} == {"Lost card", "Stolen card"}  # Opening hours shares nothing
    assert all(0 < m.score < 0.95 for m in found.ranked)
    assert found.ranked[0].score >= found.ranked[1].score
    assert "0.95" in found.reason
    matched = decide(PhraseRecognizer(), "I lost my card", CARDS)
    assert matched.outcome == "match" and matched.chosen[0].topic == "Lost card"
    assert [m.topic for m in matched.ranked][:2] == ["Lost card", "Stolen card"]  # the runner-up too


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIServer]:
    monkeypatch.setenv("POSTCALL_MODEL_API_KEY", "sk-test")
    with OpenAIServer(api_key="sk-test") as server:
        yield server


def test_llm_says_plainly_that_the_model_gives_no_scores(tmp_path: Path, model: OpenAIServer) -> None:
    def respond(body: dict[str, Any]) -> str:
        return json.dumps({"outcome": "none", "topics": [], "confidence": 0.8, "reason": "a joke"})

    model.responder = respond
    root = make_agent(tmp_path, with_select=False)
    (root / "agent.yaml").write_text(
        f"name: cards\nallowed_hosts: ['127.0.0.1']\nmodel:\n  base_url: {model.base_url}\n"
        "  model: local-model\nrecognizer:\n  kind: llm\n"
    )
    convo = Conversation(root)
    convo.start()
    convo.say("tell me a joke")
    rec = convo.results[-1].recognitions[-1]
    assert (rec.recognizer, rec.outcome, rec.ranked) == ("llm", "none", ())
    assert "the model: a joke" in rec.reason and "gives no scores" in rec.reason
    assert rec.taken is not None and rec.taken.action == "fallback"
