"""`postcall check`: output, exit codes 0 / 1 / 2, JSON format."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from postcall.cli.main import cli

FIXTURES = Path(__file__).parent / "fixtures"
CASES = Path(__file__).parent / "cases"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["check", *args])
    return result.exit_code, result.output


def test_clean_agent_exits_zero_with_a_summary() -> None:
    code, out = run(str(FIXTURES / "agent_folder"))
    assert code == 0
    assert "Agent Contoso Fixture (folder layout): 4 topics" in out
    assert "topics by trigger: OnActivity 2, OnConversationStart 1, OnEscalate 1" in out
    assert "0 errors, 0 warnings, 0 infos" in out


def test_errors_exit_one_with_carets() -> None:
    code, out = run(str(CASES / "ids_and_goto.yaml"))
    assert code == 1
    assert (
        "ids_and_goto.yaml:17:7: error TPC209: GotoAction 'goto_retry' jumps to 'sendActivity_aks'"
        in out
    )
    assert "    hint: did you mean 'sendActivity_ask'?" in out
    assert "        ^^^^^^^^^^^^^^^^" in out
    assert "2 errors, 1 warning, 0 infos" in out


def test_usage_errors_exit_two() -> None:
    code, out = run(str(FIXTURES / "nope"))
    assert code == 2 and "no such file or folder" in out
    code, out = run(str(FIXTURES / "agent_folder"), "--env", "novalue")
    assert code == 2 and "NAME=VALUE" in out
    code, out = run(str(FIXTURES / "agent_folder"), "--env", "1bad=x")
    assert code == 2
    code, _ = run(str(FIXTURES / "agent_folder"), "--format", "xml")
    assert code == 2


def test_json_format_and_env_override() -> None:
    code, out = run(
        str(FIXTURES / "agent_folder"),
        "--format",
        "json",
        "--env",
        "crm_BaseUrl=http://127.0.0.1:1",
    )
    assert code == 0
    payload = json.loads(out)
    assert [d["code"] for d in payload["diagnostics"]] == ["TPC253"]
    summary = payload["summary"]
    assert summary["topics"] == 4 and summary["layout"] == "folder" and summary["errors"] == 0
    assert summary["nodes_by_kind"]["HttpRequestAction"] == 2
    assert summary["formulas"] > 10
    assert summary["unsupported_kinds"] == {}


def test_json_lists_unsupported_kinds_and_error_positions() -> None:
    code, out = run(str(CASES / "unsupported_kinds.yaml"), "--format", "json")
    assert code == 1
    payload = json.loads(out)
    # Only valid Copilot Studio kinds the runtime does not run are "unsupported"; misspelt
    # kinds are listed apart.
    assert payload["summary"]["unsupported_kinds"] == {
        "OnGeneratedResponse": 1, "SearchAndSummarizeWithCustomModel": 1,
    }  # fmt: skip
    assert payload["summary"]["unknown_kinds"] == {"SendMessage": 1, "SetVarible": 1}
    assert payload["summary"]["invalid_nodes"] == {}
    send = next(d for d in payload["diagnostics"] if "SendMessage" in d["message"])
    assert (send["severity"], send["code"], send["line"], send["column"]) == (
        "error",
        "TPC206",
        10,
        13,
    )
    assert send["hint"] == "did you mean 'SendActivity'?"


INVALID = """kind: AdaptiveDialog
beginDialog:
  kind: OnConversationStar
  id: main
  actions:
    - kind: SetVariable
      id: set_no_value
      variable: Topic.x
    - kind: HttpRequestAction
      id: http_no_url
    - kind: SearchAndSummarizeWithCustomModel
      id: search_1
"""


def test_summary_keeps_invalid_nodes_and_unknown_kinds_out_of_unsupported_kinds(
    tmp_path: Path,
) -> None:
    topic = tmp_path / "Invalid.topic.yaml"
    topic.write_text(INVALID, encoding="utf-8")
    code, out = run(str(topic), "--format", "json")
    assert code == 1
    summary = json.loads(out)["summary"]
    assert summary["unsupported_kinds"] == {"SearchAndSummarizeWithCustomModel": 1}
    assert summary["invalid_nodes"] == {"HttpRequestAction": 1, "SetVariable": 1}
    assert summary["unknown_kinds"] == {"OnConversationStar": 1}
    code, text = run(str(topic))
    assert "  unsupported kinds: SearchAndSummarizeWithCustomModel 1" in text
    assert "  unknown kinds:     OnConversationStar 1" in text
    assert "  invalid nodes:     HttpRequestAction 1, SetVariable 1" in text


def test_a_secret_written_in_agent_yaml_is_not_printed_in_the_excerpt(tmp_path: Path) -> None:
    """TPC252 points at the key; its excerpt masks the value (review-12 #12)."""
    agent = tmp_path / "agent"
    (agent / "topics").mkdir(parents=True)
    name = "PostCallCrm.topic.yaml"
    (agent / "topics" / name).write_text((FIXTURES / "agent_folder" / "topics" / name).read_text(encoding="utf-8"))
    (agent / "agent.yaml").write_text(
        "name: Leaky\nenv:\n  crm_ApiKey: 'sk-INENV-123456'\n"
        "model:\n  base_url: http://127.0.0.1:8089/v1\n  model: m\n  api_key: sk-INYAML-999999  # oops\n"
    )
    code, out = run(str(agent))
    assert code == 1
    assert "error TPC252" in out and "warning TPC252" in out
    assert "      api_key: [redacted]\n      ^^^^^^^" in out, out
    assert "      crm_ApiKey: [redacted]\n      ^^^^^^^^^^" in out, out
    assert "sk-INYAML-999999" not in out and "sk-INENV-123456" not in out
