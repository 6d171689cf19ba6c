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


def diagnostics(tmp_path: Path, recognizer_yaml: str) -> list[tuple[str, str, int, int, str]]:
    loaded = load_agent(agent_dir(tmp_path, f"name: shop\nallowed_hosts: ['127.0.0.1']\nrecognizer:\n{recognizer_yaml}"))
    return [(d.code, d.severity.value, d.span.line, d.span.column, d.message) for d in loaded.diagnostics
            if d.span is not None and str(d.span.path).endswith("agent.yaml")]


def test_settings_the_kind_does_not_read_are_warned_at_their_key(tmp_path: Path) -> None:
    found = diagnostics(tmp_path, "  kind: lexical\n  similarity_floor: 0.9\n  ambiguity_ratio: 0.1\n"
                                  "  url: http://127.0.0.1:1/x\n  min_score: 0.9\n  match_threshold: 0.6\n")
    ignored = [(code, sev, line, col) for code, sev, line, col, _ in found]
    assert ignored == [("TPC254", "warning", 5, 3), ("TPC254", "warning", 6, 3), ("TPC254", "warning", 7, 3),
                       ("TPC254", "warning", 8, 3)]  # match_threshold: lexical reads it
    assert "recognizer.similarity_floor has no effect with kind lexical" in found[0][4]
    assert "only http reads it" in found[2][4]


def test_embedded_with_http_settings_is_warned(tmp_path: Path) -> None:
    found = diagnostics(tmp_path, "  kind: embedded\n  secret_env: S\n  min_score: 0.5\n  timeout_seconds: 2\n")
    assert [(code, line) for code, _, line, _, _ in found] == [("TPC254", 5), ("TPC254", 6), ("TPC254", 7)]


def test_http_without_a_secret_is_warned_unsigned(tmp_path: Path) -> None:
    found = diagnostics(tmp_path, "  kind: http\n  url: http://127.0.0.1:9/x\n")
    assert [(code, sev, line, col) for code, sev, line, col, _ in found] == [("TPC255", "warning", 4, 9)]
    assert "unsigned" in found[0][4]
    assert diagnostics(tmp_path / "signed", "  kind: http\n  url: http://127.0.0.1:9/x\n  secret_env: S\n") == []


def test_an_empty_kind_is_an_error(tmp_path: Path) -> None:
    for n, value in enumerate(("", " ''", " ~")):
        found = diagnostics(tmp_path / str(n), f"  kind:{value}\n")
        assert [(code, sev, line) for code, sev, line, _, _ in found] == [("TPC251", "error", 4)], value
        assert "recognizer.kind is empty" in found[0][4]


def test_a_quoted_number_is_an_error(tmp_path: Path) -> None:
    found = diagnostics(tmp_path, '  match_threshold: "0.2"\n')
    assert [(code, sev, line, col) for code, sev, line, col, _ in found] == [("TPC251", "error", 4, 20)]
    assert 'not the text "0.2"' in found[0][4]
    loaded = load_agent(agent_dir(tmp_path / "plain", "recognizer:\n  match_threshold: 0.2\n"))
    assert loaded.agent is not None and loaded.agent.config.recognizer.match_threshold == 0.2
