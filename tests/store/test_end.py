"""The end of a conversation: recorded once, its post-call runs enqueued in the same transaction."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from postcall.store import ConversationNotFoundError, NewActivity, RunSpec, Store, run_id_for
from store.helpers import new_id

ENDED = dt.datetime(2026, 3, 1, 9, 5, tzinfo=dt.UTC)


def dbos_rows(store: Store, run_id: str) -> list[tuple[str, str, str | None]]:
    table = "dbos.workflow_status" if store.engine.dialect.name == "postgresql" else "workflow_status"
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.text(f"SELECT status, queue_name, application_version FROM {table} WHERE workflow_uuid = :id"), {"id": run_id}
        )
        return [tuple(r) for r in rows]


def test_first_end_wins_and_enqueues_each_run_once(store: Store) -> None:
    cid = new_id()
    store.create_conversation(cid, agent="a", channel="twilio")
    runs = [RunSpec("Post-call CRM update", "scripted", {"n": 1}), RunSpec("Post-call log", "scripted", {"n": 2})]
    end = {"reason": "CUSTOMER_HANGUP", "initiator": "caller", "ended_at": ENDED}
    assert store.record_end(cid, end, runs, activities=[NewActivity("in", "event", {"name": "hangup"})]) is True

    conversation = store.get_conversation(cid)
    assert conversation is not None
    assert (conversation.status, conversation.end_reason, conversation.ended_at) == ("ended", "CUSTOMER_HANGUP", ENDED)
    assert conversation.end_record == {"reason": "CUSTOMER_HANGUP", "initiator": "caller", "ended_at": ENDED.isoformat()}

    listed = store.list_runs(conversation_id=cid)
    assert sorted(r.id for r in listed) == sorted(run_id_for(cid, t) for t in ("Post-call CRM update", "Post-call log"))
    assert {r.status for r in listed} == {"pending"}
    for run in listed:
        assert dbos_rows(store, run.id) == [("ENQUEUED", store.queue_name, "postcall-runs-v1")]

    second = {"reason": "AGENT_HANGUP", "ended_at": ENDED + dt.timedelta(seconds=3)}
    assert store.record_end(cid, second, runs) is False
    conversation = store.get_conversation(cid)
    assert conversation is not None and conversation.end_reason == "CUSTOMER_HANGUP"
    assert len(store.list_runs(conversation_id=cid)) == 2
    history = store.history(cid)
    assert [a.type for a in history] == ["event", "endOfConversation", "endOfConversation"]
    assert history[-1].activity["duplicate"] is True
    assert history[-1].activity["end"]["reason"] == "AGENT_HANGUP"


def test_the_end_and_its_runs_commit_together_or_not_at_all(store: Store) -> None:
    cid = new_id()
    store.create_conversation(cid, agent="a", channel="twilio")
    good = RunSpec("good", "scripted", {})
    broken = RunSpec("broken", "scripted", {}, run_id="   ")  # DBOS refuses a blank workflow id
    with pytest.raises(Exception, match="workflow ID"):
        store.record_end(cid, {"reason": "CUSTOMER_HANGUP"}, [good, broken])
    conversation = store.get_conversation(cid)
    assert conversation is not None and conversation.status == "live"
    assert store.list_runs(conversation_id=cid) == []
    assert dbos_rows(store, run_id_for(cid, "good")) == []
    assert store.history(cid) == []
    assert store.record_end(cid, {"reason": "CUSTOMER_HANGUP"}, [good]) is True
    assert len(dbos_rows(store, run_id_for(cid, "good"))) == 1


def test_end_inside_a_turn_commits_with_the_turn(store: Store) -> None:
    cid = new_id()
    store.create_conversation(cid, agent="a", channel="twilio")
    with store.turn(cid) as turn:
        turn.save({"last": "goodbye"}, [NewActivity("out", "message", {"text": "Goodbye"})])
        assert turn.end({"reason": "AGENT_HANGUP"}, [RunSpec("log", "scripted", {})]) is True
    conversation = store.get_conversation(cid)
    assert conversation is not None and conversation.status == "ended" and conversation.state == {"last": "goodbye"}
    assert [a.type for a in store.history(cid)] == ["message", "endOfConversation"]
    assert [r.topic for r in store.list_runs(conversation_id=cid)] == ["log"]


def test_ending_an_unknown_conversation_is_an_error(store: Store) -> None:
    with pytest.raises(ConversationNotFoundError, match="No conversation"):
        store.record_end(new_id(), {"reason": "CUSTOMER_HANGUP"}, [])


def test_events_after_the_end_are_kept_in_the_history(store: Store) -> None:
    cid = new_id()
    store.create_conversation(cid, agent="a", channel="twilio")
    store.record_end(cid, {"reason": "CUSTOMER_HANGUP"}, [])
    store.append_activities(cid, [NewActivity("in", "event", {"name": "late"})])
    assert [a.type for a in store.history(cid)] == ["endOfConversation", "event"]
