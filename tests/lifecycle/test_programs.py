"""The lifecycle -> durable hand-off: the engine names the post-call topics, the lifecycle makes one
typed `TopicRunInput` per topic, the durable layer stores its JSON, and a `TopicProgram` built
from that JSON asks for the same requests as the engine's own `PostCallProgram`."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from engine.helpers import agent
from postcall.actions import ActionResult
from postcall.engine import Engine, PostCallProgram
from postcall.engine.activity import Activity
from postcall.errors import ConfigError
from postcall.lifecycle.programs import PROGRAM, TopicProgram, TopicRunInput, topic_runs
from postcall.vocabulary import ActivityType

T0 = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC)
OK = ActionResult(ok=True, status_code=201, json={"id": "x1"})


def _ended() -> tuple[Engine, tuple[str, ...], dict[str, object]]:
    engine = Engine(agent("postcall"))
    state = engine.new_state("hand-off-1", now=T0)
    state = engine.turn(state, Activity(type=ActivityType.CONVERSATION_UPDATE, id="1", timestamp=T0), now=T0).state
    end = T0 + dt.timedelta(seconds=30)
    result = engine.turn(state, Activity(type=ActivityType.END_OF_CONVERSATION, id="2", timestamp=end,
                                         value={"initiator": "caller"}), now=end)
    assert result.end_snapshot is not None
    return engine, result.post_call_topics, dict(result.end_snapshot)


def test_the_ending_turn_names_the_topics_and_each_becomes_one_typed_run() -> None:
    engine, topics, snapshot = _ended()
    assert topics == ("Loop calls", "Chatty", "Raises", "Flows")  # the engine selected them
    runs = topic_runs(topics, snapshot)
    assert [(r.topic, r.program) for r in runs] == [(t, PROGRAM) for t in topics]
    stored = [json.loads(json.dumps(r.input)) for r in runs]  # what the durable layer keeps
    assert [TopicRunInput.from_json(s) for s in stored] == [TopicRunInput(t, snapshot) for t in topics]


def test_a_topic_program_from_stored_json_asks_what_the_engine_would() -> None:
    engine, topics, snapshot = _ended()
    stored = json.loads(json.dumps(topic_runs(["Loop calls"], snapshot)[0].input))
    ours = TopicProgram(agent("postcall"), engine, stored)
    theirs = PostCallProgram(agent("postcall"), "Loop calls", snapshot, engine=engine)
    asked, expected = ours.start(), theirs.start()
    while expected is not None:
        assert asked is not None and asked.to_json() == expected.to_json()
        asked, expected = ours.resume(OK), theirs.resume(OK)
    assert asked is None and ours.outcome()["status"] == theirs.outcome()["status"] == "succeeded"


@pytest.mark.parametrize(
    ("stored", "says"),
    [
        ({}, "no topic name"),
        ({"topic": ""}, "no topic name"),
        ({"topic": "Chatty"}, "'Chatty' has no end snapshot"),
        ({"topic": "Chatty", "end_snapshot": "oops"}, "'Chatty' has no end snapshot"),
    ],
)
def test_a_malformed_stored_input_is_refused_naming_what_it_lacks(stored: dict[str, object], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        TopicRunInput.from_json(stored)
