"""`postcall simulate AGENT`: the pre-flight; drives every topic with generated callers."""

from __future__ import annotations

import json
from pathlib import Path

import click

from postcall.cli.check import parse_env_overrides
from postcall.testing.simulate import render_text, simulate


@click.command("simulate")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--env", "env", multiple=True, metavar="NAME=VALUE", help="Set or override an Env.<NAME> value."
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--transcripts", is_flag=True, help="Include each call's transcript (json only).")
def simulate_command(path: Path, env: tuple[str, ...], fmt: str, transcripts: bool) -> None:
    """Drive every topic of the agent at PATH with generated callers, in this process.

    Per topic: its trigger phrase, answers typed to each question's entity, an off-script
    utterance, silence, a keypad press and a hang-up at each question; backend actions are not
    carried out (empty successes).  Prints what ran, how each call ended and every fault with
    its file:line.  Exits 0 when every call ended cleanly, 1 otherwise, 2 on a usage error.
    """
    overrides = parse_env_overrides(env)
    if not path.exists():
        raise click.BadParameter(f"no such file or folder: {path}", param_hint="PATH")
    report = simulate(path, env=overrides)
    if fmt == "json":
        click.echo(json.dumps(report.to_json(transcripts=transcripts), indent=2, default=str))
    else:
        click.echo(render_text(report))
    clean = not report.load_errors and report.clean_calls == len(report.calls)
    raise SystemExit(0 if clean else 1)


def register(group: click.Group) -> None:
    """Add this module's commands to the `postcall` group."""
    group.add_command(simulate_command)
