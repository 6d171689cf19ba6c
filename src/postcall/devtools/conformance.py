"""Runs Microsoft's Power Fx expression test files (their `.txt` format) against this engine.

Format (FORMAT.md beside the shared files): `>> expression` (continuation lines start with
white space), then the expected result: a Power Fx value, `Error({Kind:ErrorKind.X})`,
`Errors: ...` (must not compile), `Blank()`, or `#SKIP`.  File directives: `#SETUP:`,
`#OVERRIDE:`, `#DISABLE:`.

Setups are read as Microsoft's harness (TestRunner.cs, FileExpressionEvaluationTests.cs) means
them: a `#SETUP` line names features, parser flags and setup handlers, each possibly
`disable:`d.  Microsoft runs the whole folder once per host *configuration* (V1 with Decimal
numbers, V1 with Float numbers, Canvas with and without the V1 rules); a file whose setup
contradicts a configuration is not part of that run, and `#OVERRIDE: X.txt` replaces the
expected results of the same expressions in X.txt only within the runs that load the overriding
file.  Here every case is run once, in the first configuration that loads it, in the order
Copilot Studio's own (Power Fx V1, Decimal numbers) first, with that configuration's Features
(postcall.powerfx.features: V1, or Canvas with or without the V1 rules) and the file's own
`#SETUP` features switched on top, as InternalSetup.Parse does.  A case is skipped only when its
setup needs a parser flag or a test-only handler this engine does not have; the reason says
which.  An internal error while running one case
is that case's failure, with its message.

Expected values are themselves read with this engine, in the case's number mode, and compared
structurally (Floats with a relative tolerance of 1e-9, Decimals to one unit in the 28th
significant digit, text exactly, errors by kind).  An `Errors:` case passes when the
formula does not compile (Microsoft also compares the message text; ours differ in wording).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import math
import os
import re
import zoneinfo
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from postcall.devtools.conformance_functions import host_functions, host_variables
from postcall.devtools.conformance_hosts import HOST_SETUPS, host_setup, host_test_functions
from postcall.errors import PowerFxError
from postcall.powerfx.convert import format_value
from postcall.powerfx.features import CANVAS, CANVAS_V1, MICROSOFT_NAMES, POWER_FX_V1, Features
from postcall.powerfx.formula import parse_formula
from postcall.powerfx.functions import FUNCTIONS, FunctionSpec
from postcall.powerfx.runtime import EvalContext
from postcall.powerfx.values import (
    CALCULATED,
    Color,
    ErrorValue,
    OptionValue,
    Record,
    Table,
    UntypedObject,
    Value,
)

# Microsoft's Features.PowerFxV1 (Features.cs): what `#SETUP: PowerFxV1` expands to.
V1_FEATURES = (
    "TableSyntaxDoesntWrapRecords",
    "ConsistentOneColumnTableResult",
    "DisableRowScopeDisambiguationSyntax",
    "SupportColumnNamesAsIdentifiers",
    "StronglyTypedBuiltinEnums",
    "RestrictedIsEmptyArguments",
    "FirstLastNRequiresSecondArguments",
    "PowerFxV1CompatibilityRules",
    "PrimaryOutputPropertyCoercionDeprecated",
    "JsonFunctionAcceptsLazyTypes",
    "IsUserDefinedTypesEnabled",
)
FEATURES = frozenset(V1_FEATURES) | {"AsTypeLegacyCheck"}
PARSER_FLAGS = frozenset(
    {"None", "EnableExpressionChaining", "NamedFormulas", "NumberIsFloat", "DisableReservedKeywords",
     "TextFirst", "AllowAttributes", "AllowTypeLiteral", "AllowParseAsTypeLiteral"}
)
HANDLERS = frozenset(
    {"AllEnumsSetup", "AllEnumsPlusTestEnumsSetup", "AllEnumsPlusTestOptionSetsSetup", "AsyncTestSetup",
     "Blob", "DecimalSupport", "Default", "DisableMemChecks", "EnableJsonFunctions",
     "MutationFunctionsTestSetup", "OptionSetSortTestSetup", "OptionSetTestSetup", "PowerFxV1", "RegEx",
     "TimeZoneInfo", "TraceSetup", "CultureInfo", "Net7"}
)

# Every feature of Features.cs is run in the state a case asks for (postcall.powerfx.features);
# parser flags the engine does not have yet are skipped with their reason below.
# Handlers this engine provides (the rest are test-only hosts Copilot Studio does not have; see
# docs/powerfx.md, "Setups not run").
SUPPORTED_HANDLERS = frozenset(
    {"DecimalSupport", "DisableMemChecks", "EnableJsonFunctions", "RegEx", "TimeZoneInfo", "Net7",
     "AllEnumsSetup", "NumberIsFloat", "PowerFxV1", "AsyncTestSetup", "TraceSetup", "Blob"}
) | HOST_SETUPS  # the test hosts' option sets (conformance_hosts.py)
UNSUPPORTED_HANDLER_REASONS: Mapping[str, str] = {
    "MutationFunctionsTestSetup": "data-source mutation (Collect/Patch/Remove on test tables)",
    "CultureInfo": "a non-invariant culture",
}

# Parser flags Copilot Studio's formulas are never parsed with.
UNSUPPORTED_PARSER_FLAGS: Mapping[str, str] = {
    "NamedFormulas": "named-formula definitions",
    "AllowAttributes": "attributes on named formulas",
    "AllowTypeLiteral": "type literals",
    "AllowParseAsTypeLiteral": "type literals",
}

# The skip reason of files whose #SETUP contradicts every configuration of
# FileExpressionEvaluationTests.cs (disable:ConsistentOneColumnTableResult, which only the
# `#if false` None_Float run would load; Decimal numbers without the V1 rules, which none does).
NEVER_RUN = "no configuration of Microsoft's harness runs this file"

# Windows time zone ids the test files name, as IANA zones.
WINDOWS_ZONES: Mapping[str, str] = {
    "Pacific Standard Time": "America/Los_Angeles",
    "Romance Standard Time": "Europe/Paris",
    "GMT Standard Time": "Europe/London",
    "Middle East Standard Time": "Asia/Beirut",
    "Lord Howe Standard Time": "Australia/Lord_Howe",
    "UTC": "UTC",
}


@dataclass(frozen=True)
class Configuration:
    """One of the ways Microsoft runs the folder (FileExpressionEvaluationTests.cs): the setup
    string its TxtFileData attribute gives, and the Features object it runs the engine with."""

    name: str
    setup: Mapping[str, bool]
    features: Features


def _config(name: str, setup: str, features: Features) -> Configuration:
    return Configuration(name, parse_setup(setup), features)


def case_features(base: Features, setup: Mapping[str, bool]) -> Features:
    """InternalSetup.Parse: the configuration's features with the file's own switched."""
    features = base
    for name, enabled in setup.items():
        if name in MICROSOFT_NAMES:
            features = features.with_setting(name, enabled)
    return features


FIXED_NOW = dt.datetime(2024, 3, 15, 13, 45, 30, tzinfo=dt.UTC)


class SetupError(ValueError):
    """A `#SETUP` line Microsoft's harness would refuse (unknown name, contradiction)."""


