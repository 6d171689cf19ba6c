"""The knowledge index is built when the runtime opens (serve, a worker), not in the first
caller's turn; a failure to build is logged, never a failed start, and `postcall check` names it."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from postcall.channels.base import message_activity
from postcall.cli.main import cli
from postcall.clock import FixedClock
from postcall.durable.program import ProgramRegistry
from postcall.knowledge.index import INDEX_FILE, KnowledgeIndex
from postcall.lifecycle.programs import register_agent_at
from postcall.lifecycle.runtime import RuntimeSettings, open_runtime
from postcall.logging import configure_logging

KB = Path(__file__).resolve().parent / "agents" / "kb"
START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def _agent(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(KB, root, ignore=shutil.ignore_patterns(".postcall"))
    return root


def test_the_runtime_builds_the_index_as_it_opens_and_the_first_turn_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rebuilds: list[str] = []
    real = KnowledgeIndex._build

    def counted(self: KnowledgeIndex, *args: object) -> bool:
        rebuilds.append(str(self.location))
        return real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(KnowledgeIndex, "_build", counted)
    rt = open_runtime(_agent(tmp_path), database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", clock=FixedClock(START))
    try:
        assert len(rebuilds) == 1  # built while opening
        index = rt.sessions.engine.knowledge
        assert isinstance(index, KnowledgeIndex) and index.passage_count > 0
        asyncio.run(rt.sessions.start("CA-open", channel="twilio", caller="+15550100111", event_id="CA-open:0"))
        activity = message_activity("CA-open:1", START, channel_id="twilio", text="what are your opening hours on saturdays")
        says = [o.text for o in asyncio.run(rt.sessions.handle("CA-open", activity, event_id="CA-open:1")).outputs
                if type(o).__name__ == "Say"]  # type: ignore[attr-defined]
        assert any("10 am" in s or "Saturday" in s for s in says), says
        assert len(rebuilds) == 1  # the caller's turn searched a ready index
        assert index.ensure() is False
    finally:
        rt.close()


def test_a_worker_builds_the_index_as_it_registers_the_agent(tmp_path: Path) -> None:
    root = _agent(tmp_path)
    register_agent_at(ProgramRegistry(), root)
    assert KnowledgeIndex(root).ensure() is False  # already built by the worker's start


def test_an_index_that_cannot_be_built_is_logged_at_start_and_reported_by_check(tmp_path: Path) -> None:
    root = _agent(tmp_path)
    data = tmp_path / "data"
    (data / INDEX_FILE).mkdir(parents=True)  # the index file's place is taken: SQLite cannot open it
    (root / ".postcall" / INDEX_FILE).mkdir(parents=True)
    log = io.StringIO()
    configure_logging(stream=log)
    rt = open_runtime(root, database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", clock=FixedClock(START),
                      settings=RuntimeSettings(data_dir=data))
    rt.close()
    lines = [json.loads(line) for line in log.getvalue().splitlines() if "knowledge_index_build_failed" in line]
    assert len(lines) == 1 and lines[0]["level"] == "error" and INDEX_FILE in lines[0]["index"]
    out = CliRunner().invoke(cli, ["check", str(root)]).output
    assert "warning KNW301: The knowledge index at" in out and "cannot be built" in out, out
