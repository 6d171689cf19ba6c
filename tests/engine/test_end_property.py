"""Property: random interleavings of channel events end the conversation exactly once, by the rules."""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postcall.testing import Conversation

from .helpers import DATA, agent

EXPECTED: dict[str, list[str]] = yaml.safe_load((DATA / "end_matrix.yaml").read_text())
IDLE, MAX = 60, 600  # tests/engine/agents/matrix/agent.yaml

PHRASES = {
    "phone": "transfer me to the phone line",
    "agent": "connect me to an agent",
    "hangup": "please hang up now",
    "chat": "what is the weather like",
}

EVENTS = st.one_of(
    st.sampled_from(
        [
            ("say", "phone"), ("say", "agent"), ("say", "hangup"), ("say", "chat"),
            ("transfer", "answered"), ("transfer", "busy"), ("transfer", "failed"),
            ("transfer", "no-answer"), ("hang_up", ""), ("channel_error", ""), ("silence", ""),
            ("press", "5"), ("event", "custom"),
        ]
    ),
    st.tuples(st.just("advance"), st.sampled_from(["10", "30", "59", "61", "200", "700"])),
)


@dataclass
class Model:
    """The rules of docs/end-of-conversation.md, written as plainly as possible."""

    now: float = 0.0
    last_caller: float = 0.0
    ringing: str | None = None
    reason: str | None = None
    transfer_outcome: str | None = None

    def step(self, kind: str, arg: str) -> None:
        if self.reason is not None:
            return
        if kind == "advance":
            self.now += float(arg)
            if self.now >= MAX:
                self._end("MAX_DURATION", "canceled")
            elif self.now - self.last_caller >= IDLE:
                self._end("INACTIVITY_TIMEOUT", "canceled")
            return
        self.now += 5 if kind == "silence" else 1
        if kind == "hang_up":
            self._end("CUSTOMER_HANGUP", "abandoned")
        elif kind == "channel_error":
            self._end("CHANNEL_ERROR", "canceled")
        elif kind == "transfer":
            if self.ringing is None:
                return
            if arg == "answered":
                self.transfer_outcome = "answered"
                self.reason = "BLIND_TRANSFER" if self.ringing == "phone" else "CCAAS_TRANSFER"
            else:
                self.transfer_outcome = arg
                self.ringing = None
        elif kind in ("say", "press") and self.ringing is None:
            self.last_caller = self.now
            if kind == "say" and arg in ("phone", "agent"):
                self.ringing = arg
                self.transfer_outcome = None
            elif kind == "say" and arg == "hangup":
                self.reason = "AGENT_HANGUP"

    def _end(self, reason: str, ringing_outcome: str) -> None:
        self.reason = reason
        if self.ringing is not None:
            self.transfer_outcome = ringing_outcome


def drive(c: Conversation, kind: str, arg: str) -> None:
    if kind == "say":
        c.say(PHRASES[arg])
    elif kind == "transfer":
        c.transfer_result(arg)
    elif kind == "hang_up":
        c.hang_up()
    elif kind == "channel_error":
        c.channel_error()
    elif kind == "silence":
        c.silence()
    elif kind == "press":
        c.press(arg)
    elif kind == "event":
        c.event(arg)
    elif kind == "advance":
        c.advance(float(arg))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(EVENTS, max_size=14))
def test_exactly_one_end_whose_reason_follows_the_rules(events: list[tuple[str, str]]) -> None:
    c = Conversation(agent("matrix"), conversation_id="prop")
    model = Model()
    c.start()
    for kind, arg in [*events, ("hang_up", ""), ("hang_up", "")]:
        drive(c, kind, arg)
        model.step(kind, arg)
        assert (c.end is None) == (model.reason is None)
    assert c.end is not None
    assert sum(1 for r in c.results if r.end is not None) == 1
    assert c.end.reason == model.reason
    if model.transfer_outcome is None:
        assert c.end.transfer is None or c.end.transfer.outcome != "answered"
    else:
        assert c.end.transfer is not None and c.end.transfer.outcome == model.transfer_outcome
    assert [r.topic for r in c.post_call_runs] == EXPECTED[model.reason]
    assert c.state.end is not None and c.state.stack == [] and c.state.pending is None