_SETUP_ITEM = re.compile(r"(disable:)?(([\w]+|//)(\([^\)]*\))?)")


def parse_setup(text: str) -> dict[str, bool]:
    """Microsoft's TestRunner.ParseSetupString: name (with its argument) -> enabled."""
    settings: dict[str, bool] = {}
    for match in _SETUP_ITEM.finditer(text):
        enabled = match.group(1) != "disable:"
        name, complete = match.group(3), match.group(2)
        if name == "//":
            break
        if name not in FEATURES and name not in PARSER_FLAGS and name not in HANDLERS:
            raise SetupError(f"unknown setup {name!r} in {text!r}")
        if complete in settings and settings[complete] != enabled:
            raise SetupError(f"contradictory setup {complete!r} in {text!r}")
        settings[complete] = enabled
        if complete == "PowerFxV1":
            settings.update({f: True for f in V1_FEATURES})
    return settings


# In order of preference: Copilot Studio's configuration first.
CONFIGURATIONS = (
    _config("V1, Decimal", "PowerFxV1,disable:NumberIsFloat,DecimalSupport", POWER_FX_V1),
    _config("V1, Float", "PowerFxV1,NumberIsFloat,DecimalSupport", POWER_FX_V1),
    _config("Canvas V1, Float",
            "TableSyntaxDoesntWrapRecords,ConsistentOneColumnTableResult,PowerFxV1CompatibilityRules,NumberIsFloat,DecimalSupport",
            CANVAS_V1),
    _config("Canvas, Float", "TableSyntaxDoesntWrapRecords,ConsistentOneColumnTableResult,NumberIsFloat,DecimalSupport",
            CANVAS),
)


