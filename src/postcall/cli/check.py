"""`postcall check PATH`: load and validate an agent, print compiler-style diagnostics."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click

from postcall.diagnostics import render_all
from postcall.knowledge.checks import knowledge_diagnostics
from postcall.topics import load_agent
from postcall.topics.summary import format_summary, summarize

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")


def parse_env_overrides(values: tuple[str, ...]) -> dict[str, str]:
    """`NAME=VALUE` pairs from the command line; a bad one is a usage error (exit 2)."""
    out: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not _ENV_NAME.match(name):
            raise click.BadParameter(
                f"'{item}' is not NAME=VALUE (NAME: letters, digits, _ . -).", param_hint="--env"
            )
        out[name] = value
    return out


@click.command("check")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--env", "env", multiple=True, metavar="NAME=VALUE", help="Set or override an Env.<NAME> value."
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def check(path: Path, env: tuple[str, ...], fmt: str) -> None:
    """Load and validate the agent at PATH (a folder in any layout, or one topic file).

    Prints every diagnostic and a summary; exits 0 without errors, 1 with errors, 2 on a usage
    error.
    """
    overrides = parse_env_overrides(env)
    if not path.exists():
        raise click.BadParameter(f"no such file or folder: {path}", param_hint="PATH")
    result = load_agent(path, env_overrides=overrides)
    if result.agent is not None:
        result.diagnostics.extend(knowledge_diagnostics(result.agent))
    summary = summarize(result)
    if fmt == "json":
        payload = {"diagnostics": [d.to_dict() for d in result.diagnostics], "summary": summary}
        click.echo(json.dumps(payload, indent=2))
    else:
        if result.diagnostics:
            click.echo(render_all(result.diagnostics, result.sources))
            click.echo()
        click.echo(format_summary(summary))
    raise SystemExit(1 if result.has_errors else 0)


def register(group: click.Group) -> None:
    """Add this module's commands to the `postcall` group."""
    group.add_command(check)
