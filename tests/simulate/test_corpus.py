"""The simulated-call figure of docs/compatibility.md must not fall (scripts/compat_simulate.py).

The in-repo agents always run; Microsoft's samples in ../shared and the fetched public agents
(scripts/fetch_agent_corpus.py) run when present.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from postcall.testing.simulate import simulate
from postcall.testing.simulate_corpus import measure, recorded_rate

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "compatibility.md"
SHARED = REPO.parent / "shared" / "compat" / "copilot-studio-topics"
FETCHED = REPO / ".cache" / "agent-corpus"
IN_REPO = [REPO / "examples" / "contoso-support", *sorted((Path(__file__).parent / "agents").iterdir())]


@pytest.mark.parametrize("agent", IN_REPO, ids=lambda p: p.name)
def test_in_repo_agents_simulate_clean(agent: Path) -> None:
    report = simulate(agent)
    assert report.calls and not report.load_errors
    faults = [(c.scenario, f.where, f.message) for c in report.calls for f in c.faults if not f.needs_config]
    assert faults == [] and report.crashes == 0


@pytest.mark.parametrize(
    ("label", "corpus", "fetch"),
    [
        ("shared", SHARED, "the shared compatibility corpus (../shared/compat/copilot-studio-topics)"),
        ("fetched", FETCHED, "the public agents: python scripts/fetch_agent_corpus.py"),
    ],
)
def test_corpus_rate_does_not_fall(label: str, corpus: Path, fetch: str) -> None:
    if not corpus.is_dir():
        pytest.skip(f"not present: {fetch}")
    recorded = recorded_rate(DOC, label)
    assert recorded is not None, f"docs/compatibility.md records no rate for {label}"
    report = measure([corpus])
    assert report.crashes == 0
    assert report.unforetold == 0, "a simulated call faulted where `postcall check` said nothing"
    assert report.rate + 1e-9 >= recorded, f"{label}: {100 * report.rate:.1f}% < recorded {100 * recorded:.1f}%"
