"""Rendered diagnostics of each file under cases/ match golden/<case>.txt.

Each case starts with `# expect: CODE, CODE` (or `(nothing)`): the codes that must appear, so a
golden file cannot silently lose the point of its case.  A missing golden file fails the
test; only the explicit flag writes golden files:
    POSTCALL_REGENERATE=1 .venv/bin/pytest tests/topics/test_golden.py
and review the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from postcall.diagnostics import render_all
from postcall.topics import load_agent

HERE = Path(__file__).parent
CASES = sorted((HERE / "cases").glob("*.yaml"))
GOLDEN = HERE / "golden"


def expected_codes(case: Path) -> set[str]:
    first = case.read_text(encoding="utf-8").splitlines()[0]
    m = re.match(r"# expect: (.*)", first)
    assert m, f"{case.name} must start with '# expect: CODE, ...'"
    return (
        set() if m.group(1).strip() == "(nothing)" else {c.strip() for c in m.group(1).split(",")}
    )


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_rendered_diagnostics_match_golden(case: Path) -> None:
    result = load_agent(case)
    rendered = render_all(result.diagnostics, result.sources) + "\n"
    codes = {d.code for d in result.diagnostics}
    expect = expected_codes(case)
    assert expect <= codes, f"{case.name}: expected {sorted(expect)} among {sorted(codes)}"
    if not expect:
        assert not result.diagnostics, rendered
    golden = GOLDEN / f"{case.stem}.txt"
    if os.environ.get("POSTCALL_REGENERATE"):
        golden.write_text(rendered, encoding="utf-8")
    assert golden.exists(), (
        f"{golden.relative_to(HERE)} is missing; write it with POSTCALL_REGENERATE=1 and review it."
    )
    assert rendered == golden.read_text(encoding="utf-8")


def test_every_golden_file_has_its_case() -> None:
    orphans = sorted(g.name for g in GOLDEN.glob("*.txt") if not (HERE / "cases" / f"{g.stem}.yaml").exists())
    assert not orphans, f"golden files without a case under cases/: {orphans}"
