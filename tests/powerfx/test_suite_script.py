"""scripts/powerfx_suite.py on a miniature Power-Fx checkout: the per-file table, the totals with
and without the files no configuration runs, and no crash on a case the engine cannot handle."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CORE = "src/tests/Microsoft.PowerFx.Core.Tests.Shared/ExpressionTestCases"
INTERPRETER = "src/tests/Microsoft.PowerFx.Interpreter.Tests.Shared/InterpreterExpressionTestCases"


def test_suite_script_reports_both_folders(tmp_path: Path) -> None:
    core = tmp_path / CORE
    interpreter = tmp_path / INTERPRETER
    core.mkdir(parents=True)
    interpreter.mkdir(parents=True)
    (core / "Plain.txt").write_text('>> 1 + 1\n2\n\n>> "a" & "b"\n"ab"\n\n>> 1/0\n3\n', encoding="utf-8")
    (core / "Old.txt").write_text('#SETUP: disable:PowerFxV1CompatibilityRules\n\n>> 1 = "1"\nfalse\n', encoding="utf-8")
    (core / "Never.txt").write_text("#SETUP: disable:ConsistentOneColumnTableResult\n\n>> 1\n1\n", encoding="utf-8")
    (interpreter / "Chained.txt").write_text("#SETUP: EnableExpressionChaining\n\n>> 1; 2\n2\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "powerfx_suite.py"), str(tmp_path)],
        capture_output=True, text=True, check=False, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Total: 3 passed, 1 failed, 1 skipped: 75.00% of cases run pass, 20.00% skipped" in out
    assert "Without the 1 cases no configuration of Microsoft's harness runs: 3 passed, 1 failed, 0 skipped" in out
    assert "Total: 1 passed, 0 failed, 0 skipped" in out
    assert "     1      0      0  Old.txt" in out


def test_suite_script_refuses_a_folder_that_is_not_a_checkout(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "powerfx_suite.py"), str(tmp_path)],
        capture_output=True, text=True, check=False, timeout=60,
    )
    assert result.returncode == 2
    assert "not a Power-Fx checkout" in result.stderr
