"""Power Fx evaluation speed: compiled formulas against hand-written Python lambdas, same run.

Formulas are parsed and compiled once; the figures are evaluations per second of the compiled
formula and of the equivalent lambda, measured with timeit in the same process.  Writes the
`## Power Fx` section of docs/benchmarks.md (other sections are left as they are).

    .venv/bin/python bench/bench_powerfx.py [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (less precise)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md")
    args = parser.parse_args(argv)
    rows = measure(0.2 if args.quick else 1.0)
    section = render(rows)
    print(section)
    if not args.no_write:
        write_section("Power Fx", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
