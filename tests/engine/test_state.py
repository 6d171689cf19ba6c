"""Conversation state as JSON: a conversation resumed in another process carries on exactly."""

from __future__ import annotations

import datetime as dt
import json

from postcall.actions import ActionResult
from postcall.engine import ConversationState, Engine
from postcall.engine.activity import Activity, output_to_json
from postcall.engine.values import decode, encode
from postcall.powerfx.values import Color, OptionValue, Record, Table, Value
from postcall.testing import load
from postcall.vocabulary import ActivityType, ChannelEvent

from .helpers import AGENTS, agent

T0 = dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)

SCRIPT = [
    (ActivityType.CONVERSATION_UPDATE, {}),
    (ActivityType.MESSAGE, {"text": "main menu"}),
    (ActivityType.MESSAGE, {"text": "pizza"}),
    (ActivityType.MESSAGE, {"dtmf": "2"}),
    (ActivityType.MESSAGE, {"text": "count the items"}),
    (ActivityType.MESSAGE, {"text": "confirm my booking"}),
    (ActivityType.EVENT, {"name": str(ChannelEvent.SILENCE)}),
    (ActivityType.MESSAGE, {"text": "let me speak to a human"}),
    (ActivityType.MESSAGE, {"text": "yes"}),
    (ActivityType.MESSAGE, {"text": "fetch the record"}),
    (ActivityType.MESSAGE, {"text": "old style transfer"}),
    (ActivityType.EVENT, {"name": str(ChannelEvent.TRANSFER_RESULT), "value": {"outcome": "busy"}}),
    (ActivityType.END_OF_CONVERSATION, {"value": {"initiator": "caller"}}),
]


def _run(through_json: bool) -> list[list[dict[str, object]]]:
    engine = Engine(agent("voice"))
    state = engine.new_state("s1", now=T0)
    transcript: list[list[dict[str, object]]] = []
    for i, (kind, fields) in enumerate(SCRIPT):
        now = T0 + dt.timedelta(seconds=i)
        activity = Activity(type=kind, id=f"a{i}", timestamp=now, **fields)  # type: ignore[arg-type]
        if through_json:  # a new process: fresh agent, fresh engine, state from JSON text
            engine = Engine(load(AGENTS / "voice"))
            state = ConversationState.from_json(json.loads(json.dumps(state.to_json())))
        result = engine.turn(state, activity, now=now)
        outputs = [output_to_json(o) for o in result.outputs]
        while result.pending is not None:
            if through_json:
                engine = Engine(load(AGENTS / "voice"))
                result_state = ConversationState.from_json(json.loads(json.dumps(result.state.to_json())))
            else:
                result_state = result.state
            result = engine.resume(
                result_state, ActionResult(ok=True, status_code=200, json={"id": "r-7"}), now=now
            )
            outputs += [output_to_json(o) for o in result.outputs]
        transcript.append(outputs)
        state = result.state
    assert state.end is not None
    return transcript


def test_a_conversation_resumed_from_json_each_turn_says_the_same() -> None:
    direct = _run(through_json=False)
    resumed = _run(through_json=True)
    assert resumed == direct
    said = [o["text"] for turn in direct for o in turn if o["type"] == "Say"]
    assert "Record r-7." in said and "You chose Support." in said


def test_state_round_trip_keeps_types() -> None:
    values: list[Value] = [
        None, True, 3, 2.5, "x", dt.date(2026, 1, 2), dt.datetime(2026, 1, 2, 3, 4, 5),
        dt.timedelta(hours=1, minutes=2), Record([("a", 1), ("b", Record([("c", Table.of_values([1]))]))]),
        Table([Record({"Value": 1}), Record({"Value": 2})]), float("inf"),
        Color(255, 0, 0, 128), OptionValue("Size", "cr_s", None, "Small"), OptionValue("StartOfWeek", "Monday", 2.0),
    ]
    for value in values:
        assert decode(json.loads(json.dumps(encode(value)))) == value
    size = decode(json.loads(json.dumps(encode(OptionValue("Size", "cr_s", None, "Small")))))
    assert isinstance(size, OptionValue) and size.label == "Small"  # what Text() shows survives a save


def test_waiting_for_says_what_the_conversation_waits_for() -> None:
    engine = Engine(agent("voice"))
    state = engine.new_state("s2", now=T0)
    assert state.waiting_for == "caller"
    r = engine.turn(state, Activity(type=ActivityType.MESSAGE, id="1", timestamp=T0, text="fetch the record"), now=T0)
    assert r.state.waiting_for == "action"
    r = engine.turn(r.state, Activity(type=ActivityType.END_OF_CONVERSATION, id="2", timestamp=T0), now=T0)
    assert r.state.waiting_for == "end"
    assert r.state.end_snapshot()["end"]["reason"] == "CUSTOMER_HANGUP"


def test_a_newer_state_version_is_refused_clearly() -> None:
    import pytest

    from postcall.errors import EngineError

    engine = Engine(agent("voice"))
    data = engine.new_state("s3", now=T0).to_json()
    data["version"] = 99
    with pytest.raises(EngineError, match="version 99"):
        ConversationState.from_json(data)
    with pytest.raises(EngineError, match="not a conversation state"):
        ConversationState.from_json({"hello": 1})
