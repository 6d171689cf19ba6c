"""Compatibility measurement on real Copilot Studio files (scripts/compat_topics.py, the tests).

Loads every file of a corpus folder on its own, and every workspace or solution folder in it as
an agent; counts topic files that load with zero errors, formulas that parse, and Power Fx
functions the files call that the runtime does not implement.  `render_markdown` writes the
topics section of docs/compatibility.md.
"""

from __future__ import annotations

import re
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from postcall.diagnostics import Diagnostic
from postcall.topics.loader import LoadResult, load_agent

BEGIN, END = "<!-- topics:begin -->", "<!-- topics:end -->"
_TOPIC_KIND = re.compile(r"^kind:\s*AdaptiveDialog\s*$", re.MULTILINE)

# Files that are wrong on purpose (SOURCES.md of the corpus): they must give errors.  They stay
# in the load rate's denominator (the rate is over every topic file of the corpus); the report
# lists them apart with why they must fail.
EXPECTED_FAILURES: dict[str, str] = {
    "file-only-workspace/topics/SyntaxError.mcs.yml": "not YAML on purpose (a key without its colon)",
    "file-only-workspace/topics/SchemaError.mcs.yml": "an unknown node kind on purpose (InvalidNodeType)",
    "file-only-workspace/topics/TypeMismatch.mcs.yml": "a number where a variable name belongs, on purpose",
}


@dataclass
class FileOutcome:
    path: str
    is_topic: bool
    errors: list[Diagnostic]
    crashed: str | None = None
    expected_failure: str | None = None


@dataclass
class AgentOutcome:
    path: str
    layout: str | None
    topics: int
    errors: int
    warnings: int
    crashed: str | None = None


@dataclass
class CompatReport:
    files: list[FileOutcome] = field(default_factory=list)
    agents: list[AgentOutcome] = field(default_factory=list)
    formulas: int = 0
    formulas_parsed: int = 0
    unimplemented: Counter[str] = field(default_factory=Counter)
    unparsed_formulas: list[str] = field(default_factory=list)

    @property
    def topic_files(self) -> list[FileOutcome]:
        return [f for f in self.files if f.is_topic]

    @property
    def expected_failures(self) -> list[FileOutcome]:
        return [f for f in self.topic_files if f.expected_failure is not None]

    @property
    def clean_topic_files(self) -> list[FileOutcome]:
        return [f for f in self.topic_files if not f.errors and f.crashed is None]

    @property
    def load_rate(self) -> float:
        """Topic files that load with zero errors over every topic file (broken-on-purpose
        files included: they count as failures)."""
        total = len(self.topic_files)
        return len(self.clean_topic_files) / total if total else 0.0

    @property
    def parse_rate(self) -> float:
        return self.formulas_parsed / self.formulas if self.formulas else 0.0

    @property
    def crashes(self) -> list[str]:
        return [f"{f.path}: {f.crashed}" for f in self.files if f.crashed] + [
            f"{a.path}: {a.crashed}" for a in self.agents if a.crashed
        ]


def corpus_files(corpus: Path) -> list[Path]:
    return sorted(
        p
        for p in corpus.rglob("*")
        if p.is_file() and (p.suffix.lower() in (".yml", ".yaml") or p.name == "data")
    )


def agent_folders(corpus: Path) -> list[Path]:
    """Workspace folders (agent.mcs.yml, or topics/*.mcs.yml) and solution exports (the folder
    holding botcomponents/)."""
    found: set[Path] = set()
    for p in corpus.rglob("agent.mcs.yml"):
        found.add(p.parent)
    for p in corpus.rglob("topics"):
        if p.is_dir() and any(c.name.endswith(".mcs.yml") for c in p.iterdir()):
            found.add(p.parent)
    for p in corpus.rglob("botcomponents"):
        if p.is_dir():
            found.add(p.parent)
    return sorted(found)


def _expected(rel: str) -> str | None:
    for suffix, reason in EXPECTED_FAILURES.items():
        if rel.endswith(suffix):
            return reason
    return None


_FUNCTION_IN_MESSAGE = re.compile(
    r"(?:Power Fx function (\w+) is not implemented|Unknown function '([^']+)')"
)


def _count_formulas(result: LoadResult, report: CompatReport) -> None:
    report.formulas += result.formula_count
    report.formulas_parsed += result.formula_count - result.formula_unparsed
    for d in result.diagnostics:
        if d.code in ("PFX100", "PFX101", "PFX102", "PFX103", "PFX110"):
            report.unparsed_formulas.append(f"{d.span}: {d.message}")
        m = _FUNCTION_IN_MESSAGE.search(d.message) if d.code in ("TPC231", "PFX301") else None
        if m is not None:
            report.unimplemented[m.group(1) or m.group(2)] += 1


