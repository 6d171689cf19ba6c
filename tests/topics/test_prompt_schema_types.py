"""A prompt's JSON schema written in YAML keeps YAML's types: a quoted "1" stays text, a plain
1 is a number (review-12 #5); the YAML 1.2 core schema decides, by each scalar's tag."""

from __future__ import annotations

from pathlib import Path

from postcall.topics import load_agent
from postcall.topics.source import parse_yaml, to_json

AGENT_YAML = """\
name: Typed
prompts:
  pick:
    text: Pick one for {Case}.
    output:
      type: object
      properties:
        choice: {type: string, enum: ["1", "true", "null", '2.5', !!str 3]}
        level: {type: integer, enum: [1, 2, 0x10], minimum: -1}
        score: {type: number, maximum: 1.5}
        flag: {type: boolean, default: false, examples: [yes, "no"]}
        note: {type: [string, "null"], default: null, description: ~}
      required: [choice, level]
      additionalProperties: false
"""


def test_quoted_schema_values_stay_strings_and_plain_ones_are_typed(tmp_path: Path) -> None:
    (tmp_path / "topics").mkdir()
    (tmp_path / "agent.yaml").write_text(AGENT_YAML, encoding="utf-8")
    result = load_agent(tmp_path)
    assert result.agent is not None, result.diagnostics
    schema = result.agent.config.prompts["pick"].output_schema
    assert schema is not None
    props = schema["properties"]
    assert props["choice"]["enum"] == ["1", "true", "null", "2.5", "3"]
    assert props["level"]["enum"] == [1, 2, 16] and props["level"]["minimum"] == -1
    assert props["score"]["maximum"] == 1.5
    assert props["flag"]["default"] is False
    assert props["flag"]["examples"] == ["yes", "no"]  # YAML 1.2: `yes` is text, not a boolean
    assert props["note"] == {"type": ["string", "null"], "default": None, "description": None}
    assert schema["additionalProperties"] is False and schema["required"] == ["choice", "level"]


def test_block_scalars_and_leading_zeros() -> None:
    node, diags = parse_yaml('a: |\n  1\nb: >\n  true\nc: 007\nd: "007"\ne: 1e3\nf: .inf\n', "x.yaml")
    assert diags == []
    assert to_json(node) == {"a": "1\n", "b": "true\n", "c": 7, "d": "007", "e": 1000.0, "f": ".inf"}
