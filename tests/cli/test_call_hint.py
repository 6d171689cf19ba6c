"""The call `serve` suggests comes from the served agent's own topics and names a `postcall` that exists."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from postcall.cli.hint import call_hint, call_steps, postcall_executable
from postcall.topics import load_agent

REPO = Path(__file__).resolve().parents[2]

ORDER_TOPIC = """kind: AdaptiveDialog
beginDialog:
  kind: OnRecognizedIntent
  id: main
  intent:
    displayName: Order status
    triggerQueries:
      - Where is my order
      - Order status
  actions:
    - kind: SendActivity
      id: sendMessage_1
      activity: Your order is on its way.
"""


def _agent(tmp_path: Path) -> Path:
    folder = tmp_path / "shop"
    (folder / "topics").mkdir(parents=True)
    (folder / "agent.yaml").write_text("name: Shop\nlanguage: en-US\n", encoding="utf-8")
    (folder / "topics" / "Order status.topic.yaml").write_text(ORDER_TOPIC, encoding="utf-8")
    return folder


def test_the_hint_says_a_phrase_of_the_served_agent_not_the_example(tmp_path: Path) -> None:
    result = load_agent(_agent(tmp_path))
    assert result.agent is not None
    assert call_steps(result.agent) == ["--say", "Where is my order", "--hang-up"]
    hint = shlex.split(call_hint(result.agent, "http://127.0.0.1:9000", "/secrets/twilio token"))
    assert "case status" not in " ".join(hint).lower() and "--press" not in hint
    assert hint[hint.index("--auth-token-file") + 1] == "/secrets/twilio token"


def test_a_topic_that_asks_for_digits_is_preferred_and_keyed_in() -> None:
    result = load_agent(REPO / "examples" / "contoso-support")
    assert result.agent is not None
    steps = call_steps(result.agent)
    assert steps[0] == "--say" and steps[2:] == ["--press", "1001#", "--hang-up"]
    topic = result.agent.topics["Case status"]
    assert steps[1] == topic.trigger.trigger_queries[0]


def test_the_executable_is_the_one_running_now() -> None:
    argv = postcall_executable()
    assert os.access(argv[0], os.X_OK)
    assert argv == [argv[0]] and Path(argv[0]).name == "postcall" or argv[1:] == ["-m", "postcall.cli.main"]
