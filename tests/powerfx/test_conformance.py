"""Microsoft's Power Fx expression tests: the pass rate must not fall below the recorded figure."""

from __future__ import annotations

from pathlib import Path

from postcall.devtools.conformance import (
    parse_test_text,
    recorded_pass_rate,
    run_files,
    values_equal,
)

REPO = Path(__file__).resolve().parents[2]
# A copy of Microsoft's cases lives in the repository (MIT; source and commit in its README.md),
# so that a plain clone runs this test; it is the same set as ../shared/compat/.
TESTS_DIR = REPO / "tests" / "data" / "powerfx-expression-tests"


def test_shared_conformance_rate_does_not_fall() -> None:
    files = sorted(str(p) for p in TESTS_DIR.glob("*.txt"))
    assert files, f"no test files under {TESTS_DIR}"
    report = run_files(files)
    recorded = recorded_pass_rate((REPO / "docs" / "compatibility.md").read_text(encoding="utf-8"))
    assert recorded is not None, "docs/compatibility.md has no Power Fx pass rate"
    assert report.pass_rate >= recorded - 1e-9, (
        f"pass rate {report.pass_rate:.4f} fell below the recorded {recorded:.4f}:\n"
        + "\n".join(
            f"{o.case.file}:{o.case.line}: {o.case.expression} -> {o.actual}"
            for o in report.outcomes
            if o.status == "failed"
        )
    )
    assert report.pass_rate >= 0.90
    assert report.skip_rate <= 0.15


def test_format_reader_handles_directives_continuations_and_skips() -> None:
    text = (
        "\ufeff#SETUP: TableSyntaxDoesntWrapRecords, NoSuchFeature\n"
        "// a comment\n"
        ">> If(true,\n"
        "    1,\n"
        "    2)\n"
        "1\n\n"
        ">> 1/0\n"
        "#SKIP: not today\n\n"
        ">> Blank(\n"
        "Errors: Error 6-6: Expected an operand.\n"
    )
    parsed = parse_test_text(text, "x.txt")
    assert parsed.setup == ["TableSyntaxDoesntWrapRecords, NoSuchFeature"]
    assert [c.expression for c in parsed.cases] == ["If(true,\n    1,\n    2)", "1/0", "Blank("]
    assert parsed.cases[1].skip_reason is not None
    assert parsed.cases[2].expected.startswith("Errors:")


def test_file_needing_unknown_feature_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "Needs.txt"
    # The setup's case that collects into its table is skipped; one that uses neither its
    # behaviour functions nor its tables runs without it.
    path.write_text("#SETUP: MutationFunctionsTestSetup\n\n>> Collect(t1, {a: 1})\n1\n\n>> Abs(-1)\n1\n", encoding="utf-8")
    ok = tmp_path / "Ok.txt"
    ok.write_text(">> 1+1\n2\n\n>> 2+1\n4\n\n>> 1/0\nError({Kind:ErrorKind.Div0})\n\n>> Blank(\nErrors: x\n", encoding="utf-8")
    report = run_files([str(path), str(ok)])
    assert (report.passed, report.failed, report.skipped) == (4, 1, 1)
    assert report.skips_by_reason() == {
        "#SETUP MutationFunctionsTestSetup: data-source mutation (Collect/Patch/Remove on test tables)": 1
    }
    assert report.summary_line() == "4 passed, 1 failed, 1 skipped"  # Abs(-1) ran and passed


def test_setups_follow_microsofts_configurations(tmp_path: Path) -> None:
    """A file runs in the first configuration its #SETUP agrees with; #OVERRIDE replaces results there."""
    base = tmp_path / "A.txt"
    base.write_text(">> 1/2\n0.5\n\n>> 3\n4\n", encoding="utf-8")
    over = tmp_path / "A_Fix.txt"
    over.write_text("#OVERRIDE: A.txt\n#SETUP: NumberIsFloat\n\n>> 3\n3\n", encoding="utf-8")
    legacy = tmp_path / "Old.txt"
    legacy.write_text('#SETUP: disable:PowerFxV1CompatibilityRules\n\n>> 1 = "1"\nfalse\n', encoding="utf-8")
    never = tmp_path / "Never.txt"
    never.write_text("#SETUP: disable:ConsistentOneColumnTableResult\n\n>> 1\n1\n", encoding="utf-8")
    report = run_files([str(base), str(over), str(legacy), str(never)])
    where = {(o.case.file.rsplit("/", 1)[-1], o.case.line): (o.status, o.case.configuration) for o in report.outcomes}
    # In "V1, Decimal" the Float override is not loaded: A.txt's own `3 -> 4` fails there.
    assert where[("A.txt", 1)] == ("passed", "V1, Decimal")
    assert where[("A.txt", 4)] == ("failed", "V1, Decimal")
    # In "V1, Float" the override replaces it and passes.
    assert where[("A_Fix.txt", 4)] == ("passed", "V1, Float")
    # Pre-V1 files run where Microsoft runs them: Canvas without the V1 rules (a number and a
    # text are then simply unequal; with the V1 rules that comparison does not compile).
    assert where[("Old.txt", 3)] == ("passed", "Canvas, Float")
    assert where[("Never.txt", 3)][0] == "skipped"
    reasons = report.skips_by_reason()
    assert "no configuration of Microsoft's harness runs this file" in reasons


