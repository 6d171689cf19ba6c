"""`postcall knowledge list|sync|search AGENT`: the agent's knowledge, and what a caller would get."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from postcall.cli.check import parse_env_overrides
from postcall.knowledge.index import KnowledgeIndex
from postcall.knowledge.text import spoken_answer
from postcall.lifecycle.knowledge import open_agent_index
from postcall.store import open_store
from postcall.store.database import ENV_VAR
from postcall.store.dialects import dialect_for_url
from postcall.topics import load_agent
from postcall.topics.agent import Agent


def _agent(path: Path, env: tuple[str, ...]) -> Agent:
    result = load_agent(path, env_overrides=parse_env_overrides(env))
    if result.agent is None:
        raise click.BadParameter(f"no agent at {path}", param_hint="AGENT")
    return result.agent


def _index(agent: Agent, db: str | None) -> KnowledgeIndex:
    """The index `serve` uses: in the database when --db or $POSTCALL_DATABASE_URL is PostgreSQL,
    else the FTS5 file beside the agent's SQLite database."""
    root = agent.root if agent.root.is_dir() else agent.root.parent
    url = db or os.environ.get(ENV_VAR) or None
    if url and dialect_for_url(url).knowledge_in_database:
        return open_agent_index(root, store=open_store(url))  # migrated like `serve` does
    return open_agent_index(root)


DB_OPTION = click.option("--db", default=None, metavar="URL",
                         help="The database `serve` uses (default $POSTCALL_DATABASE_URL); on PostgreSQL the index lives there.")


@click.group("knowledge")
def knowledge() -> None:
    """The agent's knowledge sources and index (docs/models.md)."""


@knowledge.command("list")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--env", "env", multiple=True, metavar="NAME=VALUE")
@DB_OPTION
def list_sources(path: Path, env: tuple[str, ...], db: str | None) -> None:
    """Every source, its documents and passages; problems as warnings (rebuilds a stale index)."""
    agent = _agent(path, env)
    index = _index(agent, db)
    rebuilt = index.ensure()
    click.echo(f"index: {index.location} ({index.passage_count} passages{', rebuilt' if rebuilt else ''})")
    for source in index.sources():
        where = source.url or ", ".join(str(d.relative_to(index.root)) for d in source.documents) or "(no document)"
        click.echo(f"  {source.kind:4}  {source.name}: {where}")
    for problem in index.problems:
        click.echo(f"warning: {problem.path}: {problem.message}")


@knowledge.command("sync")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--source", default=None, help="Sync only this website source.")
@click.option("--max-pages", default=20, show_default=True, type=click.IntRange(1, 500))
@click.option("--env", "env", multiple=True, metavar="NAME=VALUE")
@DB_OPTION
def sync(path: Path, source: str | None, max_pages: int, env: tuple[str, ...], db: str | None) -> None:
    """Fetch the website sources (through agent.yaml allowed_hosts) and rebuild the index."""
    from postcall.knowledge.sync import sync_sites
    from postcall.lifecycle.programs import action_settings_for

    agent = _agent(path, env)
    index = _index(agent, db)
    reports = sync_sites(index.root, action_settings_for(agent), only=source, max_pages=max_pages)
    if not reports:
        click.echo("no website source (knowledge/*.mcs.yml with kind: PublicSiteSearchSource)")
    failed = False
    for report in reports:
        click.echo(f"{report.source}: {len(report.pages)} page(s)")
        for error in report.errors:
            click.echo(f"  error: {error}")
        failed = failed or not report.pages
    index.ensure()
    click.echo(f"index: {index.passage_count} passages")
    raise SystemExit(1 if failed else 0)


@knowledge.command("search")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.argument("question")
@click.option("--source", "sources", multiple=True, help="Search only these sources.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--env", "env", multiple=True, metavar="NAME=VALUE")
@DB_OPTION
def search(path: Path, question: str, sources: tuple[str, ...], fmt: str, env: tuple[str, ...], db: str | None) -> None:
    """What a caller asking QUESTION would get without a model, and the passages behind it."""
    agent = _agent(path, env)
    index = _index(agent, db)
    settings = agent.config.knowledge
    names = index.resolve(sources) if sources else None
    found = index.search(question, sources=names, limit=settings.max_passages)
    best = found[0] if found else None
    answer = (
        spoken_answer(question, best.text, max_words=settings.answer_words)
        if best is not None and best.confidence >= settings.response_confidence
        else None
    )
    if fmt == "json":
        click.echo(json.dumps({
            "question": question,
            "answer": answer,
            "threshold": settings.response_confidence,
            "passages": [{"source": p.source, "title": p.title, "url": p.url, "confidence": p.confidence, "text": p.text} for p in found],
        }, indent=2))
        return
    click.echo(f"answer: {answer}" if answer else f"no answer (threshold {settings.response_confidence:g}): the caller goes on to the next node / Fallback")
    for i, p in enumerate(found, 1):
        click.echo(f"[{i}] {p.source} (confidence {p.confidence:.2f}): {p.text[:160]}{'…' if len(p.text) > 160 else ''}")


def register(group: click.Group) -> None:
    group.add_command(knowledge)
