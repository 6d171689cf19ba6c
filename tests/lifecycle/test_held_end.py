"""A channel's end that overtakes a transfer's result is held, then released in the right order.

In-process against a real SQLite store with a fixed clock: the Twilio status callback that comes
before the Dial action, the numbered call event that overtakes a missing one, and the watchdog
releasing an end whose transfer result never comes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from postcall.channels.base import (
    end_of_conversation_activity,
    message_activity,
    transfer_result_activity,
)
from postcall.clock import FixedClock
from postcall.engine.activity import Activity
from postcall.lifecycle.runtime import Runtime, open_runtime
from postcall.lifecycle.session import TurnOutcome
from postcall.vocabulary import Initiator, TransferOutcome

REPO = Path(__file__).resolve().parents[2]
START = dt.datetime(2026, 11, 24, 17, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def runtime(tmp_path: Path, clock: FixedClock) -> Iterator[Runtime]:
    agent = tmp_path / "contoso-support"
    shutil.copytree(REPO / "examples" / "contoso-support", agent, ignore=shutil.ignore_patterns(".postcall"))
    rt = open_runtime(agent, database_url=f"sqlite:///{tmp_path / 'postcall.sqlite'}", clock=clock)
    try:
        yield rt
    finally:
        rt.close()


def _run(coro: Coroutine[Any, Any, TurnOutcome]) -> TurnOutcome:
    return asyncio.run(coro)


def _ask_for_billing(rt: Runtime, clock: FixedClock, cid: str, *, numbered: bool = False) -> None:
    sessions = rt.sessions
    _run(sessions.start(cid, channel="twilio", caller="+15550100111", event_id=f"{cid}:1",
                        sequence=1 if numbered else None))
    clock.advance(1)
    said = message_activity(f"{cid}:2", clock.now(), channel_id="twilio", text="billing")
    outcome = _run(sessions.handle(cid, said, event_id=f"{cid}:2", sequence=2 if numbered else None))
    assert any(type(o).__name__ == "Transfer" for o in outcome.outputs)


def _hang_up(at: dt.datetime, event: str) -> Activity:
    return end_of_conversation_activity(event, at, Initiator.CALLER, "completed", channel_id="twilio")


def test_status_before_dial_action_ends_as_the_transfer(runtime: Runtime, clock: FixedClock) -> None:
    cid = "CA-held-1"
    _ask_for_billing(runtime, clock, cid)
    clock.advance(1)
    held = _run(runtime.sessions.handle(cid, _hang_up(clock.now(), "status:completed"),
                                        event_id="status:completed"))
    assert not held.ended
    conv = runtime.store.get_conversation(cid)
    assert conv is not None and conv.status == "live"
    again = _run(runtime.sessions.handle(cid, _hang_up(clock.now(), "status:completed"),
                                         event_id="status:completed"))
    assert again.duplicate and not again.ended
    clock.advance(1)
    answered = transfer_result_activity("dial", clock.now(), TransferOutcome.ANSWERED, "completed", channel_id="twilio")
    outcome = _run(runtime.sessions.handle(cid, answered, event_id="dial"))
    assert outcome.ended and outcome.end_reason == "BLIND_TRANSFER"
    conv = runtime.store.get_conversation(cid)
    assert conv is not None and conv.status == "ended"
    assert conv.end_record is not None and conv.end_record["reason"] == "BLIND_TRANSFER"
    ends = [a for a in runtime.store.history(cid) if a.type == "endOfConversation" and a.direction == "in"]
    assert len(ends) == 2  # the held status callback and the end activity raised once
    assert [r.topic for r in runtime.store.list_runs(conversation_id=cid, limit=None)] == ["Post-call log"]


def test_held_end_released_by_the_watchdog(runtime: Runtime, clock: FixedClock) -> None:
    cid = "CA-held-2"
    _ask_for_billing(runtime, clock, cid)
    clock.advance(1)
    hung_up_at = clock.now()
    _run(runtime.sessions.handle(cid, _hang_up(hung_up_at, "status"), event_id="status"))
    clock.advance(runtime.sessions.held_end_grace_s / 2)
    assert asyncio.run(runtime.sessions.end_idle()) == []
    clock.advance(runtime.sessions.held_end_grace_s)
    assert asyncio.run(runtime.sessions.end_idle()) == [cid]
    conv = runtime.store.get_conversation(cid)
    assert conv is not None and conv.end_record is not None
    assert conv.end_record["reason"] == "CUSTOMER_HANGUP"
    assert conv.end_record["detail"]["transfer"]["outcome"] == "abandoned"
    assert dt.datetime.fromisoformat(conv.end_record["ended_at"]) == hung_up_at  # as of the hang-up
    assert sorted(r.topic for r in runtime.store.list_runs(conversation_id=cid, limit=None)) == [
        "Post-call CRM update", "Post-call log"]
    assert asyncio.run(runtime.sessions.end_idle()) == []


def test_numbered_end_in_order_is_not_held(runtime: Runtime, clock: FixedClock) -> None:
    cid = "bridge-held-3"
    _ask_for_billing(runtime, clock, cid, numbered=True)
    clock.advance(1)
    outcome = _run(runtime.sessions.handle(cid, _hang_up(clock.now(), "e3"), event_id="e3", sequence=3))
    assert outcome.ended and outcome.end_reason == "CUSTOMER_HANGUP"


def test_numbered_end_that_overtook_an_event_waits_for_it(runtime: Runtime, clock: FixedClock) -> None:
    cid = "bridge-held-4"
    _ask_for_billing(runtime, clock, cid, numbered=True)
    clock.advance(1)
    held = _run(runtime.sessions.handle(cid, _hang_up(clock.now(), "e4"), event_id="e4", sequence=4))
    assert not held.ended
    busy = transfer_result_activity("e3", clock.now(), TransferOutcome.BUSY, "busy", channel_id="twilio")
    outcome = _run(runtime.sessions.handle(cid, busy, event_id="e3", sequence=3))
    # The transfer failed (the agent spoke again), then the caller's hang-up ended the call.
    assert any(type(o).__name__ == "Say" for o in outcome.outputs)
    assert outcome.ended and outcome.end_reason == "CUSTOMER_HANGUP"
    conv = runtime.store.get_conversation(cid)
    assert conv is not None and conv.end_record is not None
    assert conv.end_record["detail"]["transfer"]["outcome"] == "busy"
