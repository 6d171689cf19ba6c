"""A turn worked out again reuses the recogniser's first decision instead of asking again.

The lifecycle works a step out again when another turn of the conversation was saved between
the working-out and the write (lifecycle/session.py `_step`); a provider's repeated delivery is
answered from the saved reply.  Neither may ask an llm or http recogniser a second time: the
endpoint could answer otherwise (or be down), and the first answer is the one that stands.
Against the real servers of test_remote.py (the OpenAI-protocol server, the signed NLU) and a
real SQLite store; the interleaved turn is saved from inside the endpoint's answer, so the
conflict happens every time without waiting for anything.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from postcall.channels.base import message_activity
from postcall.clock import FixedClock
from postcall.devtools.openai_server import OpenAIServer
from postcall.engine import Engine
from postcall.engine.activity import Say
from postcall.engine.recognizer import Decision, IntentCandidate, IntentMatch, Recognition
from postcall.lifecycle.runtime import Runtime, open_runtime
from postcall.lifecycle.session import TurnOutcome
from postcall.store import NewActivity
from postcall.vocabulary import StoredKind
from understanding.test_remote import NluServer, agent_dir, choice, intents, load

START = dt.datetime(2026, 12, 6, 9, 0, tzinfo=dt.UTC)
SAID = "the thing I bought broke and I want what I paid"


def _run(coro: Coroutine[Any, Any, TurnOutcome]) -> TurnOutcome:
    return asyncio.run(coro)


def _said(outcome: TurnOutcome) -> list[str]:
    return [o.text for o in outcome.outputs if isinstance(o, Say)]


# ---------------------------------------------------------------------------------------------
# the engine: decisions out, recorded decisions back in


class Answering:
    """A recogniser whose answer the test sets, counting what it is asked."""

    name = "answering"
    strong = 0.8

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.asked: list[tuple[str, tuple[str, ...]]] = []

    def prepare(self, candidates: Sequence[IntentCandidate]) -> None:
        pass

    def decide(self, text: str, candidates: Sequence[IntentCandidate]) -> Recognition:
        self.asked.append((text, tuple(c.topic for c in candidates)))
        match = IntentMatch(self.topic, 0.9, "")
        return Recognition("match", (match,), (match,), f"said {self.topic}", self.name)

    def recognize(self, text: str, candidates: Sequence[IntentCandidate]) -> list[IntentMatch]:
        return list(self.decide(text, candidates).chosen)


def _message(text: str) -> Any:
    return message_activity("m1", START, channel_id="test", text=text)


def test_the_engine_reuses_a_recorded_decision_for_the_same_words_and_candidates(tmp_path: Path) -> None:
    rec = Answering("Refund")
    engine = Engine(load(agent_dir(tmp_path, "  kind: lexical\n")), recognizer=rec)
    state = engine.new_state("c1", now=START)
    first = engine.turn(state, _message(SAID), now=START)
    assert [d.recognition.chosen[0].topic for d in first.decisions] == ["Refund"]
    assert first.decisions[0].text == SAID and set(first.decisions[0].topics) == {"Refund", "Order status", "Opening hours"}

    rec.topic = "Order status"  # asked again, the recogniser would now say otherwise
    again = engine.turn(state, _message(SAID), now=START, recorded=first.decisions)
    assert len(rec.asked) == 1
    assert again.recognitions == first.recognitions and again.decisions == first.decisions
    assert [o.text for o in again.outputs if isinstance(o, Say)] == ["Your refund is on its way."]


def test_a_recorded_decision_answers_only_its_own_question(tmp_path: Path) -> None:
    rec = Answering("Refund")
    engine = Engine(load(agent_dir(tmp_path, "  kind: lexical\n")), recognizer=rec)
    state = engine.new_state("c1", now=START)
    first = engine.turn(state, _message(SAID), now=START)
    rec.topic = "Order status"
    other_words = engine.turn(state, _message("where is my parcel"), now=START, recorded=first.decisions)
    assert other_words.recognitions[0].chosen[0].topic == "Order status"
    fewer = [Decision(d.text, d.topics[:1], d.recognition) for d in first.decisions]  # another question
    other_candidates = engine.turn(state, _message(SAID), now=START, recorded=fewer)
    assert other_candidates.recognitions[0].chosen[0].topic == "Order status"
    assert len(rec.asked) == 3


# ---------------------------------------------------------------------------------------------
# the lifecycle: a step worked out again, a delivery repeated


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIServer]:
    monkeypatch.setenv("POSTCALL_MODEL_API_KEY", "sk-test")
    with OpenAIServer(api_key="sk-test") as server:
        yield server


@pytest.fixture
def nlu(monkeypatch: pytest.MonkeyPatch) -> Iterator[NluServer]:
    monkeypatch.setenv("SHOP_NLU_SECRET", "nlu-secret")
    server = NluServer()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _open(tmp_path: Path, recognizer_yaml: str, extra: str) -> Runtime:
    root = agent_dir(tmp_path / "shop", recognizer_yaml, "allowed_hosts: ['127.0.0.1']\n" + extra)
    return open_runtime(root, database_url=f"sqlite:///{tmp_path / 'postcall.sqlite'}", clock=FixedClock(START))


def _another_turn_saved(rt: Runtime, cid: str) -> Callable[[], None]:
    """Saves a turn of another event of `cid` (as another process would): the step being worked
    out finds the conversation's version moved when it writes, and works itself out again."""

    def save() -> None:
        conv = rt.store.get_conversation(cid)
        assert conv is not None and conv.state is not None
        state = dict(conv.state)
        book = dict(state["_lifecycle"])
        book["seen"] = {**book["seen"], "other-event": {"outputs": [], "turn": book["turn"]}}
        state["_lifecycle"] = book
        rt.store.save_turn(cid, state=state, activities=[NewActivity("in", "event", {"name": "other"})],
                           expected_version=conv.version)

    return save


