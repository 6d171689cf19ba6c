#!/usr/bin/env python3
"""Run Microsoft's whole Power Fx expression suite from a Power-Fx checkout and print the report.

Usage: .venv/bin/python scripts/powerfx_suite.py CHECKOUT [--failures] [--markdown]
  CHECKOUT    a directory holding microsoft/Power-Fx's src/tests (a clone, or the two test folders
              checked out from it: `git --work-tree=DIR checkout COMMIT -- src/tests`)
  --failures  also list every failing case (file:line, expression, expected, actual)
  --markdown  print the tables as Markdown (what docs/powerfx.md quotes)

Both folders are loaded together, as Microsoft's interpreter tests load them (a file in one may
`#OVERRIDE` a file in the other), and reported apart: the shared ExpressionTestCases (414 files
at commit 940f3f3c) and the InterpreterExpressionTestCases (16).  The test suite does not need
this script or a checkout; it runs the 62 shared files in ../shared/compat.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from postcall.devtools.conformance import NEVER_RUN, Outcome, run_files

FOLDERS = (
    "src/tests/Microsoft.PowerFx.Core.Tests.Shared/ExpressionTestCases",
    "src/tests/Microsoft.PowerFx.Interpreter.Tests.Shared/InterpreterExpressionTestCases",
)


def _rates(counts: Counter[str]) -> str:
    passed, failed, skipped = counts["passed"], counts["failed"], counts["skipped"]
    ran = passed + failed
    total = ran + skipped
    rate = 100 * passed / ran if ran else 0.0
    skip = 100 * skipped / total if total else 0.0
    return f"{passed} passed, {failed} failed, {skipped} skipped: {rate:.2f}% of cases run pass, {skip:.2f}% skipped"


def report(checkout: Path, failures: bool, markdown: bool) -> int:
    folders = [checkout / f for f in FOLDERS]
    missing = [str(f) for f in folders if not f.is_dir()]
    if missing:
        print(f"not a Power-Fx checkout: missing {', '.join(missing)}", file=sys.stderr)
        return 2
    paths = [str(p) for folder in folders for p in sorted(folder.glob("*.txt"))]
    outcomes = run_files(paths).outcomes
    for folder in folders:
        mine = [o for o in outcomes if Path(o.case.file).parent == folder]
        files = sorted({Path(p).name for p in folder.glob("*.txt")})
        per_file: dict[str, Counter[str]] = {name: Counter() for name in files}
        for o in mine:
            per_file[Path(o.case.file).name][o.status] += 1
        print(f"\n## {folder.name} ({len(files)} files)\n")
        if markdown:
            print("| file | passed | failed | skipped |\n|---|---:|---:|---:|")
        for name in files:
            c = per_file[name]
            if markdown:
                print(f"| {name} | {c['passed']} | {c['failed']} | {c['skipped']} |")
            else:
                print(f"{c['passed']:6d} {c['failed']:6d} {c['skipped']:6d}  {name}")
        totals: Counter[str] = Counter(o.status for o in mine)
        print(f"\nTotal: {_rates(totals)}")
        never = [o for o in mine if o.status == "skipped" and o.detail == NEVER_RUN]
        if never:
            # The issue counts every case of every file; Microsoft's CI itself never runs these.
            print(f"Without the {len(never)} cases no configuration of Microsoft's harness runs: "
                  f"{_rates(totals - Counter(skipped=len(never)))}")
        reasons = Counter(o.detail for o in mine if o.status == "skipped")
        for reason, count in reasons.most_common():
            print(f"    skipped {count:5d}  {reason}")
        if failures:
            _print_failures([o for o in mine if o.status == "failed"])
    return 0


def _print_failures(failed: list[Outcome]) -> None:
    for o in failed:
        expr = " ".join(o.case.expression.split())
        print(f"FAIL {Path(o.case.file).name}:{o.case.line} [{o.case.configuration}] {expr}")
        print(f"    expected: {o.case.expected}")
        print(f"    actual:   {o.actual} ({o.detail})")


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    return report(Path(args[0]), "--failures" in argv, "--markdown" in argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
