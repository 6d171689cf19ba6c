"""The Twilio call simulator against a real HTTP server on 127.0.0.1 speaking the Twilio channel.

Each scenario checks what the call ended as, and that it ended exactly once, however Twilio's
callbacks were repeated or reordered.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from postcall.channels.twilio import TwilioChannel
from postcall.channels.twilio_twiml import AgentTransferSettings
from postcall.devtools.twilio_simulator import (
    SimulatorOptions,
    TwilioSimulator,
    TwilioSimulatorError,
    run_simulated_call,
)
from postcall.engine.activity import EndReason

from .conftest import TOKEN
from .harness import Conversation, ScriptedRuntime, WebhookServer


class Setup:
    def __init__(self, runtime: ScriptedRuntime, server: WebhookServer) -> None:
        self.runtime, self.server = runtime, server

    def call(self, steps: list[tuple[str, str | None]], **options: object):
        call = run_simulated_call(self.server.url, TOKEN, steps, **options)  # type: ignore[arg-type]
        return call, self.runtime.conversations[call.call_sid]


def _serve(channel: TwilioChannel) -> Iterator[Setup]:
    runtime = ScriptedRuntime(twilio=channel, auth_token=TOKEN)
    with WebhookServer(runtime.handle_twilio) as server:
        yield Setup(runtime, server)
    assert runtime.unsigned == []  # RequestValidator accepted every request the simulator sent


@pytest.fixture
def setup() -> Iterator[Setup]:
    agent = AgentTransferSettings(mode="enqueue", workflow_sid="WW0123456789abcdef0123456789abcdef")
    yield from _serve(TwilioChannel(TOKEN, transfer_to_agent=agent, caller_id="+15005550006"))


def _ended_once(conv: Conversation, reason: EndReason) -> None:
    assert conv.end_reason == reason
    assert conv.end_signals >= 1


def test_caller_hangs_up(setup: Setup) -> None:
    call, conv = setup.call([("say", "What are your opening hours?"), ("hang-up", None)])
    _ended_once(conv, EndReason.CUSTOMER_HANGUP)
    assert call.ended_by == "caller"
    assert call.said_by("agent") == [
        "Hello, how can I help?",
        "You said: What are your opening hours?.",
    ]
    assert call.said_by("caller")[0] == "What are your opening hours?"
    assert conv.caller_lines == ["what are your opening hours?"]
    assert [r.path.rsplit("/", 1)[1] for r in call.requests] == ["voice", "gather", "status"]
    assert all(r.status == 200 for r in call.requests)


def test_speech_digits_and_silence(setup: Setup) -> None:
    call, conv = setup.call([("press", "42"), ("silence", None), ("say", "hello")])
    assert call.said_by("agent")[1:] == [
        "You pressed 42.",
        "Are you still there?",
        "You said: hello.",
    ]
    assert "Gather" in call.verbs
    _ended_once(conv, EndReason.CUSTOMER_HANGUP)  # the caller hung up after the last step


def test_transfer_to_a_number_is_answered(setup: Setup) -> None:
    call, conv = setup.call(
        [("say", "transfer me please"), ("transfer-result", "answered"), ("hang-up", None)]
    )
    _ended_once(conv, EndReason.BLIND_TRANSFER)
    assert "Dial" in call.verbs and "Number" in call.verbs
    paths = [r.path.rsplit("/", 1)[1] for r in call.requests]
    assert paths.index("dial-status") < paths.index(
        "dial"
    )  # the leg's answered callback came first
    assert not conv.transfer_abandoned


def test_busy_transfer_gives_the_call_back_to_the_agent(setup: Setup) -> None:
    call, conv = setup.call(
        [
            ("say", "transfer me"),
            ("transfer-result", "busy"),
            ("say", "never mind then"),
            ("hang-up", None),
        ]
    )
    _ended_once(conv, EndReason.CUSTOMER_HANGUP)
    assert "The transfer did not go through (busy). I can help you myself." in call.said_by("agent")
    assert call.said_by("agent")[-1] == "You said: never mind then."


@pytest.mark.parametrize("result", ["no-answer", "failed", "canceled"])
def test_other_failed_transfers_come_back(setup: Setup, result: str) -> None:
    call, conv = setup.call([("say", "transfer me"), ("transfer-result", result)])
    assert f"({result})" in call.said_by("agent")[-1]
    _ended_once(conv, EndReason.CUSTOMER_HANGUP)


def test_escalation_to_the_contact_centre(setup: Setup) -> None:
    call, conv = setup.call(
        [("say", "I want an agent"), ("transfer-result", "answered"), ("hang-up", None)]
    )
    _ended_once(conv, EndReason.CCAAS_TRANSFER)
    assert "Enqueue" in call.verbs
    paths = [r.path.rsplit("/", 1)[1] for r in call.requests]
    assert "enqueue-wait" in paths and "enqueue" in paths


def test_escalation_refused_by_a_full_queue_comes_back(setup: Setup) -> None:
    call, conv = setup.call(
        [("say", "agent"), ("transfer-result", "busy"), ("say", "fine"), ("hang-up", None)]
    )
    _ended_once(conv, EndReason.CUSTOMER_HANGUP)
    assert "(busy)" in " ".join(call.said_by("agent"))


def test_agent_hangs_up(setup: Setup) -> None:
    call, conv = setup.call([("say", "that is all, bye")])
    _ended_once(conv, EndReason.AGENT_HANGUP)
    assert call.ended_by == "agent"
    assert call.said_by("agent")[-2:] == ["Goodbye.", "(hangs up)"]
    assert call.requests[-1].path.endswith("/status")  # Twilio still reports the call completed
    assert conv.end_signals == 2  # HangUp, then the status callback: the first one counted


def test_duplicated_status_callback_ends_once(setup: Setup) -> None:
    options = SimulatorOptions(duplicate_status_callbacks=True)
    call, conv = setup.call([("say", "hello"), ("hang-up", None)], options=options)
    _ended_once(conv, EndReason.CUSTOMER_HANGUP)
    assert [r.path.rsplit("/", 1)[1] for r in call.requests].count("status") == 2
    assert conv.duplicates == 1 and conv.end_signals == 1


def test_status_callback_before_the_dial_action(setup: Setup) -> None:
    options = SimulatorOptions(status_before_dial_action=True)
    call, conv = setup.call(
        [("say", "transfer me"), ("transfer-result", "answered"), ("hang-up", None)],
        options=options,
    )
    paths = [r.path.rsplit("/", 1)[1] for r in call.requests]
    assert paths.index("status") < paths.index("dial")
    _ended_once(conv, EndReason.BLIND_TRANSFER)


def test_without_the_leg_callback_an_early_status_would_win(setup: Setup) -> None:
    # Why <Number statusCallbackEvent="answered"> is rendered: without it the parent's status
    # callback, arriving before the Dial action, reads as the caller leaving a ringing transfer.
    options = SimulatorOptions(status_before_dial_action=True, child_answered_callback=False)
    _, conv = setup.call(
        [("say", "transfer me"), ("transfer-result", "answered"), ("hang-up", None)],
        options=options,
    )
    assert conv.end_reason == EndReason.CUSTOMER_HANGUP and conv.transfer_abandoned


def test_caller_hangs_up_while_the_transfer_rings(setup: Setup) -> None:
    call, conv = setup.call([("say", "transfer me"), ("hang-up", None)])
    _ended_once(conv, EndReason.CUSTOMER_HANGUP)
    assert conv.transfer_abandoned
    assert call.requests[-1].path.endswith("/status")


def test_retried_action_callbacks_get_the_same_answer_and_change_nothing(setup: Setup) -> None:
    options = SimulatorOptions(retry_actions=True)
    call, conv = setup.call([("say", "hello"), ("press", "7"), ("hang-up", None)], options=options)
    gathers = [r for r in call.requests if r.path.endswith("/gather")]
    assert len(gathers) == 4 and conv.duplicates == 2
    assert conv.caller_lines == ["hello", "7"]  # each answer reached the agent once
    _ended_once(conv, EndReason.CUSTOMER_HANGUP)


def test_wrong_auth_token_is_refused(setup: Setup) -> None:
    with pytest.raises(TwilioSimulatorError) as caught:
        run_simulated_call(setup.server.url, "not-the-token", [("say", "hi")])
    assert caught.value.status == 403
    assert setup.runtime.conversations == {}  # nothing recorded
    assert setup.runtime.refused[-1].field == "X-Twilio-Signature"
    assert setup.runtime.unsigned == ["/channels/twilio/voice"]  # RequestValidator agrees
    setup.runtime.unsigned.clear()


def test_step_that_does_not_fit_the_call(setup: Setup) -> None:
    simulator = TwilioSimulator(setup.server.url, TOKEN)
    simulator.start()
    with pytest.raises(TwilioSimulatorError, match="No transfer is ringing"):
        simulator.transfer_result("answered")
    simulator.say("transfer me")
    with pytest.raises(TwilioSimulatorError, match="not listening"):
        simulator.say("hello?")
    with pytest.raises(TwilioSimulatorError, match="Unknown transfer result"):
        simulator.transfer_result("maybe")
    with pytest.raises(TwilioSimulatorError, match="Unknown step"):
        simulator.step("dance")
    call = simulator.finish()
    assert call.ended_by == "caller"
    assert "call " + simulator.call_sid in call.render()
    assert TOKEN not in repr(simulator)


def test_behind_a_proxy() -> None:
    # The server believes its public URL is https://voice.example.com (a proxy in front); the
    # simulator sends to 127.0.0.1 but signs the public URLs, as Twilio would.
    channel = TwilioChannel(TOKEN, public_base_url="https://voice.example.com")
    runtime = ScriptedRuntime(twilio=channel)
    with WebhookServer(runtime.handle_twilio) as server:
        call = run_simulated_call(
            server.url,
            TOKEN,
            [("say", "hello"), ("hang-up", None)],
            signing_base_url="https://voice.example.com",
        )
        assert runtime.conversations[call.call_sid].end_reason == EndReason.CUSTOMER_HANGUP
        with pytest.raises(TwilioSimulatorError) as caught:  # signed for the local URL: refused
            run_simulated_call(server.url, TOKEN, [("say", "hello")])
        assert caught.value.status == 403