@dataclass
class Case:
    file: str
    line: int
    expression: str
    expected: str
    skip_reason: str | None = None
    setup: dict[str, bool] = field(default_factory=dict)
    configuration: str = ""
    overrides: str | None = None  # the file:line whose expected result this case replaces
    features: Features = POWER_FX_V1


@dataclass
class TestFile:
    path: str
    setup: list[str] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)
    disables: list[str] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    problem: str | None = None  # a directive Microsoft's harness would refuse


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

    def by_file(self) -> dict[str, Counter[str]]:
        """File name -> counts of passed/failed/skipped."""
        table: dict[str, Counter[str]] = {}
        for o in self.outcomes:
            table.setdefault(os.path.basename(o.case.file), Counter())[o.status] += 1
        return table

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
    return name.strip().upper(), value


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
            # Skip blank lines, comments and per-.NET-version directives up to the expected result.
            while i < n and (not lines[i].strip() or lines[i].strip().startswith(("//", "#DISABLE.NET"))):
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
            if re.match(r"\s*#skip", expected, re.IGNORECASE):
                case.skip_reason = "#SKIP in the test file"
            result.cases.append(case)
            continue
        directive = _directive(line)
        if directive is not None and not result.cases:
            name, value = directive
            if name == "SETUP":
                result.setup.append(value)
            elif name == "OVERRIDE":
                result.overrides.append(value)
            elif name == "DISABLE":
                result.disables.append(value)
        i += 1
    return result


def file_setup(test_file: TestFile) -> dict[str, bool]:
    """All of a file's `#SETUP` lines as one mapping (raises SetupError as Microsoft's harness)."""
    merged: dict[str, bool] = {}
    for line in test_file.setup:
        for name, enabled in parse_setup(line).items():
            if merged.get(name, enabled) != enabled:
                raise SetupError(f"contradictory #SETUP directives: {name}")
            merged[name] = enabled
    return merged


def compatible(needs: Mapping[str, bool], configuration: Mapping[str, bool]) -> bool:
    """TestRunner.AddFile: a file runs in a configuration unless they set a flag differently."""
    default = configuration.get("Default")
    for name, enabled in needs.items():
        if name in configuration:
            if configuration[name] != enabled:
                return False
        elif default is not None and default != enabled:
            return False
    return True


# What MutationFunctionsTestSetup adds (Microsoft's PowerFxEvaluationTests.MutationFunctionsTestSetup):
# the behaviour functions and the variables t1, r1, rwt1_MutateEnabled, DataSource, NewRecord...
_MUTATES = re.compile(
    r"\b(?:Collect|ClearCollect|Clear|Remove|RemoveIf|Patch|Update|UpdateIf|Set|Refresh)\s*\("
    r"|\b(?:t\d\w*|t_\w+|r\d\w*|r_\w+|rw[rt]\d\w*|DataSource|NewRecord\w*|OldRecord)\b"
)


def unsupported_setup(setup: Mapping[str, bool] | Sequence[str]) -> str | None:
    """Why this engine cannot run a case with this effective setup (None: it can)."""
    if not isinstance(setup, Mapping):
        try:
            setup = file_setup(TestFile("<setup>", setup=list(setup)))
        except SetupError as exc:
            return f"#SETUP {exc}"
    for name, enabled in setup.items():
        base = name.split("(")[0]
        if base in FEATURES:
            continue
        if base in UNSUPPORTED_PARSER_FLAGS and enabled:
            return f"#SETUP {base}: {UNSUPPORTED_PARSER_FLAGS[base]}"
        if not enabled or base in PARSER_FLAGS or base in SUPPORTED_HANDLERS:
            if base == "TimeZoneInfo" and _zone(name) is None:
                return f"#SETUP {name}: time zone not known"
            continue
        reason = UNSUPPORTED_HANDLER_REASONS.get(base, "not a Copilot Studio setup")
        return f"#SETUP {base}: {reason}"
    return None


def _zone(name: str) -> dt.tzinfo | None:
    match = re.search(r'\("([^"]+)"\)', name)
    if match is None:
        return None
    iana = WINDOWS_ZONES.get(match.group(1), match.group(1))
    try:
        return zoneinfo.ZoneInfo(iana)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def _context(setup: Mapping[str, bool] | None = None) -> EvalContext:
    zone: dt.tzinfo = dt.UTC
    for name, enabled in (setup or {}).items():
        if enabled and name.startswith("TimeZoneInfo"):
            zone = _zone(name) or dt.UTC
    scope = {**host_setup(setup or {}).scope, **host_variables(setup or {})}
    return EvalContext(scope=scope, now=lambda: FIXED_NOW, timezone=zone)


