"""The System variables of docs/engine.md, as topics read them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from postcall.clock import FixedClock
from postcall.engine.activity import Activity
from postcall.engine.variables import system_record
from postcall.powerfx.values import Record
from postcall.testing import Conversation
from postcall.vocabulary import SYSTEM_VARIABLES, ActivityType, is_system_path

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


def _leaves(record: Record, prefix: str = "") -> set[str]:
    out: set[str] = set()
    for name, value in record.fields.items():
        path = f"{prefix}{name}"
        if isinstance(value, Record) and SYSTEM_VARIABLES.get(path) not in ("Record", "Any"):
            out |= _leaves(value, path + ".")
        else:
            out.add(path)
    return out


def test_the_vocabulary_lists_exactly_the_system_variables_the_engine_provides() -> None:
    # postcall.vocabulary.SYSTEM_VARIABLES is what `postcall check` compares System.<path>
    # reads with (TPC236); it must be what the engine gives topics.
    c = Conversation(agent("matrix"), conversation_id="sys-3")
    c.start()
    c.say("hello there")
    c.hang_up("completed")
    record = system_record(c.state, bot_name=c.agent.name)
    assert _leaves(record) == set(SYSTEM_VARIABLES)
    assert isinstance(record.get_field("Conversation").get_field("EndDetail"), Record)  # type: ignore[union-attr]
    for path in SYSTEM_VARIABLES:
        assert is_system_path(path)
    assert is_system_path("Activity.From") and is_system_path("Activity.Value.orderId")
    assert is_system_path("Conversation.EndDetail.Reason")
    assert not is_system_path("Activity.Txt") and not is_system_path("Conversation.Id.x")


def test_docs_table_names_every_system_variable() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "engine.md").read_text(encoding="utf-8")
    table = docs.split("### System variables", 1)[1].split("###", 1)[0]
    for path in SYSTEM_VARIABLES:
        first, _, rest = path.partition(".")
        # A row may list siblings: `System.Activity.Id` / `.Type` / `.From.Name`.
        assert f"`System.{path}`" in table or (
            f"`System.{first}." in table and f"`.{rest}`" in table
        ), path
