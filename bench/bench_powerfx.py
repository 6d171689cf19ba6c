"""Power Fx evaluation speed: compiled formulas against hand-written Python lambdas, same run.

Formulas are parsed and compiled once; the figures are evaluations per second of the compiled
formula and of the equivalent lambda, measured with timeit in the same process.  Writes the
`## Power Fx` section of docs/benchmarks.md (other sections are left as they are).

    .venv/bin/python bench/bench_powerfx.py [--quick] [--rounds N] [--before GITREV]

`--rounds N` measures N times and reports the median ratio (the machine may be shared: each
ratio's two sides run in the same process seconds apart, the median damps the rest).
`--before GITREV` also measures the engine as it was at GITREV (its `src/` exported with
`git archive` into a temporary directory and run in a subprocess), alternating with the current
one round by round, and writes both in the section: a before/after of the same run.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import platform
import pstats
import subprocess
import sys
import tempfile
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _report import write_section

from postcall.powerfx import EvalContext, from_json, parse_formula

REPO = Path(__file__).resolve().parent.parent

CONDITION = 'System.Conversation.EndReason = "CUSTOMER_HANGUP"'
TEN_CALLS = (
    'Len(Upper(Trim(Left(Concatenate(Lower(Topic.name), "-", Text(Topic.count)), 20))))'
    " + Abs(Round(Topic.amount, 2)) + Mod(Topic.count, 7)"
)

STATE: dict[str, Any] = {
    "System": {"Conversation": {"EndReason": "CUSTOMER_HANGUP", "Id": "c-1"}},
    "Topic": {"name": "  Ada Lovelace ", "count": 12.0, "amount": -3.14159},
}


def condition_lambda(s: dict[str, Any]) -> bool:
    return bool(s["System"]["Conversation"]["EndReason"] == "CUSTOMER_HANGUP")


def ten_calls_lambda(s: dict[str, Any]) -> float:
    t = s["Topic"]
    count = t["count"]
    text = (t["name"].lower() + "-" + (str(int(count)) if count == int(count) else str(count)))[:20]
    trimmed = " ".join(p for p in text.split(" ") if p)
    return float(len(trimmed.upper()) + abs(round(t["amount"], 2)) + (count % 7))


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Evaluations per second: the best of a few timeit repeats sized to `seconds` each."""
    number = 1000
    while True:
        elapsed = timeit.timeit(fn, number=number)
        if elapsed >= 0.2:
            break
        number *= 2
    per_repeat = max(1, int(number * seconds / elapsed))
    best = min(timeit.repeat(fn, number=per_repeat, repeat=5))
    return per_repeat / best


def measure(seconds: float) -> list[tuple[str, str, float, float]]:
    ctx = EvalContext(scope={k: from_json(v) for k, v in STATE.items()}, now=lambda: dt.datetime.now(dt.UTC))
    rows = []
    for label, source, baseline in (
        ("condition", CONDITION, condition_lambda),
        ("ten function calls", TEN_CALLS, ten_calls_lambda),
    ):
        result = parse_formula(source)
        formula = result.formula
        if formula is None:
            raise SystemExit(f"{source!r} does not compile: {result.diagnostics}")
        fx_value = formula.evaluate(ctx)
        py_value = baseline(STATE)
        if fx_value != py_value and not (
            isinstance(fx_value, float) and isinstance(py_value, float) and abs(fx_value - py_value) < 1e-9
        ):
            raise SystemExit(f"{label}: formula gives {fx_value!r}, lambda {py_value!r}")
        fx_rate = rate(lambda f=formula: f.evaluate(ctx), seconds)  # type: ignore[misc]
        py_rate = rate(lambda b=baseline: b(STATE), seconds)  # type: ignore[misc]
        rows.append((label, source, fx_rate, py_rate))
    return rows


def calls_per_evaluation() -> list[float]:
    """Python function calls per evaluation of each formula, counted by cProfile: a measure of
    the interpreter's work that the machine's load does not change."""
    ctx = EvalContext(scope={k: from_json(v) for k, v in STATE.items()}, now=lambda: dt.datetime.now(dt.UTC))
    counts = []
    for source in (CONDITION, TEN_CALLS):
        formula = parse_formula(source).formula
        assert formula is not None
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(200):
            formula.evaluate(ctx)
        profile.disable()
        counts.append(pstats.Stats(profile, stream=io.StringIO()).total_calls / 200)  # type: ignore[attr-defined]
    return counts


