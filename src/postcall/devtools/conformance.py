"""Runs Microsoft's Power Fx expression test files (their `.txt` format) against this engine.

Format (FORMAT.md beside the shared files): `>> expression` (continuation lines start with
white space), then the expected result: a Power Fx value, `Error({Kind:ErrorKind.X})`,
`Errors: ...` (must not compile), `Blank()`, or `#SKIP`.  File directives: `#SETUP:`
(handlers and flags; a file needing one we do not have is skipped), `#OVERRIDE:`, `#DISABLE:`.

Expected values are themselves read with this engine and compared structurally (numbers with a
relative tolerance of 1e-9, text exactly, errors by kind).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from postcall.errors import PowerFxError
from postcall.powerfx.convert import format_value
from postcall.powerfx.formula import parse_formula
from postcall.powerfx.runtime import EvalContext
from postcall.powerfx.values import ErrorValue, OptionValue, Record, Table, UntypedObject, Value

# Setup handlers and feature flags this engine satisfies.
SUPPORTED_FLAGS = frozenset(
    {
        "TableSyntaxDoesntWrapRecords",
        "ConsistentOneColumnTableResult",
        "NumberIsFloat",
        "RestrictedIsEmptyArguments",
        "DisableMemChecks",
        "EnableJsonFunctions",
        "RegEx",
        "PowerFxV1CompatibilityRules",
        "SupportColumnNamesAsIdentifiers",
    }
)
# Flags that may be disabled (we do not depend on them being on).
DISABLEABLE_FLAGS = frozenset({"StronglyTypedBuiltinEnums"})

FIXED_NOW = dt.datetime(2024, 3, 15, 13, 45, 30, tzinfo=dt.UTC)


@dataclass
class Case:
    file: str
    line: int
    expression: str
    expected: str
    skip_reason: str | None = None


@dataclass
class TestFile:
    path: str
    setup: list[str] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)
    disables: list[str] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)


@dataclass
class Outcome:
    case: Case
    status: str  # "passed", "failed", "skipped"
    detail: str = ""
    actual: str = ""


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(1 for o in self.outcomes if o.status == "passed")

    @property
    def failed(self) -> int:
        return sum(1 for o in self.outcomes if o.status == "failed")

    @property
    def skipped(self) -> int:
        return sum(1 for o in self.outcomes if o.status == "skipped")

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def pass_rate(self) -> float:
        ran = self.passed + self.failed
        return self.passed / ran if ran else 0.0

    @property
    def skip_rate(self) -> float:
        return self.skipped / self.total if self.total else 0.0

    def skips_by_reason(self) -> Counter[str]:
        return Counter(o.detail for o in self.outcomes if o.status == "skipped")

    def failures_by_file(self) -> Counter[str]:
        return Counter(os.path.basename(o.case.file) for o in self.outcomes if o.status == "failed")

    def summary_line(self) -> str:
        return f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped"


def read_test_file(path: str) -> TestFile:
    with open(path, encoding="utf-8-sig") as handle:
        text = handle.read()
    return parse_test_text(text, path)


def _directive(line: str) -> tuple[str, str] | None:
    stripped = line.strip().lstrip("\ufeff")
    if not stripped.startswith("#") or ":" not in stripped:
        return None
    name, _, rest = stripped[1:].partition(":")
    value = rest.split("//")[0].strip()
    return name.strip(), value


def parse_test_text(text: str, path: str = "<text>") -> TestFile:
    result = TestFile(path)
    lines = text.lstrip("\ufeff").splitlines()
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i].lstrip("\ufeff")
        stripped = line.strip()
        if stripped.startswith(">>"):
            start_line = i + 1
            expr_lines = [stripped[2:].strip()]
            i += 1
            # Continuation lines start with white space.
            while i < n and lines[i][:1] in (" ", "\t") and lines[i].strip():
                expr_lines.append(lines[i])
                i += 1
            # Skip blank lines and comments up to the expected result.
            while i < n and (not lines[i].strip() or lines[i].strip().startswith("//")):
                i += 1
            expected_lines: list[str] = []
            if i < n and not lines[i].strip().startswith(">>"):
                expected_lines.append(lines[i].strip())
                i += 1
                while i < n and lines[i][:1] in (" ", "\t") and lines[i].strip():
                    expected_lines.append(lines[i].strip())
                    i += 1
            expected = " ".join(expected_lines).strip()
            case = Case(path, start_line, "\n".join(expr_lines).strip(), expected)
            if expected.startswith("#SKIP"):
                case.skip_reason = "#SKIP in the test file"
            result.cases.append(case)
            continue
        directive = _directive(line)
        if directive is not None and not result.cases:
            name, value = directive
            if name == "SETUP":
                result.setup.extend(v.strip() for v in value.split(",") if v.strip())
            elif name == "OVERRIDE":
                result.overrides.append(value)
            elif name == "DISABLE":
                result.disables.append(value)
        i += 1
    return result


def unsupported_setup(setup: Sequence[str]) -> str | None:
    for item in setup:
        for flag in item.split():
            if flag.startswith("disable:"):
                if flag[len("disable:") :] not in DISABLEABLE_FLAGS | SUPPORTED_FLAGS:
                    return f"#SETUP needs {flag}"
                continue
            if flag not in SUPPORTED_FLAGS:
                return f"#SETUP needs {flag}"
    return None


def _context() -> EvalContext:
    return EvalContext(scope={}, now=lambda: FIXED_NOW)


def _close(a: float, b: float) -> bool:
    if a == b:
        return True
    if math.isnan(a) or math.isnan(b):
        return False
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-300) or abs(a - b) < 1e-12


def values_equal(actual: Value, expected: Value) -> bool:
    """Structural equality as the conformance format means it."""
    if isinstance(expected, ErrorValue) or isinstance(actual, ErrorValue):
        if not (isinstance(expected, ErrorValue) and isinstance(actual, ErrorValue)):
            return False
        return sorted(e.kind for e in expected.all()) == sorted(e.kind for e in actual.all())
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return _close(float(actual), float(expected))
    if isinstance(expected, str) and isinstance(actual, str):
        return expected == actual
    if isinstance(expected, dt.datetime) and isinstance(actual, dt.datetime):
        return abs((expected - actual).total_seconds()) < 0.001
    if isinstance(expected, dt.date) and isinstance(actual, dt.date):
        return not isinstance(actual, dt.datetime) and not isinstance(expected, dt.datetime) and expected == actual
    if isinstance(expected, dt.timedelta) and isinstance(actual, dt.timedelta):
        return abs((expected - actual).total_seconds()) < 0.001
    if isinstance(expected, Record) and isinstance(actual, Record):
        keys = set(expected) | set(actual)
        return all(values_equal(actual.get_field(k), expected.get_field(k)) for k in keys)
    if isinstance(expected, Table) and isinstance(actual, Table):
        if len(expected.rows) != len(actual.rows):
            return False
        return all(values_equal(a, e) for a, e in zip(actual.rows, expected.rows, strict=True))
    if isinstance(expected, OptionValue) and isinstance(actual, OptionValue):
        return expected == actual
    if isinstance(expected, UntypedObject) and isinstance(actual, UntypedObject):
        return expected.raw == actual.raw
    return False


def run_case(case: Case) -> Outcome:
    if case.skip_reason is not None:
        return Outcome(case, "skipped", case.skip_reason)
    expected_text = case.expected
    if not expected_text:
        return Outcome(case, "skipped", "no expected result in the test file")
    parsed = parse_formula(case.expression, known_names=())
    if expected_text.startswith("Errors:"):
        if parsed.formula is None:
            return Outcome(case, "passed")
        try:
            value = parsed.formula.evaluate(_context())
        except PowerFxError as exc:
            return Outcome(case, "failed", "expected a compile error", f"raised {exc}")
        return Outcome(case, "failed", "expected a compile error", format_value(value))
    if parsed.formula is None:
        return Outcome(
            case, "failed", "did not compile", "; ".join(d.message for d in parsed.diagnostics if d.is_error)
        )
    try:
        actual = parsed.formula.evaluate(_context())
    except PowerFxError as exc:
        return Outcome(case, "failed", "raised", str(exc))
    if expected_text == "#Error" or expected_text.startswith("#Error"):
        ok = isinstance(actual, ErrorValue)
        return Outcome(case, "passed" if ok else "failed", "expected an error", format_value(actual))
    expected_parse = parse_formula(expected_text)
    if expected_parse.formula is None:
        return Outcome(case, "failed", "cannot read the expected result", format_value(actual))
    expected = expected_parse.formula.evaluate(_context())
    if values_equal(actual, expected):
        return Outcome(case, "passed")
    return Outcome(case, "failed", "different value", format_value(actual))


def run_files(paths: Iterable[str]) -> Report:
    files = [read_test_file(p) for p in paths]
    disabled = {os.path.basename(d) for f in files for d in f.disables}
    # Overrides: results in an overriding file replace the same expression in the named file.
    overridden: dict[str, set[str]] = defaultdict(set)
    for f in files:
        for target in f.overrides:
            overridden[os.path.basename(target)].update(c.expression for c in f.cases)
    report = Report()
    for f in files:
        name = os.path.basename(f.path)
        file_skip = unsupported_setup(f.setup)
        if name in disabled:
            file_skip = "disabled by #DISABLE"
        for case in f.cases:
            if case.expression in overridden.get(name, set()):
                continue
            if file_skip is not None:
                report.outcomes.append(Outcome(case, "skipped", file_skip))
                continue
            report.outcomes.append(run_case(case))
    return report


def format_report(report: Report, verbose: bool = True) -> str:
    lines: list[str] = []
    if verbose:
        for o in report.outcomes:
            if o.status == "failed":
                lines.append(f"FAIL {o.case.file}:{o.case.line}: {o.case.expression}")
                lines.append(f"    expected: {o.case.expected}")
                lines.append(f"    actual:   {o.actual} ({o.detail})")
    skips = report.skips_by_reason()
    if skips:
        lines.append("Skipped by reason:")
        for reason, count in skips.most_common():
            lines.append(f"    {count:5d}  {reason}")
    lines.append(report.summary_line())
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------
# docs/compatibility.md, section between <!-- powerfx:begin --> and <!-- powerfx:end -->

BEGIN_MARK = "<!-- powerfx:begin -->"
END_MARK = "<!-- powerfx:end -->"


def compatibility_section(report: Report, source_label: str) -> str:
    lines = [
        "## Power Fx conformance (Microsoft's expression tests)",
        "",
        f"Measured by `postcall fx test` (`postcall.devtools.conformance`) on `{source_label}`, run by",
        "`tests/powerfx/test_conformance.py`, which fails when the pass rate falls below the figure",
        "recorded here. Rewrite this section with",
        "`python -m postcall.devtools.conformance --write docs/compatibility.md ../shared/compat/powerfx-expression-tests/*.txt`.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| cases | {report.total} |",
        f"| passed | {report.passed} |",
        f"| failed | {report.failed} |",
        f"| skipped | {report.skipped} |",
        f"| **pass rate** (passed / not skipped) | **{math.floor(report.pass_rate * 10000) / 100:.2f}%** |",
        f"| skip rate (skipped / cases) | {report.skip_rate * 100:.2f}% |",
        "",
        "### Skips by reason",
        "",
    ]
    skips = report.skips_by_reason()
    if skips:
        lines.extend(f"- {reason}: {count}" for reason, count in skips.most_common())
    else:
        lines.append("None.")
    lines += ["", "### Failures by file", ""]
    failures = report.failures_by_file()
    if failures:
        lines += ["| file | failed |", "|---|---|"]
        lines.extend(f"| {name} | {count} |" for name, count in sorted(failures.items()))
        lines += ["", "### Failing cases", ""]
        for o in report.outcomes:
            if o.status == "failed":
                expr = " ".join(o.case.expression.split())
                lines.append(
                    f"- `{os.path.basename(o.case.file)}:{o.case.line}` `{_md(expr)}`: expected `{_md(o.case.expected)}`, "
                    f"got `{_md(o.actual)}` ({o.detail})"
                )
    else:
        lines.append("None.")
    return "\n".join(lines)


def _md(text: str) -> str:
    text = text.replace("`", "'").replace("|", "\\|")
    return text if len(text) <= 160 else text[:157] + "..."


def recorded_pass_rate(doc_text: str) -> float | None:
    """The pass rate (0..1) recorded in the powerfx section of docs/compatibility.md."""
    import re

    start = doc_text.find(BEGIN_MARK)
    end = doc_text.find(END_MARK)
    if start < 0 or end < 0:
        return None
    match = re.search(r"\*\*pass rate\*\*[^|]*\|\s*\*\*([0-9.]+)%\*\*", doc_text[start:end])
    return float(match.group(1)) / 100 if match else None


def write_compatibility(doc_path: str, report: Report, source_label: str) -> None:
    with open(doc_path, encoding="utf-8") as handle:
        text = handle.read()
    section = compatibility_section(report, source_label)
    start = text.find(BEGIN_MARK)
    end = text.find(END_MARK)
    if start < 0 or end < 0:
        text = text.rstrip("\n") + f"\n\n{BEGIN_MARK}\n{section}\n{END_MARK}\n"
    else:
        text = text[: start + len(BEGIN_MARK)] + "\n" + section + "\n" + text[end:]
    with open(doc_path, "w", encoding="utf-8") as handle:
        handle.write(text)


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Run Power Fx expression test files.")
    parser.add_argument("files", nargs="+")
    parser.add_argument("--write", metavar="DOC", help="rewrite the powerfx section of this Markdown file")
    parser.add_argument("--label", default="../shared/compat/powerfx-expression-tests")
    parser.add_argument("--quiet", "-q", action="store_true")
    args = parser.parse_args(argv)
    report = run_files(sorted(args.files))
    print(format_report(report, verbose=not args.quiet))
    if args.write:
        write_compatibility(args.write, report, args.label)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
