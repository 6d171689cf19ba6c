"""`postcall simulate` over corpora of exported agents: the figures of docs/compatibility.md.

`measure(corpora)` simulates every agent folder (workspace or solution export) under each
corpus; `render_markdown` writes the "Simulated calls" section; `recorded_rate` reads the figure
back so a test can keep it from falling.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from postcall.testing.simulate import SimulationReport, simulate
from postcall.topics.compat import agent_folders

BEGIN, END = "<!-- simulate:begin -->", "<!-- simulate:end -->"
# Node kinds that another issue owns (the model endpoint): reported apart so the figure for
# everything else is visible too.
MODEL_KINDS = frozenset({"SearchAndSummarizeContent", "AnswerQuestionWithAI", "InvokeAIBuilderModelAction"})


@dataclass
class CorpusReport:
    corpora: list[str] = field(default_factory=list)
    agents: list[tuple[str, SimulationReport]] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return sum(len(r.calls) for _, r in self.agents)

    @property
    def clean(self) -> int:
        return sum(r.clean_calls for _, r in self.agents)

    @property
    def crashes(self) -> int:
        return sum(r.crashes for _, r in self.agents)

    @property
    def unforetold(self) -> int:
        return sum(r.unforetold() for _, r in self.agents)

    @property
    def rate(self) -> float:
        return self.clean / self.calls if self.calls else 0.0

    def without_model_nodes(self) -> tuple[int, int]:
        """(calls that reached no model node, of those clean)."""
        calls = clean = 0
        for _, report in self.agents:
            for call in report.calls:
                kinds = set(call.node_kinds) | {f.node_kind for f in call.faults if f.node_kind}
                if kinds & MODEL_KINDS:
                    continue
                calls += 1
                clean += call.clean
        return calls, clean

    def by_node_kind(self) -> dict[str, tuple[int, int]]:
        total: Counter[str] = Counter()
        clean: Counter[str] = Counter()
        for _, report in self.agents:
            for kind, (t, c) in report.by_node_kind().items():
                total[kind] += t
                clean[kind] += c
        return {k: (total[k], clean[k]) for k in sorted(total)}

    def faults_by_kind(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for _, report in self.agents:
            out.update(report.faults_by(lambda f: f"{f.code} {f.node_kind or '(formula)'}"))
        return out


def measure(corpora: list[Path]) -> CorpusReport:
    report = CorpusReport(corpora=[str(c) for c in corpora])
    for corpus in corpora:
        for folder in agent_folders(corpus):
            name = str(folder.relative_to(corpus)) if folder != corpus else folder.name
            report.agents.append((f"{corpus.name}/{name}", simulate(folder)))
    return report


def render_markdown(report: CorpusReport, sources: str) -> str:
    calls, clean = report.without_model_nodes()
    lines = [
        BEGIN,
        "## Simulated calls (`postcall simulate`)",
        "",
        f"Measured by `scripts/compat_simulate.py` on {sources} (run by `tests/simulate/test_corpus.py`,",
        "which fails when the rate falls below the figure recorded here). Every topic of every agent",
        "is driven by generated callers: its trigger phrase with answers typed to each question's",
        "entity, an off-script utterance, silence, a keypad press, and a hang-up at each question; plus",
        "an off-script, a silent and a keypad opening per agent. A call is clean when it ends without a",
        "runtime fault; a flow, connector, skill or prompt that needs the customer's tenant or model",
        "counts as clean when `postcall check` named it beforehand (TPC260, TPC237, TPC263, GEN310).",
        "",
        "| measure | value |",
        "|---|---|",
        f"| agent folders | {len(report.agents)} |",
        f"| simulated calls | {report.calls} |",
        f"| **calls that end cleanly** | **{report.clean} ({100 * report.rate:.1f}%)** |",
        f"| calls that reach no generative-answers / AI Builder node (issue 12's), clean | {clean} of {calls} ({100 * clean / calls if calls else 0:.1f}%) |",
        f"| crashes | {report.crashes} |",
        f"| faults `postcall check` did not name beforehand | {report.unforetold} |",
        "",
        "### Per node kind (calls that ran a node of the kind, and how many of those ended cleanly)",
        "",
        "A call counts against every kind it ran, wherever its fault was: the faults themselves are",
        "listed by kind below.",
        "",
        "| node kind | calls | clean | rate |",
        "|---|---|---|---|",
    ]
    for kind, (total, ok) in sorted(report.by_node_kind().items(), key=lambda kv: (kv[1][1] / kv[1][0], kv[0])):
        lines.append(f"| {kind} | {total} | {ok} | {100 * ok / total:.1f}% |")
    lines += ["", "### Faults by code and node kind", ""]
    faults = report.faults_by_kind()
    lines += [f"- {key}: {n} calls" for key, n in faults.most_common()] or ["None."]
    lines += ["", "### Per agent", "", "| agent | calls | clean |", "|---|---|---|"]
    for name, agent in report.agents:
        lines.append(f"| `{name}` | {len(agent.calls)} | {agent.clean_calls} |")
    lines.append(END)
    return "\n".join(lines)


def update_doc(doc: Path, section: str) -> None:
    text = doc.read_text(encoding="utf-8")
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    doc.write_text(text, encoding="utf-8")


def recorded_rate(doc: Path, label: str) -> float | None:
    """The clean rate recorded for a corpus (`<!-- simulate-rate LABEL: 97.1 -->`)."""
    m = re.search(rf"<!-- simulate-rate {re.escape(label)}: ([\d.]+) -->", doc.read_text(encoding="utf-8"))
    return float(m.group(1)) / 100 if m else None
