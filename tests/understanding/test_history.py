"""A served call keeps each recogniser decision in its history; the console's timeline shows it."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from pathlib import Path

from postcall.channels.base import message_activity
from postcall.clock import FixedClock
from postcall.lifecycle.runtime import open_runtime
from postcall.server.api.views import timeline

REPO = Path(__file__).resolve().parents[2]


def test_decisions_are_stored_and_shown(tmp_path: Path) -> None:
    agent = tmp_path / "contoso-support"
    shutil.copytree(REPO / "examples" / "contoso-support", agent, ignore=shutil.ignore_patterns(".postcall"))
    clock = FixedClock(dt.datetime(2026, 11, 24, 17, 0, tzinfo=dt.UTC))
    rt = open_runtime(agent, database_url=f"sqlite:///{tmp_path / 'postcall.sqlite'}", clock=clock)
    try:
        asyncio.run(rt.sessions.start("CA-1", channel="twilio", caller="+15550100111", event_id="e1"))
        clock.advance(1)
        said = message_activity("e2", clock.now(), channel_id="twilio", text="purple elephants")
        asyncio.run(rt.sessions.handle("CA-1", said, event_id="e2"))
        stored = [a for a in rt.store.history("CA-1") if a.type == "Recognition"]
        assert len(stored) == 1 and stored[0].direction == "out"
        assert stored[0].activity["outcome"] == "none"
        assert stored[0].activity["recognizer"] == "embedded"
        taken = stored[0].activity["taken"]  # what the engine did with it
        assert taken["action"] == "fallback" and "the Fallback topic 'Fallback' ran" in taken["why"]
        entries = [e for e in timeline(rt.store.history("CA-1")) if e.kind == "recognition"]
        assert len(entries) == 1
        assert entries[0].text.startswith("Recognizer: none - unlike every trigger phrase")
        assert len(entries[0].detail["candidates"]) == 3
        assert entries[0].text.endswith(f"; engine: {taken['why']}")
    finally:
        rt.close()
