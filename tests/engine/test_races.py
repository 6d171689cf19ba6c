"""Races and faults around the end: exactly one end, whatever arrives in whatever order."""

from __future__ import annotations

import datetime as dt

import pytest

from postcall.actions import ActionResult
from postcall.engine import Engine
from postcall.engine.activity import Activity, Say
from postcall.vocabulary import ActivityType, ChannelEvent, EndReason

from .helpers import agent, conversation

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def test_a_second_hang_up_is_recorded_and_ignored() -> None:
    c = conversation("matrix")
    c.start()
    first = c.hang_up("completed")
    second = c.hang_up("completed-again")
    assert first is second
    assert c.end is not None and c.end.raw == "completed"
    assert sum(1 for r in c.results if r.end is not None) == 1
    assert [r.topic for r in c.post_call_runs] == ["PC CUSTOMER_HANGUP", "PC any"]
    ignored = c.state.ignored[-1]
    assert ignored["type"] == "endOfConversation" and ignored["why"] == "the conversation has ended"


def test_hang_up_while_the_transfer_rings_is_customer_hangup_with_transfer_abandoned() -> None:
    c = conversation("matrix")
    c.start()
    c.say("transfer me to the phone line")
    assert len(c.transfers) == 1 and not c.ended
    c.hang_up()
    assert c.end is not None
    assert c.end.reason == EndReason.CUSTOMER_HANGUP
    assert c.end.transfer is not None and c.end.transfer.outcome == "abandoned"
    assert c.end.transfer.target == "+15550001111"
    c.transfer_result("answered")  # the late answer changes nothing
    assert c.end.reason == EndReason.CUSTOMER_HANGUP
    assert c.state.ignored[-1]["why"] == "the conversation has ended"
    assert c.end_snapshot is not None
    assert c.end_snapshot["system"]["Transfer.Outcome"] == "abandoned"


@pytest.mark.parametrize("outcome", ["busy", "no-answer", "failed"])
def test_a_failed_transfer_gives_control_back_to_the_agent(outcome: str) -> None:
    c = conversation("matrix")
    c.start()
    c.say("transfer me to the phone line")
    replies = c.transfer_result(outcome, raw=f"dial:{outcome}")
    assert replies == [f"Back with you: the transfer was {outcome} (dial:{outcome})."]
    assert not c.ended
    assert c.listening is not None
    c.say("connect me to an agent")  # a second transfer works
    c.transfer_result("answered")
    assert c.end is not None and c.end.reason == EndReason.CCAAS_TRANSFER
    assert c.end.transfer is not None and c.end.transfer.kind == "agent"


def test_an_answered_transfer_ends_and_a_later_hang_up_is_ignored() -> None:
    c = conversation("matrix")
    c.start()
    c.say("transfer me to the phone line")
    c.transfer_result("answered")
    c.hang_up()
    assert c.end is not None and c.end.reason == EndReason.BLIND_TRANSFER
    assert c.end.initiator == "agent"
    assert c.end.transfer is not None and c.end.transfer.outcome == "answered"
    assert len(c.post_call_runs) == 4


def test_caller_speech_while_the_transfer_rings_is_kept_but_ignored() -> None:
    c = conversation("matrix")
    c.start()
    c.say("transfer me to the phone line")
    assert c.say("hello? anyone?") == []
    assert c.state.ignored[-1]["why"] == "a transfer is in progress"
    assert c.state.ignored[-1]["text"] == "hello? anyone?"
    assert c.transfer_result("busy")[0].startswith("Back with you")


def test_transfer_results_without_a_transfer_are_ignored() -> None:
    c = conversation("matrix")
    c.start()
    assert c.transfer_result("answered") == []
    assert not c.ended
    assert c.state.ignored[-1]["why"] == "no transfer is in progress"


def test_activities_after_the_end_trigger_nothing() -> None:
    c = conversation("matrix")
    c.start()
    c.say("please hang up now")
    assert c.end is not None and c.end.reason == EndReason.AGENT_HANGUP
    outputs_before = len(c.outputs)
    assert c.say("transfer me to the phone line") == []
    c.press("1")
    c.silence()
    c.event("custom.event", {"x": 1})
    assert len(c.outputs) == outputs_before
    assert [i["type"] for i in c.state.ignored[-4:]] == ["message", "message", "event", "event"]
    assert all(i["why"] == "the conversation has ended" for i in c.state.ignored[-4:])
    assert len(c.post_call_runs) == 3


def test_the_idle_watchdog_ends_a_silent_conversation() -> None:
    c = conversation("matrix")
    c.start()
    engine = c.engine
    assert engine.watchdog_due(c.state, c.clock.now()) is None
    deadline = engine.next_deadline(c.state)
    assert deadline == c.state.last_caller_at + dt.timedelta(seconds=60)  # type: ignore[operator]
    c.advance(59)
    assert not c.ended
    c.advance(1)
    assert c.end is not None and c.end.reason == EndReason.INACTIVITY_TIMEOUT
    assert c.end.initiator == "system" and c.end.source == "watchdog"
    assert engine.watchdog_due(c.state, c.clock.now() + dt.timedelta(hours=5)) is None


def test_the_duration_watchdog_ends_a_long_conversation_even_while_a_transfer_rings() -> None:
    c = conversation("matrix")
    c.start()
    for _ in range(19):
        c.say("still here")
        c.advance(30)
    assert not c.ended
    c.say("transfer me to the phone line")
    c.advance(30)
    assert c.end is not None and c.end.reason == EndReason.MAX_DURATION
    assert c.end.transfer is not None and c.end.transfer.outcome == "canceled"