def measure(corpus: Path) -> CompatReport:
    """Load every file and agent folder of `corpus`; never raises (a crash is recorded)."""
    report = CompatReport()
    for path in corpus_files(corpus):
        rel = path.relative_to(corpus).as_posix()
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            report.files.append(FileOutcome(rel, False, [], crashed=f"unreadable: {exc}"))
            continue
        is_topic = bool(_TOPIC_KIND.search(text))
        outcome = FileOutcome(
            rel, is_topic, [], expected_failure=_expected(rel) if is_topic else None
        )
        try:
            result = load_agent(path)
            outcome.errors = result.errors
            if is_topic:
                _count_formulas(result, report)
        except Exception as exc:  # the measurement records crashes instead of stopping
            outcome.crashed = (
                f"{type(exc).__name__}: {exc} at {traceback.format_exc(limit=-1).strip()}"
            )
        report.files.append(outcome)
    for folder in agent_folders(corpus):
        rel = folder.relative_to(corpus).as_posix()
        try:
            result = load_agent(folder)
            agent = result.agent
            report.agents.append(
                AgentOutcome(
                    rel,
                    agent.layout if agent is not None else None,
                    len(agent.topics) if agent is not None else 0,
                    len(result.errors),
                    sum(1 for d in result.diagnostics if str(d.severity) == "warning"),
                )
            )
        except Exception as exc:  # recorded, see above
            report.agents.append(
                AgentOutcome(rel, None, 0, 0, 0, crashed=f"{type(exc).__name__}: {exc}")
            )
    return report


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def render_markdown(report: CompatReport, corpus_label: str) -> str:
    topics = report.topic_files
    clean = report.clean_topic_files
    lines = [
        "## Copilot Studio topic files",
        "",
        f"Measured by `scripts/compat_topics.py` on `{corpus_label}` (run by `tests/topics/test_compat.py`,",
        "which fails when a rate falls below the figure recorded here).",
        "",
        "| measure | value |",
        "|---|---|",
        f"| files read, each on its own | {len(report.files)} |",
        f"| topic files (`kind: AdaptiveDialog`) | {len(topics)} |",
        f"| of those, broken on purpose (listed below; they count as failures) | {len(report.expected_failures)} |",
        f"| topic files that load with zero errors | {len(clean)} of {len(topics)} |",
        f"| **topic load rate** (over all {len(topics)} topic files) | **{_pct(report.load_rate)}** |",
        f"| formulas in those files (`=...` values and `{{...}}` holes) | {report.formulas} |",
        f"| formulas that parse | {report.formulas_parsed} |",
        f"| **formula parse rate** | **{_pct(report.parse_rate)}** |",
        f"| agent folders loaded (workspaces, solution exports) | {len(report.agents)} |",
        f"| crashes | {len(report.crashes)} |",
        "",
        "### Files that do not load cleanly",
        "",
    ]
    failing = [f for f in topics if (f.errors or f.crashed) and f.expected_failure is None]
    if not failing:
        lines.append("None.")
    for f in failing:
        reason = f.crashed or "; ".join(
            f"{d.span.line if d.span else '?'}: {d.code} {d.message}" for d in f.errors[:3]
        )
        more = f" (+{len(f.errors) - 3} more)" if len(f.errors) > 3 else ""
        lines.append(f"- `{f.path}`: {reason}{more}")
    lines += [
        "",
        "### Expected failures",
        "",
        "Broken on purpose by their authors (the corpus's SOURCES.md); they must give errors and",
        "count as failures in the load rate.",
        "",
    ]
    for f in topics:
        if f.expected_failure is not None:
            status = (
                "gives errors, as it should" if f.errors else "**loads without errors (wrong)**"
            )
            lines.append(f"- `{f.path}`: {f.expected_failure}; {status}")
    lines += ["", "### Power Fx functions used but not implemented", ""]
    if report.unimplemented:
        lines.append("| function | uses |")
        lines.append("|---|---|")
        for name, count in sorted(report.unimplemented.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"| `{name}` | {count} |")
    else:
        lines.append("None.")
    if report.unparsed_formulas:
        lines += ["", "### Formulas that do not parse", ""]
        lines += [f"- `{u}`" for u in report.unparsed_formulas]
    lines += [
        "",
        "### Agent folders",
        "",
        "| folder | layout | topics | errors | warnings |",
        "|---|---|---|---|---|",
    ]
    for a in report.agents:
        lines.append(f"| `{a.path}` | {a.layout} | {a.topics} | {a.errors} | {a.warnings} |")
    return "\n".join(lines)


def update_doc(doc: Path, section: str) -> None:
    """Replace the text between the topics markers of docs/compatibility.md."""
    text = doc.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    doc.write_text(text[:start] + "\n" + section + "\n" + text[end:], encoding="utf-8")


def recorded_rates(doc: Path) -> tuple[float, float] | None:
    """(load rate, parse rate) recorded in docs/compatibility.md, or None."""
    text = doc.read_text(encoding="utf-8")
    load = re.search(r"\*\*topic load rate\*\*[^|]*\| \*\*([\d.]+)%\*\*", text)
    parse = re.search(r"\*\*formula parse rate\*\* \| \*\*([\d.]+)%\*\*", text)
    if load is None or parse is None:
        return None
    return float(load.group(1)) / 100, float(parse.group(1)) / 100


def meets_recorded(report: CompatReport, recorded: tuple[float, float]) -> bool:
    """Whether the rates are at least the recorded ones (recorded rounded to 0.1%)."""
    load = round(report.load_rate * 100, 1)
    parse = round(report.parse_rate * 100, 1)
    return load >= round(recorded[0] * 100, 1) and parse >= round(recorded[1] * 100, 1)
