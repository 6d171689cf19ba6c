"""Which post-call topics run after an end: the engine puts them in the turn result that ends a call.

Below `engine.py` (it needs only an `EngineView`), so that the engine can select the topics
itself; `postcall.py` offers the same with a default engine for callers that have none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from postcall.engine.ending import EndRecord, TransferDetail
from postcall.engine.interpreter import EngineView, Runner
from postcall.engine.state import ConversationState, EndSnapshot, _vars_from_json
from postcall.engine.triggers import condition_holds
from postcall.errors import EngineError
from postcall.topics.agent import Agent
from postcall.topics.model import Topic


def state_from_snapshot(agent_name: str, snapshot: EndSnapshot | Mapping[str, Any]) -> ConversationState:
    """A conversation state as at the end, from `ConversationState.end_snapshot()`.

    It may come back from storage: a missing or malformed field is an EngineError naming it."""
    try:
        end = EndRecord.from_json(snapshot["end"])
        transfer = snapshot.get("transfer")
        state = ConversationState(
            conversation_id=str(snapshot["conversation_id"]),
            agent=str(snapshot.get("agent") or agent_name),
            started_at=dt.datetime.fromisoformat(snapshot["started_at"]),
            channel_id=str(snapshot.get("channel_id", "test")),
            in_test_mode=bool(snapshot.get("in_test_mode", False)),
            user_id=snapshot.get("user_id"),
            user_name=snapshot.get("user_name"),
            started=True,
            globals=_vars_from_json(snapshot.get("globals")),
            system=_vars_from_json(snapshot.get("system")),
            transfer=TransferDetail.from_json(transfer) if transfer else None,
            end=None,
            entropy=str(snapshot.get("entropy") or ""),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise EngineError(f"The end snapshot is incomplete or malformed: {exc!r}.") from exc
    state.activity = end.activity(state.conversation_id, state.channel_id).to_json()
    state.end = end
    return state


def _post_call_topics(agent: Agent) -> list[Topic]:
    found = [t for t in agent.topics.values() if t.trigger.is_end_of_conversation and t.trigger.supported]
    return sorted(found, key=lambda t: (t.trigger.priority, t.name))


def explain_selection(agent: Agent, end_snapshot: EndSnapshot, engine: EngineView) -> list[dict[str, Any]]:
    """Every post-call topic with whether it runs for this end and why (log lines)."""
    state = state_from_snapshot(agent.name, end_snapshot)
    assert state.end is not None
    runner = Runner(engine, state, now=state.end.ended_at, mode="postcall")
    out: list[dict[str, Any]] = []
    for topic in _post_call_topics(agent):
        before = len(runner.log)
        selected = condition_holds(runner, topic, topic.trigger)
        out.append(
            {
                "topic": topic.name,
                "selected": selected,
                "priority": topic.trigger.priority,
                "condition": topic.trigger.condition.text if topic.trigger.condition else None,
                "log": [str(e) for e in runner.log[before:]],
            }
        )
    return out


def select_topics(agent: Agent, end_snapshot: EndSnapshot, engine: EngineView) -> list[str]:
    """Names of the post-call topics to run for this end, in the order to run them."""
    return [e["topic"] for e in explain_selection(agent, end_snapshot, engine) if e["selected"]]
