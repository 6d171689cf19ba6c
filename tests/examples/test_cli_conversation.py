"""`postcall call` and `postcall chat` on the seed example, against a real CRM server."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from crm.launcher import CrmProcess
from postcall.cli.conversation import scan_steps
from postcall.cli.main import cli

AGENT = str(Path(__file__).resolve().parents[2] / "examples" / "contoso-support")


def _call(crm: CrmProcess, *args: str, conversation_id: str = "cli-1") -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["call", AGENT, "--env", f"crm_BaseUrl={crm.url}", "--conversation-id", conversation_id, *args]
    )
    return result.exit_code, result.output


def test_steps_are_read_in_command_line_order() -> None:
    args = ["x", "--say", "a", "--press=12#", "--silence", "--env", "A=1", "--transfer-result",
            "busy", "--say=b", "--hang-up", "--format", "json"]
    assert scan_steps(args) == [
        ("say", "a"), ("press", "12#"), ("silence", None), ("transfer-result", "busy"),
        ("say", "b"), ("hang-up", None),
    ]


def test_call_json_report(crm: CrmProcess, case_number: int) -> None:
    code, out = _call(crm, "--say", "case status", "--press", f"{case_number}#", "--hang-up", "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert report["conversation_id"] == "cli-1"
    assert report["transcript"][1:4] == [
        {"from": "caller", "text": "case status"},
        {"from": "agent", "text": "Please say or key in your case number, then press pound."},
        {"from": "caller", "text": f"[pressed {case_number}#]"},
    ]
    assert report["end"]["reason"] == "CUSTOMER_HANGUP"
    assert report["end"]["initiator"] == "caller"
    assert report["end"]["detail"]["source"] == "channel"
    runs = [(r["topic"], r["status"]) for r in report["post_call_runs"]]
    assert runs == [("Post-call CRM update", "succeeded"), ("Post-call log", "succeeded")]
    patch = [s for s in report["post_call_runs"][0]["steps"] if "request" in s]
    assert patch[0]["request"]["payload"]["method"] == "PATCH"
    assert patch[0]["result"]["status_code"] == 200
    case = crm.case(case_number)
    assert (case["status"], case["end_reason"], case["update_count"]) == ("in_progress", "CUSTOMER_HANGUP", 1)


def test_transfer_result_applies_to_the_next_transfer_only(crm: CrmProcess) -> None:
    code, out = _call(
        crm, "--transfer-result", "busy", "--say", "billing", "--say", "talk to a person",
        "--format", "json", conversation_id="cli-2",
    )
    assert code == 0
    report = json.loads(out)
    texts = [t["text"] for t in report["transcript"]]
    assert "The billing team couldn't take your call. Is there anything else I can help you with?" in texts
    assert report["end"]["reason"] == "CCAAS_TRANSFER"  # the second transfer: answered by default
    assert [r["topic"] for r in report["post_call_runs"]] == ["Post-call log"]


def test_when_steps_run_out_the_caller_hangs_up(crm: CrmProcess) -> None:
    code, out = _call(crm, "--say", "hello there", conversation_id="cli-3")
    assert code == 0
    assert "end: CUSTOMER_HANGUP (initiator caller" in out
    assert "post-call 'Post-call CRM update': succeeded" in out


def test_a_failing_post_call_run_still_exits_zero(crm: CrmProcess) -> None:
    crm.set_faults(status=500)
    try:
        code, out = _call(crm, "--say", "bye", conversation_id="cli-4")
    finally:
        crm.clear_faults()
    assert code == 0
    assert "end: AGENT_HANGUP" in out
    assert "post-call 'Post-call log': failed" in out


def test_bad_env_is_a_usage_error(crm: CrmProcess) -> None:
    result = CliRunner().invoke(cli, ["call", AGENT, "--env", "novalue"])
    assert result.exit_code == 2
    assert "NAME=VALUE" in result.output


def test_an_agent_with_errors_exits_one(tmp_path: Path) -> None:
    (tmp_path / "topics").mkdir()
    (tmp_path / "topics" / "Broken.topic.yaml").write_text("kind: AdaptiveDialog\nbeginDialog: [1, 2]\n")
    result = CliRunner().invoke(cli, ["call", str(tmp_path), "--say", "hi"])
    assert result.exit_code == 1
    assert "Broken.topic.yaml" in result.output


def test_chat_reads_lines_and_commands(crm: CrmProcess, case_number: int) -> None:
    status = crm.case(case_number)["status"].replace("_", " ")
    result = CliRunner().invoke(
        cli,
        ["chat", AGENT, "--env", f"crm_BaseUrl={crm.url}"],
        input=f"case status\n/press {case_number}#\nbilling\n/transfer no-answer\n",
    )
    assert result.exit_code == 0
    out = result.output
    assert f"agent: Case {case_number}: the status is {status}." in out
    assert "is ringing: /transfer" in out
    assert "agent: The billing team couldn't take your call." in out
    assert "(caller hung up)" in out  # end of input is Ctrl-D
    assert "end: CUSTOMER_HANGUP" in out
    assert "  transfer to +15550100200: no-answer" in out
    assert crm.case(case_number)["end_reason"] == "CUSTOMER_HANGUP"


def test_steps_after_the_agent_hung_up_are_reported_not_dropped(crm: CrmProcess) -> None:
    code, out = _call(crm, "--say", "goodbye", "--say", "case status", "--hang-up", conversation_id="cli-late")
    assert code == 0
    assert "end: AGENT_HANGUP" in out
    assert "note: the agent hung up before the last 2 step(s); not played: --say 'case status', --hang-up" in out
    code, out = _call(crm, "--say", "goodbye", "--press", "1#", "--format", "json", conversation_id="cli-late-json")
    assert json.loads(out)["ignored_steps"] == [{"step": "press", "value": "1#"}]