def _recognitions(rt: Runtime, cid: str) -> list[dict[str, Any]]:
    return [a.activity for a in rt.store.history(cid) if a.type == StoredKind.RECOGNITION]


def test_the_models_first_decision_stands_when_the_step_is_worked_out_again(tmp_path: Path, model: OpenAIServer) -> None:
    rt = _open(tmp_path, "  kind: llm\n  timeout_seconds: 5\n",
               f"model:\n  base_url: {model.base_url}\n  model: local-model\n")
    cid = "CA-replay-llm"
    interleave = _another_turn_saved(rt, cid)
    asked: list[str] = []

    def answer(body: dict[str, Any]) -> str:
        asked.append(body["messages"][-1]["content"])
        if len(asked) == 1:
            interleave()  # while this turn waits for the model, another turn is saved
            return choice("match", ["Refund"], 0.93, "wants money back")
        return choice("match", ["Order status"], 0.95, "changed its mind")

    model.responder = answer
    try:
        _run(rt.sessions.start(cid, channel="test", event_id="start"))
        outcome = _run(rt.sessions.handle(cid, message_activity("e2", START, channel_id="test", text=SAID),
                                          event_id="e2"))
        assert _said(outcome) == ["Your refund is on its way."]
        assert asked == [SAID]  # worked out twice, asked once
        conv = rt.store.get_conversation(cid)
        assert conv is not None and conv.state is not None
        assert "other-event" in conv.state["_lifecycle"]["seen"]  # it was worked out again on top of that turn
        [recorded] = _recognitions(rt, cid)
        assert (recorded["recognizer"], recorded["outcome"], recorded["chosen"]) == ("llm", "match", ["Refund"])
        assert recorded["candidates"][0] == {"topic": "Refund", "score": 0.93, "phrase": ""}
        assert "wants money back" in str(recorded["reason"])

        # The provider delivers the same event again: answered from the record, nothing asked.
        again = _run(rt.sessions.handle(cid, message_activity("e2", START, channel_id="test", text=SAID),
                                        event_id="e2"))
        assert again.duplicate and _said(again) == ["Your refund is on its way."]
        assert asked == [SAID] and len(_recognitions(rt, cid)) == 1
    finally:
        rt.close()


def test_the_nlus_first_decision_stands_when_it_is_down_for_the_second_working_out(
    tmp_path: Path, nlu: NluServer
) -> None:
    rt = _open(tmp_path, f"  kind: http\n  url: {nlu.url}\n  secret_env: SHOP_NLU_SECRET\n  timeout_seconds: 5\n", "")
    cid = "CA-replay-http"
    interleave = _another_turn_saved(rt, cid)
    scored = intents(("Refund", 0.91), ("Order status", 0.2))

    def answer(body: dict[str, Any]) -> tuple[int, bytes]:
        interleave()
        nlu.answer = lambda body: (503, b"{}")  # down from now on
        return scored(body)

    nlu.answer = answer
    try:
        _run(rt.sessions.start(cid, channel="test", event_id="start"))
        outcome = _run(rt.sessions.handle(cid, message_activity("e2", START, channel_id="test", text=SAID),
                                          event_id="e2"))
        assert _said(outcome) == ["Your refund is on its way."]
        assert len(nlu.requests) == 1
        conv = rt.store.get_conversation(cid)
        assert conv is not None and conv.state is not None and "other-event" in conv.state["_lifecycle"]["seen"]
        [recorded] = _recognitions(rt, cid)
        assert (recorded["recognizer"], recorded["chosen"]) == ("http", ["Refund"])
        assert [c["score"] for c in recorded["candidates"]] == [0.91, 0.2]
    finally:
        rt.close()
