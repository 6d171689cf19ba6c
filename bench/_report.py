"""What the bench scripts share: a percentile, and writing a script's own section of docs/benchmarks.md.

Each script owns one `## ...` section of the page and rewrites only that one, so scripts run at
different times (and by different people) never overwrite each other's figures.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def percentile(values: Sequence[float], q: float) -> float:
    """The `q` quantile (0 to 1) by nearest rank: a measured value, never an interpolation; NaN for none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def write_section(heading: str, section: str, doc: Path = DOC) -> None:
    """Put `section` (which starts with `## heading`) in place of that section of `doc`, or append it."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^## {re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section.rstrip("\n") + "\n\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
