"""Whatever a caller says or keys, a turn never raises: it answers, waits or ends."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postcall.engine.activity import HangUp, Listen, Transfer
from postcall.testing import Conversation

from .helpers import agent

PHRASES = [
    "main menu", "verify my age", "confirm my booking", "ask for my name", "count the items",
    "redirect me please", "count down", "edit the list", "break something", "emit an event",
    "let me speak to a human", "test silence hang up", "fetch the record", "old style transfer",
]
INPUTS = st.one_of(
    st.tuples(st.just("say"), st.sampled_from(PHRASES)),
    st.tuples(st.just("say"), st.text(max_size=40)),
    st.tuples(st.just("press"), st.text(alphabet="0123456789#*", min_size=1, max_size=10)),
    st.tuples(st.just("silence"), st.just("")),
    st.tuples(st.just("unrecognized"), st.just("")),
    st.tuples(st.just("transfer"), st.sampled_from(["busy", "failed", "weird-outcome"])),
    st.tuples(st.just("event"), st.text(max_size=10)),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(INPUTS, max_size=12))
def test_any_input_gets_a_reply_a_wait_or_an_end(inputs: list[tuple[str, str]]) -> None:
    c = Conversation(agent("voice"), conversation_id="fuzz")
    c.start()
    for kind, value in inputs:
        if kind == "say":
            c.say(value)
        elif kind == "press":
            c.press(value)
        elif kind == "silence":
            c.silence()
        elif kind == "unrecognized":
            c.unrecognized()
        elif kind == "transfer":
            c.transfer_result(value)
        else:
            c.event(value, {"n": 1})
        last = c.results[-1]
        if last.ignored:
            continue
        assert last.outputs, "a turn that was not ignored produced nothing"
        assert isinstance(last.outputs[-1], (Listen, Transfer, HangUp)) or last.end is not None
    assert not any(e.code == "RUN459" for r in c.results for e in r.log)