def _with_test_functions(case: Case) -> Mapping[str, FunctionSpec] | None:
    """The case's host function table: the test hosts' own functions (conformance_functions)
    and the enum setups' (conformance_hosts); None for the built-in table."""
    table = host_functions(case.setup, case.features.strongly_typed_builtin_enums)
    extra = host_test_functions(case.setup, case.features.strongly_typed_builtin_enums)
    if not extra:
        return table
    return {**(FUNCTIONS if table is None else table), **extra}


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
    if isinstance(expected, Decimal) and isinstance(actual, Decimal):
        # .NET keeps 28-29 significant digits; allow one unit in the 28th.
        return expected == actual or abs(expected - actual) <= abs(expected) * Decimal("1e-27")
    if isinstance(expected, (int, float, Decimal)) and isinstance(actual, (int, float, Decimal)):
        return _close(float(actual), float(expected))
    if isinstance(expected, str) and isinstance(actual, str):
        return expected == actual
    if isinstance(expected, dt.datetime) and isinstance(actual, dt.datetime):
        return abs((expected - actual).total_seconds()) < 0.001
    if isinstance(expected, dt.date) and isinstance(actual, dt.date):
        return not isinstance(actual, dt.datetime) and not isinstance(expected, dt.datetime) and expected == actual
    if isinstance(expected, dt.timedelta) and isinstance(actual, dt.timedelta):
        # Compared as Power Fx prints them, times of day: Time(30,0,0) prints as Time(6,0,0,0).
        apart = (expected - actual).total_seconds() % 86400
        return min(apart, 86400 - apart) < 0.001
    if isinstance(expected, Record) and isinstance(actual, Record):
        keys = set(expected) | set(actual)
        return all(values_equal(actual.get_field(k), expected.get_field(k)) for k in keys)
    if isinstance(expected, Table) and isinstance(actual, Table):
        if len(expected.rows) != len(actual.rows):
            return False
        return all(values_equal(a, e) for a, e in zip(actual.rows, expected.rows, strict=True))
    if isinstance(expected, OptionValue) and isinstance(actual, OptionValue):
        return expected == actual and expected.name == actual.name
    if isinstance(expected, Color) and isinstance(actual, Color):
        return expected == actual
    if isinstance(expected, UntypedObject) and isinstance(actual, UntypedObject):
        return expected.raw == actual.raw
    return False


def _number_compare(actual: Value, expected: Value) -> bool:
    """Microsoft's harness (BaseRunner.NumberCompare) for a Float result: equal within 1e-5, or
    within 1e-14 relatively (the files write many results to 8 decimals: `Ln(5)` is 1.60943791).
    A Decimal expected with more digits than a double holds must still match exactly."""
    if type(actual) is not float or not isinstance(expected, (float, Decimal)) or isinstance(expected, bool):
        return False
    if isinstance(expected, Decimal) and expected != round(expected, 17):
        return False
    b = float(expected)
    diff = abs(actual - b)
    return diff < 1e-5 or (b != 0 and abs(diff / b) < 1e-14)


def run_case(case: Case) -> Outcome:
    """One case's outcome; an internal error in the engine is this case's failure, never a crash."""
    if case.skip_reason is not None:
        return Outcome(case, "skipped", case.skip_reason)
    try:
        return _run_case(case)
    except RecursionError:
        return Outcome(case, "failed", "internal error", "RecursionError: formula too deep for the engine")
    except Exception as exc:  # one case's crash is that case's failure, never the run's
        return Outcome(case, "failed", "internal error", f"{type(exc).__name__}: {exc}")