def _activity(kind: ActivityType, n: int, **fields: object) -> Activity:
    return Activity(type=kind, id=f"a{n}", timestamp=T0, **fields)  # type: ignore[arg-type]


def test_hang_up_during_a_backend_action_ends_and_the_late_result_is_ignored() -> None:
    engine = Engine(agent("matrix"))
    state = engine.new_state("c1", now=T0)
    state = engine.turn(state, _activity(ActivityType.CONVERSATION_UPDATE, 1), now=T0).state
    result = engine.turn(state, _activity(ActivityType.MESSAGE, 2, text="look something up"), now=T0)
    assert [o.text for o in result.outputs if isinstance(o, Say)] == ["One moment."]
    assert result.pending is not None and result.pending.kind == "http"
    assert result.pending.idempotency_key == "c1:Lookup:httpRequest_lookup"
    assert result.state.waiting_for == "action"
    # The caller speaks while the action runs: kept, ignored.
    spoke = engine.turn(result.state, _activity(ActivityType.MESSAGE, 3, text="hello"), now=T0)
    assert spoke.ignored and spoke.state.pending is not None
    hung = engine.turn(
        spoke.state,
        _activity(ActivityType.END_OF_CONVERSATION, 4, value={"initiator": "caller"}),
        now=T0 + dt.timedelta(seconds=2),
    )
    assert hung.end is not None and hung.end.reason == EndReason.CUSTOMER_HANGUP
    assert hung.state.pending is None
    late = engine.resume(hung.state, ActionResult(ok=True, status_code=200, json={"name": "x"}), now=T0)
    assert late.ignored and late.end is None and late.outputs == []


def test_resume_continues_the_same_turn() -> None:
    engine = Engine(agent("matrix"))
    state = engine.new_state("c2", now=T0)
    state = engine.turn(state, _activity(ActivityType.CONVERSATION_UPDATE, 1), now=T0).state
    result = engine.turn(state, _activity(ActivityType.MESSAGE, 2, text="look something up"), now=T0)
    assert result.pending is not None
    done = engine.resume(result.state, ActionResult(ok=True, status_code=200, json={"name": "Ada"}), now=T0)
    assert [o.text for o in done.outputs if isinstance(o, Say)] == ["Found Ada."]
    assert done.pending is None and done.state.waiting_for == "caller"


def test_a_channel_end_claiming_a_transfer_while_one_rings_is_the_transfer() -> None:
    engine = Engine(agent("matrix"))
    state = engine.new_state("c3", now=T0)
    state = engine.turn(state, _activity(ActivityType.CONVERSATION_UPDATE, 1), now=T0).state
    state = engine.turn(state, _activity(ActivityType.MESSAGE, 2, text="transfer me to the phone line"), now=T0).state
    result = engine.turn(
        state,
        _activity(ActivityType.END_OF_CONVERSATION, 3, value={"reason": "BLIND_TRANSFER", "raw": "completed"}),
        now=T0,
    )
    assert result.end is not None and result.end.reason == EndReason.BLIND_TRANSFER
    assert result.end.transfer is not None and result.end.transfer.outcome == "answered"


def test_a_channel_end_claiming_a_transfer_without_one_is_a_channel_error() -> None:
    engine = Engine(agent("matrix"))
    state = engine.new_state("c4", now=T0)
    result = engine.turn(
        state, _activity(ActivityType.END_OF_CONVERSATION, 1, value={"reason": "CCAAS_TRANSFER"}), now=T0
    )
    assert result.end is not None and result.end.reason == EndReason.CHANNEL_ERROR


def test_the_watchdog_event_names_its_reason() -> None:
    engine = Engine(agent("matrix"))
    state = engine.new_state("c5", now=T0)
    result = engine.turn(
        state,
        _activity(ActivityType.EVENT, 1, name=str(ChannelEvent.WATCHDOG), value={"reason": "MAX_DURATION"}),
        now=T0,
    )
    assert result.end is not None and result.end.reason == EndReason.MAX_DURATION
    assert result.end_activity is not None
    assert result.end_activity.type == ActivityType.END_OF_CONVERSATION
    assert result.end_activity.value["reason"] == "MAX_DURATION"
    assert result.end_activity.value["detail"]["initiator"] == "system"


def test_turns_do_not_change_the_state_they_are_given() -> None:
    engine = Engine(agent("matrix"))
    state = engine.new_state("c6", now=T0)
    before = state.to_json()
    engine.turn(state, _activity(ActivityType.CONVERSATION_UPDATE, 1), now=T0)
    engine.turn(state, _activity(ActivityType.END_OF_CONVERSATION, 2), now=T0)
    assert state.to_json() == before


def test_a_slow_backend_node_offers_its_latency_message() -> None:
    engine = Engine(agent("voice"))
    state = engine.new_state("c7", now=T0)
    result = engine.turn(state, _activity(ActivityType.MESSAGE, 1, text="fetch the record"), now=T0)
    assert result.pending is not None
    assert result.latency_message is not None
    assert result.latency_message.say.text == "Just a moment while I look that up."
    assert (result.latency_message.delay_ms, result.latency_message.minimum_playback_ms) == (1500, 2000)
    done = engine.resume(result.state, ActionResult(ok=True, status_code=200, json={"id": 5}), now=T0)
    assert done.latency_message is None
