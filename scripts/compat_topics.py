#!/usr/bin/env python3
"""Measure topic-file compatibility on the shared corpus and rewrite docs/compatibility.md.

Usage: .venv/bin/python scripts/compat_topics.py [CORPUS] [--check]
  CORPUS   default ../shared/compat/copilot-studio-topics
  --check  do not write; exit 1 if a rate is below the recorded figure
"""

from __future__ import annotations

import sys
from pathlib import Path

from postcall.topics.compat import (
    measure,
    meets_recorded,
    recorded_rates,
    render_markdown,
    update_doc,
)

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "compatibility.md"
DEFAULT_CORPUS = REPO.parent / "shared" / "compat" / "copilot-studio-topics"


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    corpus = Path(args[0]) if args else DEFAULT_CORPUS
    report = measure(corpus)
    print(
        f"topic load rate {100 * report.load_rate:.1f}% ({len(report.clean_topic_files)}/{len(report.topic_files)}), "
        f"formula parse rate {100 * report.parse_rate:.1f}% ({report.formulas_parsed}/{report.formulas}), "
        f"crashes {len(report.crashes)}"
    )
    for crash in report.crashes:
        print("CRASH", crash)
    if "--check" in argv:
        recorded = recorded_rates(DOC)
        if recorded is not None and not meets_recorded(report, recorded):
            print(f"below the recorded figures {recorded}")
            return 1
        return 1 if report.crashes else 0
    update_doc(DOC, render_markdown(report, "../shared/compat/copilot-studio-topics"))
    print(f"wrote {DOC.relative_to(REPO)}")
    return 1 if report.crashes else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
