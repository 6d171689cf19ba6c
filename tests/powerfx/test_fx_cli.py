"""`postcall fx eval` and `postcall fx test` (the click group, run in-process)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from postcall.cli.fx import fx


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(fx, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_eval_prints_power_fx_syntax() -> None:
    assert run("eval", "=1 + 2") == (0, "3\n", "")
    assert run("eval", '{b: "x", a: [1, 2]}')[1] == '{a:Table({Value:1},{Value:2}),b:"x"}\n'


def test_eval_with_variables() -> None:
    code, out, _ = run(
        "eval",
        'Topic.count * 2 & " " & System.Conversation.EndReason & " " & CountRows(items)',
        "--var", "Topic.count=21",
        "--var", 'System.Conversation.EndReason="CUSTOMER_HANGUP"',
        "--var", "items=[1, 2, 3]",
    )
    assert code == 0 and out == '"42 CUSTOMER_HANGUP 3"\n'
    code, out, _ = run("eval", "Topic.o.a", "--var", 'Topic.o={"a": [1]}')
    assert code == 0 and out == "Table({Value:1})\n"


def test_eval_reports_errors() -> None:
    code, out, err = run("eval", "1/0")
    assert code == 0 and out == "Error({Kind:ErrorKind.Div0})\n" and "Division by zero" in err
    code, out, err = run("eval", "If(1, 2")
    assert code == 1 and out == "" and "PFX102" in err and "^" in err
    code, _, err = run("eval", "x", "--var", "novalue")
    assert code == 2 and "NAME=VALUE" in err


def test_test_command_summary_line(tmp_path: Path) -> None:
    path = tmp_path / "cases.txt"
    path.write_text(
        '>> 1+1\n2\n\n>> "a" & "b"\n"ab"\n\n>> 1/0\n0\n\n>> Now()\n#SKIP: clock\n', encoding="utf-8"
    )
    code, out, _ = run("test", str(path))
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[-1] == "2 passed, 1 failed, 1 skipped"
    assert any(line.startswith("FAIL ") and "1/0" in line for line in lines)
    assert any("#SKIP in the test file" in line for line in lines)