def _calls_of_tree(src: Path) -> list[float]:
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2]);"
        "import bench_powerfx as b; print(json.dumps(b.calls_per_evaluation()))"
    )
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run([sys.executable, "-c", code, str(src), str(REPO / "bench")], env=env,
                         capture_output=True, text=True, check=True)
    return [float(x) for x in json.loads(out.stdout)]


def _measure_tree(src: Path, seconds: float) -> list[tuple[str, str, float, float]]:
    """`measure` run on another source tree, in a subprocess (its own imports)."""
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2]);"
        "import bench_powerfx as b; print(json.dumps(b.measure(float(sys.argv[3]))))"
    )
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-c", code, str(src), str(REPO / "bench"), str(seconds)],
        env=env, capture_output=True, text=True, check=True,
    )
    return [tuple(row) for row in json.loads(out.stdout)]  # type: ignore[misc]


def _export(rev: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "src"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into / "src"


def _median_rows(runs: list[list[tuple[str, str, float, float]]]) -> list[tuple[str, str, float, float]]:
    """Per formula, the run whose ratio is the median one."""
    rows = []
    for i in range(len(runs[0])):
        ordered = sorted((r[i] for r in runs), key=lambda row: row[3] / row[2])
        rows.append(ordered[len(ordered) // 2])
    return rows


def render(rows: list[tuple[str, str, float, float]]) -> str:
    lines = [
        "## Power Fx",
        "",
        "Written by `bench/bench_powerfx.py`. Formulas are parsed and compiled to closures once;",
        "the figures are evaluations per second of the compiled formula and of the equivalent",
        "hand-written Python lambda (on plain dicts), measured in the same run with `timeit`",
        "(best of 5). The ratio is lambda / formula: how many times slower the formula is.",
        "Goal: the condition within 10x of its lambda.",
        "",
        f"Python {platform.python_version()} on {platform.machine()} ({os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} when measured), {dt.date.today().isoformat()}. Both sides of a ratio run",
        "in the same process minutes apart at most, so the ratio is steadier than the rates.",
        "",
        "| formula | evaluations/s (formula) | evaluations/s (lambda) | ratio |",
        "|---|---:|---:|---:|",
    ]
    for label, source, fx_rate, py_rate in rows:
        lines.append(f"| {label}: `{source}` | {fx_rate:,.0f} | {py_rate:,.0f} | {py_rate / fx_rate:.1f}x |")
    return "\n".join(lines) + "\n"


def render_comparison(rev: str, before: list[list[tuple[str, str, float, float]]],
                      after: list[list[tuple[str, str, float, float]]], loads: list[float],
                      calls: tuple[list[float], list[float]]) -> str:
    """Ratios of the engine at `rev` and now, measured alternately in the same run."""
    lines = [
        "",
        f"Before/after in the same run (`--before {rev} --rounds {len(after)}`): the engine at `{rev}`",
        "and the current one measured alternately, round by round; median ratio (all rounds in brackets),",
        f"load average {min(loads):.1f}-{max(loads):.1f} during the rounds (a shared machine).",
        "",
        f"| formula | ratio at `{rev}` | ratio now | Python calls per evaluation at `{rev}` | now |",
        "|---|---:|---:|---:|---:|",
    ]
    for i, (label, *_rest) in enumerate(after[0]):
        old = sorted(r[i][3] / r[i][2] for r in before)
        new = sorted(r[i][3] / r[i][2] for r in after)
        lines.append(
            f"| {label} | {old[len(old) // 2]:.1f}x ({', '.join(f'{x:.1f}' for x in old)}) "
            f"| {new[len(new) // 2]:.1f}x ({', '.join(f'{x:.1f}' for x in new)}) "
            f"| {calls[0][i]:.0f} | {calls[1][i]:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (less precise)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md")
    parser.add_argument("--rounds", type=int, default=1, help="measure N times; report the median ratio")
    parser.add_argument("--before", metavar="GITREV", help="also measure the engine at GITREV, alternately")
    args = parser.parse_args(argv)
    seconds = 0.2 if args.quick else 1.0
    before: list[list[tuple[str, str, float, float]]] = []
    after: list[list[tuple[str, str, float, float]]] = []
    loads: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        old_src = _export(args.before, Path(tmp)) if args.before else None
        for _ in range(max(1, args.rounds)):
            if old_src is not None:
                before.append(_measure_tree(old_src, seconds))
            after.append(measure(seconds))
            loads.append(os.getloadavg()[0])
        calls = (_calls_of_tree(old_src), calls_per_evaluation()) if old_src is not None else None
    section = render(_median_rows(after))
    if before and calls is not None:
        section += render_comparison(args.before, before, after, loads, calls)
    print(section)
    if not args.no_write:
        write_section("Power Fx", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
