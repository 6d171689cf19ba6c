"""`postcall simulate`: generated callers drive every topic; faults come back with file:line."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from postcall.cli.main import cli
from postcall.testing.simulate import simulate

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "contoso-support"


def write_agent(root: Path, topics: dict[str, str], agent_yaml: str = "name: Sim\n") -> Path:
    (root / "topics").mkdir(parents=True)
    (root / "agent.yaml").write_text(agent_yaml)
    for name, text in topics.items():
        (root / "topics" / f"{name}.topic.yaml").write_text(text)
    return root


BROKEN = """\
kind: AdaptiveDialog
beginDialog:
  kind: OnRecognizedIntent
  id: main
  intent:
    triggerQueries:
      - order a pizza
  actions:
    - kind: Question
      id: size
      variable: Topic.Size
      prompt: What size?
      entity: NumberPrebuiltEntity
    - kind: SendActivity
      id: say
      activity: "Size {Topic.Size}"
    - kind: SetVariable
      id: bad
      variable: Topic.X
      value: =1/0
"""


def test_the_example_agent_simulates_clean() -> None:
    report = simulate(EXAMPLE)
    assert report.calls and report.clean_calls == len(report.calls)
    assert report.crashes == 0
    scenarios = {c.scenario for c in report.calls if c.topic == "Case status"}
    assert {"answer", "off-script", "silence", "keypad", "hang-up@0"} <= scenarios
    answered = next(c for c in report.calls if c.topic == "Case status" and c.scenario == "answer")
    assert answered.node_kinds["HttpRequestAction"] >= 1
    assert "Post-call CRM update" in answered.topics_ran


def test_a_fault_is_reported_with_its_file_and_line(tmp_path: Path) -> None:
    root = write_agent(tmp_path / "a", {"Pizza": BROKEN})
    report = simulate(root)
    answer = next(c for c in report.calls if c.scenario == "answer")
    assert not answer.clean
    (fault,) = answer.faults
    assert fault.code == "RUN450" and fault.node == "bad" and fault.node_kind == "SetVariable"
    assert fault.where is not None and fault.where.endswith("Pizza.topic.yaml:17")
    # Hanging up at the question never reaches the broken node.
    hang = next(c for c in report.calls if c.scenario == "hang-up@0")
    assert hang.clean and hang.end == "CUSTOMER_HANGUP"
    assert report.by_node_kind()["SetVariable"][1] < report.by_node_kind()["SetVariable"][0]


def test_the_command_prints_json_and_exits_1_on_faults(tmp_path: Path) -> None:
    root = write_agent(tmp_path / "a", {"Pizza": BROKEN})
    result = CliRunner().invoke(cli, ["simulate", str(root), "--format", "json"])
    assert result.exit_code == 1, result.output
    payload = json.loads(result.output)
    assert payload["summary"]["faults_by_code"]["RUN450"] >= 1
    assert payload["topics"]["Pizza"]["driven"] == "phrase"
    text = CliRunner().invoke(cli, ["simulate", str(EXAMPLE)])
    assert text.exit_code == 0, text.output
    assert "topic Case status [OnRecognizedIntent]" in text.output