def _run_case(case: Case) -> Outcome:
    expected_text = case.expected
    if not expected_text:
        return Outcome(case, "failed", "no expected result in the test file")
    ctx = _context(case.setup)
    number_is_float = case.setup.get("NumberIsFloat", True)
    features = case.features
    hosted = host_setup(case.setup)
    parsed = parse_formula(
        case.expression, known_names=tuple(ctx.scope), number_is_float=number_is_float, features=features,
        functions=_with_test_functions(case), option_sets=hosted.option_sets,
    )
    if expected_text.startswith("Errors:"):
        if parsed.formula is None:
            return Outcome(case, "passed")
        try:
            value = parsed.formula.evaluate(ctx)
        except PowerFxError as exc:
            return Outcome(case, "failed", "expected a compile error", f"raised {exc}")
        return Outcome(case, "failed", "expected a compile error", format_value(value))
    if parsed.formula is None:
        return Outcome(
            case, "failed", "did not compile", "; ".join(d.message for d in parsed.diagnostics if d.is_error)
        )
    try:
        actual = parsed.formula.evaluate(ctx)
    except PowerFxError as exc:
        return Outcome(case, "failed", "raised", str(exc))
    if expected_text.startswith("#Error"):
        ok = isinstance(actual, ErrorValue)
        return Outcome(case, "passed" if ok else "failed", "expected an error", format_value(actual))
    calculated = _CALCULATED_OPTION.fullmatch(expected_text)
    if calculated is not None:
        # An option set value a formula made (`Match.Digit & "-"`): Microsoft prints only its set.
        ok = isinstance(actual, OptionValue) and actual.option_set == calculated.group(1) and actual.name == CALCULATED
        return Outcome(case, "passed" if ok else "failed", "different value", format_value(actual))
    # Expected values are written in plain Power Fx (the harness turns TextFirst off for them).
    plain = dataclasses.replace(features, text_first=False)
    expected_parse = parse_formula(
        expected_text, number_is_float=number_is_float, features=plain, option_sets=hosted.option_sets
    )
    if expected_parse.formula is None and not number_is_float:
        # A Float result beyond Decimal's range (1E+100) is printed as such.
        expected_parse = parse_formula(expected_text, number_is_float=True, features=plain)
    if expected_parse.formula is None:
        return Outcome(case, "failed", "cannot read the expected result", format_value(actual))
    expected = expected_parse.formula.evaluate(_context(case.setup))
    if values_equal(actual, expected) or _number_compare(actual, expected):
        return Outcome(case, "passed")
    return Outcome(case, "failed", "different value", format_value(actual))


_CALCULATED_OPTION = re.compile(r"(\w+)\.CalculatedOptionSetValue")


def plan_cases(files: Sequence[TestFile]) -> list[Case]:
    """Every case once, with the configuration it runs in (see the module docstring)."""
    chosen: dict[tuple[str, int], Case] = {}
    order: list[tuple[str, int]] = []
    for config in CONFIGURATIONS:
        for case in _configuration_cases(files, config):
            key = (case.file, case.line)
            if key not in chosen:
                chosen[key] = case
                order.append(key)
    replaced = {c.overrides for c in chosen.values() if c.overrides}
    for f in files:  # files no configuration of Microsoft's runs (or that it refuses)
        for case in f.cases:
            key = (case.file, case.line)
            if key not in chosen and f"{case.file}:{case.line}" not in replaced:
                reason = f.problem or NEVER_RUN
                skipped = Case(case.file, case.line, case.expression, case.expected, reason)
                chosen[key] = skipped
                order.append(key)
    return [chosen[k] for k in order]


def _configuration_cases(files: Sequence[TestFile], config: Configuration) -> list[Case]:
    """TestRunner.AddFile over the folder for one configuration: overrides applied in file order."""
    by_key: dict[str, int] = {}
    cases: list[Case] = []
    for f in files:
        if f.problem is not None:
            continue
        try:
            needs = file_setup(f)
        except SetupError as exc:
            f.problem = f"#SETUP refused by Microsoft's harness: {exc}"
            continue
        if not compatible(needs, config.setup):
            continue
        effective = {**config.setup, **needs}
        reason = unsupported_setup(effective)
        target = f.overrides[0] if f.overrides else os.path.basename(f.path)
        for source in f.cases:
            case_reason = reason
            if needs.get("MutationFunctionsTestSetup") and not _MUTATES.search(source.expression):
                # The setup only adds behaviour functions and the harness's data sources: a case
                # using neither (DecimalBoot.txt's Abs, Switch, Count...) runs without it.
                case_reason = unsupported_setup({k: v for k, v in effective.items() if k != "MutationFunctionsTestSetup"})
            case = Case(source.file, source.line, source.expression, source.expected,
                        source.skip_reason or case_reason, dict(effective), config.name,
                        features=case_features(config.features, needs))
            key = target.lower() + ":" + source.expression
            position = by_key.get(key)
            if position is not None:
                existing = cases[position]
                case.overrides = existing.overrides or f"{existing.file}:{existing.line}"
                cases[position] = case
            else:
                by_key[key] = len(cases)
                cases.append(case)
    disabled = {d.lower() for f in files if f.problem is None for d in f.disables}
    return [c for c in cases if os.path.basename(c.file).lower() not in disabled]


def run_files(paths: Iterable[str]) -> Report:
    files = [read_test_file(p) for p in paths]
    report = Report()
    for case in plan_cases(files):
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
