#!/usr/bin/env python3
"""Simulate every agent of the corpora and rewrite the "Simulated calls" section of
docs/compatibility.md.

Usage: .venv/bin/python scripts/compat_simulate.py [--check]
  corpora: ../shared/compat/copilot-studio-topics (Microsoft's samples, MIT) and
           .cache/agent-corpus (fetched by scripts/fetch_agent_corpus.py), each when present
  --check  do not write; exit 1 if a clean rate is below the recorded figure or anything crashed
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

from postcall.testing.simulate_corpus import measure, recorded_rate, render_markdown, update_doc

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "compatibility.md"
CORPORA = {
    "shared": REPO.parent / "shared" / "compat" / "copilot-studio-topics",
    "fetched": REPO / ".cache" / "agent-corpus",
}
SHOWN = {"shared": "`../shared/compat/copilot-studio-topics`", "fetched": "`.cache/agent-corpus`"}


def main(argv: list[str]) -> int:
    present = {label: path for label, path in CORPORA.items() if path.is_dir()}
    parts = {label: measure([path]) for label, path in present.items()}
    failed = False
    for label, report in parts.items():
        print(f"{label}: {report.clean}/{report.calls} clean ({100 * report.rate:.1f}%), "
              f"{report.crashes} crashes, {report.unforetold} faults check did not name")
        recorded = recorded_rate(DOC, label)
        if recorded is not None and report.rate + 1e-9 < recorded:
            print(f"  below the recorded {100 * recorded:.1f}%")
            failed = True
        failed = failed or report.crashes > 0
    if "--check" in argv:
        return 1 if failed else 0
    combined = measure(list(present.values()))
    section = render_markdown(combined, " and ".join(SHOWN[label] for label in present))
    markers = "\n".join(
        f"<!-- simulate-rate {label}: {math.floor(1000 * report.rate) / 10:.1f} -->"  # floored
        for label, report in parts.items()
    )
    update_doc(DOC, section.replace("\n<!-- simulate:end -->", f"\n{markers}\n<!-- simulate:end -->"))
    print(f"wrote {DOC.relative_to(REPO)}: {combined.clean}/{combined.calls} clean ({100 * combined.rate:.1f}%)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