def test_an_engine_crash_is_one_failed_case(tmp_path: Path, monkeypatch: object) -> None:
    import pytest

    from postcall.devtools import conformance

    path = tmp_path / "Crash.txt"
    path.write_text(">> 1\n1\n\n>> 2\n2\n", encoding="utf-8")

    def explode(case: conformance.Case) -> conformance.Outcome:
        if case.expression == "1":
            raise TypeError("boom")
        return real_run(case)

    real_run = conformance._run_case
    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setattr(conformance, "_run_case", explode)
    report = run_files([str(path)])
    assert report.summary_line() == "1 passed, 1 failed, 0 skipped"
    failed = [o for o in report.outcomes if o.status == "failed"][0]
    assert failed.actual == "TypeError: boom"


def test_values_equal_compares_structurally() -> None:
    from postcall.powerfx import ErrorKind, ErrorValue, Record, Table

    assert values_equal(0.1 + 0.2, 0.3)
    assert not values_equal("a", "A")
    assert not values_equal(None, "")
    assert values_equal(Table.of_values([1.0, None]), Table.of_values([1.0, None]))
    assert values_equal(Record({"a": 1.0}), Record({"a": 1.0, "b": None}))
    assert values_equal(ErrorValue(ErrorKind.Div0), ErrorValue(ErrorKind.Div0, "other message"))
    assert not values_equal(ErrorValue(ErrorKind.Div0), ErrorValue(ErrorKind.Numeric))


def test_test_hosts_add_or_remove_functions(tmp_path: Path) -> None:
    """AsyncTestSetup's WaitFor fails when evaluated out of order; without RegEx there is no IsMatch."""
    path = tmp_path / "Async.txt"
    path.write_text(
        "#SETUP: AsyncTestSetup, EnableExpressionChaining\n\n"
        ">> If(false, WaitFor(1), 20)\n20\n\n"
        ">> WaitFor(0); WaitFor(1)\n1\n\n"
        ">> WaitFor(1)\n1\n",
        encoding="utf-8",
    )
    plain = tmp_path / "NoRegex.txt"
    plain.write_text('>> IsMatch("Hi", "Hi")\nErrors: not supported\n', encoding="utf-8")
    report = run_files([str(path), str(plain)])
    statuses = [(o.case.line, o.status) for o in report.outcomes]
    assert statuses == [(3, "passed"), (6, "passed"), (9, "failed"), (1, "passed")]


def test_trace_setup_writes_trace_record(tmp_path: Path) -> None:
    """TraceSetup: Trace() is the test host's and writes into traceRecord (Float/Decimal shown)."""
    path = tmp_path / "Trace.txt"
    path.write_text(
        "#SETUP: EnableExpressionChaining,TraceSetup,PowerFxV1CompatibilityRules\n\n"
        '>> Trace("hi", TraceSeverity.Warning, {f1: Float(1), f2: "x"}); traceRecord\n'
        '{customRecord:"{f1:Float(1),f2:""x""}",message:"hi",severity:1}\n\n'
        '>> Trace("hi", If(1<0, TraceSeverity.Warning)); traceRecord\n'
        "Error({Kind:ErrorKind.InvalidArgument})\n",
        encoding="utf-8",
    )
    report = run_files([str(path)])
    assert report.summary_line() == "2 passed, 0 failed, 0 skipped", [o.actual for o in report.outcomes]


def test_blob_setup_runs_the_test_hosts_blob_functions(tmp_path: Path) -> None:
    path = tmp_path / "Blob.txt"
    path.write_text(
        "#SETUP: Blob, EnableExpressionChaining\n\n"
        '>> BlobGetBase64String(Blob("abc"))\n"YWJj"\n\n'
        '>> BlobGetString(Blob("SGVsbG8=", true))\n"Hello"\n\n'
        '>> Blob("Abc") = Blob("Abc")\nfalse\n\n'
        '>> With({ file: Blob("Abc") }, file = file)\ntrue\n',
        encoding="utf-8",
    )
    report = run_files([str(path)])
    assert report.summary_line() == "4 passed, 0 failed, 0 skipped", [o.actual for o in report.outcomes]


def test_hosts_with_set_assign_their_variables(tmp_path: Path) -> None:
    """The hosts that enable Set (AsyncTestSetup, Blob) declare variables it may assign."""
    path = tmp_path / "Async.txt"
    path.write_text(
        "#SETUP: AsyncTestSetup, EnableExpressionChaining\n\n"
        ">> Set(varNumber, WaitFor(0)+1); Set(varNumber, WaitFor(1)*10+varNumber); varNumber\n11\n\n"
        ">> varNumber\n9999\n\n"
        ">> Set(other, 1)\nError({Kind:ErrorKind.InvalidArgument})\n",
        encoding="utf-8",
    )
    report = run_files([str(path)])
    assert report.summary_line() == "3 passed, 0 failed, 0 skipped", [o.actual for o in report.outcomes]
