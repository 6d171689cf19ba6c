"""The System variables of docs/engine.md, as topics read them."""

from __future__ import annotations

import datetime as dt

from postcall.clock import FixedClock
from postcall.engine.activity import Activity, ActivityType
from postcall.testing import Conversation

from .helpers import agent


def test_system_variables_in_a_call() -> None:
    clock = FixedClock(dt.datetime(2026, 2, 3, 4, 5, 6, tzinfo=dt.UTC))
    c = Conversation(agent("voice"), conversation_id="sys-1", clock=clock, channel_id="twilio")
    c.start()
    c.say("no idea at all")  # one fallback
    c.say("old style transfer")
    c.transfer_result("busy")
    c.send(
        Activity(
            type=ActivityType.MESSAGE, id="m-x", timestamp=clock.now(), text="dump the system variables",
            channel_id="twilio", from_name="Ada Caller",
        )
    )
    assert c.replies[-4:] == [
        "id=sys-1 alias=sys-1 test=true tz=UTC",
        "text=dump the system variables type=message channel=twilio last=dump the system variables",
        "fallbacks=0 bot=Voice Test user=Ada Caller transfers=1 outcome=busy",
        "end=true error= started=2026-02-03T04:05:06.000Z",
    ]


def test_end_variables_are_set_before_post_call_topics() -> None:
    c = Conversation(agent("matrix"), conversation_id="sys-2")
    c.start()
    c.hang_up("completed")
    assert c.end_snapshot is not None
    system = c.end_snapshot["system"]
    assert system["Conversation.EndReason"] == "CUSTOMER_HANGUP"
    assert system["Conversation.EndInitiator"] == "caller"
    assert system["Conversation.EndTime"] == {"$dt": "2026-01-01T12:00:01"}
    detail = system["Conversation.EndDetail"]["$r"]
    assert detail["Reason"] == "CUSTOMER_HANGUP" and detail["Raw"] == "completed"
    assert detail["Source"] == "channel" and detail["DurationSeconds"] == 1.0
