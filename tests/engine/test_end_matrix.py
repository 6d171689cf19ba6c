"""Every end reason against: no condition, a condition on each value, compound conditions."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import yaml

from postcall.engine import select_post_call_topics
from postcall.testing import Conversation
from postcall.vocabulary import EndReason

from .helpers import DATA, agent, conversation

EXPECTED: dict[str, list[str]] = yaml.safe_load((DATA / "end_matrix.yaml").read_text())


def _customer_hangup(c: Conversation) -> None:
    c.hang_up()


def _blind(c: Conversation) -> None:
    c.say("transfer me to the phone line")
    c.transfer_result("answered")


def _ccaas(c: Conversation) -> None:
    c.say("connect me to an agent")
    c.transfer_result("answered")


def _agent_hangup(c: Conversation) -> None:
    c.say("please hang up now")


def _inactivity(c: Conversation) -> None:
    c.advance(61)


def _max_duration(c: Conversation) -> None:
    while not c.ended:
        c.say("still here")
        c.advance(30)


def _channel_error(c: Conversation) -> None:
    c.channel_error("provider stopped reporting")


DRIVERS: dict[str, Callable[[Conversation], None]] = {
    "CUSTOMER_HANGUP": _customer_hangup,
    "BLIND_TRANSFER": _blind,
    "CCAAS_TRANSFER": _ccaas,
    "AGENT_HANGUP": _agent_hangup,
    "INACTIVITY_TIMEOUT": _inactivity,
    "MAX_DURATION": _max_duration,
    "CHANNEL_ERROR": _channel_error,
}


def test_the_matrix_covers_every_reason() -> None:
    assert set(EXPECTED) == set(DRIVERS) == {r.value for r in EndReason}


@pytest.mark.parametrize("reason", list(DRIVERS))
def test_post_call_topics_for_each_end_reason(reason: str) -> None:
    c = conversation("matrix", conversation_id=f"m-{reason}")
    c.start()
    DRIVERS[reason](c)
    assert c.end is not None
    assert c.end.reason == reason
    assert [run.topic for run in c.post_call_runs] == EXPECTED[reason]
    assert all(run.status == "succeeded" for run in c.post_call_runs)
    assert c.end_snapshot is not None
    assert select_post_call_topics(agent("matrix"), c.end_snapshot) == EXPECTED[reason]
    # exactly one End of conversation: every turn after it is ignored and ends nothing
    assert sum(1 for r in c.results if r.end is not None) == 1
    logged = [e for e in c.telemetry if e["properties"] and "Reason" in e["properties"]]
    assert {e["properties"]["Reason"] for e in logged} == {reason}
