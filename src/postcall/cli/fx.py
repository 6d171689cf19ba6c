"""`postcall fx`: evaluate one Power Fx formula, or run Microsoft's expression test files."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import click

from postcall.devtools.conformance import format_report, run_files
from postcall.diagnostics import render_all
from postcall.powerfx import EvalContext, Record, Value, format_value, from_json, parse_formula
from postcall.powerfx.values import ErrorValue


def _parse_var(item: str) -> tuple[str, Value]:
    name, sep, raw = item.partition("=")
    if not sep or not name:
        raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--var")
    result = parse_formula(raw)
    if result.formula is not None and not result.formula.names:
        value = result.formula.evaluate(EvalContext(scope={}, now=lambda: dt.datetime.now(dt.UTC)))
        if not isinstance(value, ErrorValue):
            return name, value
    try:
        return name, from_json(json.loads(raw))
    except ValueError:
        return name, raw


def _scope(variables: tuple[str, ...]) -> dict[str, Value]:
    """`Topic.x=1` sets field x of record Topic; `x=1` sets a top-level name."""
    tree: dict[str, Any] = {}
    for item in variables:
        name, value = _parse_var(item)
        parts = name.split(".")
        target = tree
        for part in parts[:-1]:
            inner = target.setdefault(part, {})
            if not isinstance(inner, dict):
                raise click.BadParameter(f"{name}: {part} is already a value", param_hint="--var")
            target = inner
        target[parts[-1]] = value
    return {k: _to_value(v) for k, v in tree.items()}


def _to_value(node: Any) -> Value:
    if isinstance(node, dict):
        return Record({k: _to_value(v) for k, v in node.items()})
    result: Value = node
    return result


@click.group("fx")
def fx() -> None:
    """Power Fx: evaluate formulas and run conformance tests."""


@fx.command("eval")
@click.argument("expression")
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE",
              help="A variable: NAME (or Topic.name) = a formula literal or JSON. Repeatable.")
def eval_command(expression: str, variables: tuple[str, ...]) -> None:
    """Evaluate EXPRESSION (with or without a leading "=") and print its value in Power Fx syntax."""
    text = expression[1:] if expression.startswith("=") else expression
    result = parse_formula(text)
    if result.formula is None:
        click.echo(render_all(result.diagnostics, {"<formula>": text}), err=True)
        sys.exit(1)
    ctx = EvalContext(scope=_scope(variables), now=lambda: dt.datetime.now(dt.UTC))
    value = result.formula.evaluate(ctx)
    click.echo(format_value(value))
    if isinstance(value, ErrorValue) and value.message:
        click.echo(f"error: {value.message}", err=True)


@fx.command("test")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--quiet", "-q", is_flag=True, help="Only print the summary, not each failure.")
def test_command(files: tuple[str, ...], quiet: bool) -> None:
    """Run Power Fx expression test FILES (Microsoft's .txt format); ends with `N passed, N failed, N skipped`."""
    report = run_files(files)
    click.echo(format_report(report, verbose=not quiet))


def register(group: click.Group) -> None:
    """Add this module's commands to the `postcall` group."""
    group.add_command(fx)
