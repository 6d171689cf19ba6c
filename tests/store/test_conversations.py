"""Conversations, turns and history on both back ends (the same contract on SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from postcall.actions import TelemetryEvent
from postcall.store import (
    ConcurrentTurnError,
    ConversationExistsError,
    ConversationNotFoundError,
    NewActivity,
    Store,
)
from store.helpers import new_id

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def test_create_get_and_exist_ok(store: Store) -> None:
    cid = new_id()
    created = store.create_conversation(cid, agent="contoso", channel="twilio", caller="+15550100", started_at=T0)
    assert created.status == "live" and created.version == 0 and created.started_at == T0
    assert store.get_conversation(cid) == created
    with pytest.raises(ConversationExistsError, match=cid):
        store.create_conversation(cid, agent="contoso", channel="twilio")
    again = store.create_conversation(cid, agent="other", channel="web", exist_ok=True)
    assert again.agent == "contoso"
    assert store.get_conversation(new_id()) is None


def test_list_filters_by_status_reason_caller_agent_and_time(store: Store) -> None:
    agent = new_id("agent")
    ids = [new_id() for _ in range(4)]
    for i, cid in enumerate(ids):
        store.create_conversation(cid, agent=agent, channel="twilio", caller=f"+1555000{i % 2}", started_at=T0 + dt.timedelta(minutes=i))
    store.record_end(ids[0], {"reason": "CUSTOMER_HANGUP"}, [])
    store.record_end(ids[1], {"reason": "BLIND_TRANSFER"}, [])
    assert [c.id for c in store.list_conversations(agent=agent)] == list(reversed(ids))
    assert {c.id for c in store.list_conversations(agent=agent, status="live")} == {ids[2], ids[3]}
    assert [c.id for c in store.list_conversations(agent=agent, end_reason="BLIND_TRANSFER")] == [ids[1]]
    assert {c.id for c in store.list_conversations(agent=agent, caller="+15550000")} == {ids[0], ids[2]}
    window = store.list_conversations(agent=agent, started_after=T0 + dt.timedelta(minutes=1), started_before=T0 + dt.timedelta(minutes=3))
    assert [c.id for c in window] == [ids[2], ids[1]]
    assert [c.id for c in store.list_conversations(agent=agent, limit=2, offset=1)] == [ids[2], ids[1]]


def test_turns_save_state_and_history_in_order(store: Store) -> None:
    cid = new_id()
    store.create_conversation(cid, agent="a", channel="test")
    with store.turn(cid) as turn:
        assert turn.conversation.state is None
        version = turn.save({"turn": 1, "at": T0}, [NewActivity("in", "message", {"text": "hello"}), NewActivity("out", "message", {"text": "hi"})])
    assert version == 1
    with store.turn(cid) as turn:
        assert turn.conversation.state == {"turn": 1, "at": T0.isoformat()}
        turn.save({"turn": 2}, [NewActivity("in", "message", {"text": "bye"})])
    history = store.history(cid)
    assert [(a.seq, a.direction, a.activity["text"]) for a in history] == [(1, "in", "hello"), (2, "out", "hi"), (3, "in", "bye")]
    assert [a.seq for a in store.history(cid, after_seq=2)] == [3]
    assert store.get_conversation(cid).version == 2  # type: ignore[union-attr]


def test_turn_of_an_unknown_conversation_is_refused(store: Store) -> None:
    with pytest.raises(ConversationNotFoundError):
        with store.turn(new_id()):
            pass


def test_a_stale_turn_is_refused_by_optimistic_locking(store: Store) -> None:
    cid = new_id()
    store.create_conversation(cid, agent="a", channel="test")
    assert store.save_turn(cid, state={"n": 1}, activities=[NewActivity("in", "message", {"text": "a"})], expected_version=0) == 1
    with pytest.raises(ConcurrentTurnError, match="version 1, not 0") as raised:
        store.save_turn(cid, state={"n": 99}, activities=[NewActivity("in", "message", {"text": "lost"})], expected_version=0)
    assert raised.value.conversation_id == cid
    conversation = store.get_conversation(cid)
    assert conversation is not None and conversation.state == {"n": 1}
    assert [a.activity["text"] for a in store.history(cid)] == ["a"]
    with pytest.raises(ConversationNotFoundError):
        store.save_turn(new_id(), state={}, expected_version=0)


def test_an_exception_inside_a_turn_rolls_it_back(store: Store) -> None:
    cid = new_id()
    store.create_conversation(cid, agent="a", channel="test")
    with pytest.raises(RuntimeError):
        with store.turn(cid) as turn:
            turn.save({"n": 1}, [NewActivity("in", "message", {"text": "x"})])
            raise RuntimeError("engine failed")
    assert store.get_conversation(cid).version == 0  # type: ignore[union-attr]
    assert store.history(cid) == []


def test_telemetry_is_stored_once_per_idempotency_key(store: Store) -> None:
    cid = new_id()
    event = TelemetryEvent(
        idempotency_key=f"{cid}:log:n1",
        conversation_id=cid,
        topic="log",
        node_id="n1",
        event_name="CallEnded",
        properties={"reason": "CUSTOMER_HANGUP", "when": T0},
        run_id=None,
        at=T0,
    )
    assert store.record_telemetry(event) is True
    assert store.record_telemetry(event) is False
    events = store.telemetry(conversation_id=cid)
    assert len(events) == 1
    assert events[0].properties == {"reason": "CUSTOMER_HANGUP", "when": T0.isoformat()}
