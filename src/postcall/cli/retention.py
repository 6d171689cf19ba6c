"""`postcall purge` (apply the agent's retention now) and `postcall erase` (one caller's data, on request)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import click

from postcall.cli.runs import database_url, open_existing
from postcall.errors import PostCallError
from postcall.store.database import printable_url
from postcall.topics.config import Retention


def _agent_retention(agent: str) -> Retention:
    from postcall.lifecycle.runtime import load_checked_agent

    try:
        loaded, _ = load_checked_agent(agent)
    except PostCallError as exc:
        raise click.ClickException(str(exc)) from exc
    return loaded.config.retention


@click.command("purge")
@click.argument("agent", type=click.Path(exists=True))
@click.option("--db", "db", metavar="URL", help="Database URL (default: $POSTCALL_DATABASE_URL or AGENT/.postcall/postcall.db).")
@click.option("--transcripts-days", type=click.FloatRange(min=0), help="Override retention.transcripts_days.")
@click.option("--variables-days", type=click.FloatRange(min=0), help="Override retention.variables_days.")
@click.option("--request-bodies-days", type=click.FloatRange(min=0), help="Override retention.request_bodies_days.")
@click.option("--conversations-days", type=click.FloatRange(min=0), help="Override retention.conversations_days.")
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
def purge(
    agent: str, db: str | None, transcripts_days: float | None, variables_days: float | None,
    request_bodies_days: float | None, conversations_days: float | None, fmt: str,
) -> None:
    """Delete what AGENT's `retention:` (agent.yaml) says is due, now; `serve` also does it on a schedule.

    Runs in flight are never touched; a failed run keeps its data until it succeeds or the
    whole call is due.
    """
    from postcall.lifecycle.retention import purge as run_purge

    retention = _agent_retention(agent)
    overrides = {"transcripts_days": transcripts_days, "variables_days": variables_days,
                 "request_bodies_days": request_bodies_days, "conversations_days": conversations_days}
    retention = replace(retention, **{k: v for k, v in overrides.items() if v is not None})
    url = database_url(agent, db)
    store = open_existing(url)
    if store is None:
        click.echo(f"No database at {printable_url(url)}: nothing to purge.")
        return
    try:
        report = run_purge(store, retention)
    finally:
        store.close()
    if fmt == "json":
        click.echo(json.dumps({"database": printable_url(url), "purged": report.purged,
                               "skipped_in_flight": report.skipped_in_flight}, indent=2))
        return
    if retention.keeps_everything:
        click.echo("The retention keeps everything (no retention: in agent.yaml): nothing purged.")
        return
    for kind, count in report.purged.items():
        click.echo(f"{kind}: purged from {count} conversation(s)")
    if report.skipped_in_flight:
        click.echo(f"skipped {report.skipped_in_flight} conversation(s) with post-call runs in flight (next purge)")


@click.command("erase")
@click.argument("agent", type=click.Path(exists=True, path_type=Path))
@click.option("--caller", metavar="NUMBER", help="Erase every conversation of this caller (the number as the channel gave it, e.g. +15551234567).")
@click.option("--conversation", "conversation_ids", multiple=True, metavar="ID", help="Erase this conversation (repeatable).")
@click.option("--db", "db", metavar="URL", help="Database URL (default: $POSTCALL_DATABASE_URL or AGENT/.postcall/postcall.db).")
def erase(agent: Path, caller: str | None, conversation_ids: tuple[str, ...], db: str | None) -> None:
    """Erase one caller's data on request: every row of their conversations, DBOS's step records too.

    A conversation still live, or with a post-call run pending or running, is not erased (its
    run would break); the command names it and exits 1: run it again once the run is over.
    """
    if not caller and not conversation_ids:
        raise click.UsageError("Give --caller NUMBER or --conversation ID.")
    url = database_url(str(agent), db)
    store = open_existing(url)
    if store is None:
        raise click.ClickException(f"No database at {printable_url(url)}.")
    try:
        report = store.erase(conversation_ids=conversation_ids, caller=caller)
    finally:
        store.close()
    for cid in report.erased:
        click.echo(f"erased {cid}")
    if not report.erased and not report.in_flight:
        click.echo("No matching conversation.")
    if report.in_flight:
        raise click.ClickException(
            "Not erased (live, or a post-call run in flight; run again when it is over): " + ", ".join(report.in_flight)
        )


def register(group: click.Group) -> None:
    group.add_command(purge)
    group.add_command(erase)
