"""The Question node: entities, retries, validation, defaults, silence, interruption."""

from __future__ import annotations

from postcall.engine.activity import HangUp
from postcall.testing import Conversation
from postcall.vocabulary import EndReason

from .helpers import conversation

MENU_PROMPT = "For billing press 1 or say billing. For support press 2. For sales press 3."


def started() -> Conversation:
    c = conversation("voice", conversation_id="q1")
    c.start()
    return c


def test_closed_list_by_synonym_dtmf_key_and_ordinal() -> None:
    c = started()
    assert c.say("main menu") == [MENU_PROMPT]
    listen = c.listening
    assert listen is not None and listen.dtmf_max_digits == 1
    assert c.say("I have a technical problem") == ["You chose Support."]
    c.say("main menu")
    assert c.press("3") == ["You chose Sales."]
    c.say("main menu")
    assert c.say("the first one") == ["You chose Billing.", "Billing it is."]


def test_unrecognized_answers_reprompt_then_default() -> None:
    c = started()
    c.say("main menu")
    assert c.say("pizza") == ["Please choose billing, support or sales."]
    assert c.say("invoice") == ["You chose Billing.", "Billing it is."]


def test_unknown_dtmf_key_in_a_closed_list_runs_on_unknown_dtmf_key_then_reasks() -> None:
    c = started()
    c.say("main menu")
    assert c.press("9") == ["That key does nothing.", MENU_PROMPT]
    assert c.press("1") == ["You chose Billing.", "Billing it is."]


def test_validation_invalid_prompt_and_default_value_after_repeat_count() -> None:
    c = started()
    assert c.say("verify my age") == ["How old are you?"]
    assert c.say("twelve") == ["You must be 18 or older. How old are you?"]
    assert c.say("banana") == ["Let's move on.", "Age 0 noted."]
    c.say("verify my age")
    assert c.say("I am forty two") == ["Age 42 noted."]


def test_silence_with_voice_settings_reprompts_then_sets_the_default() -> None:
    c = started()
    c.say("confirm my booking")
    listen = c.listening
    assert listen is not None and listen.silence_timeout_ms == 4000 and listen.dtmf_max_digits == 1
    assert c.silence() == ["Sorry, I didn't hear you. Shall I confirm it?"]
    assert c.silence() == ["Not confirmed."]


def test_silence_that_runs_out_hangs_up_as_inactivity() -> None:
    c = started()
    c.say("test silence hang up")
    assert c.silence() == ["Still there?"]
    assert c.silence() == []
    assert isinstance(c.outputs[-1], HangUp)
    assert c.end is not None
    assert (c.end.reason, c.end.initiator, c.end.source) == (EndReason.INACTIVITY_TIMEOUT, "system", "silence")
    assert c.end.node_id == "question_silent"


def test_boolean_answers_in_words_and_keys() -> None:
    c = started()
    c.say("confirm my booking")
    assert c.say("yeah sure") == ["Confirmed."]
    c.say("confirm my booking")
    assert c.press("2") == ["Not confirmed."]


def test_an_intent_interrupts_a_question_which_is_asked_again() -> None:
    c = started()
    c.say("confirm my booking")
    assert c.say("let me speak to a human") == ["Escalating.", "Shall I confirm it?"]
    assert c.say("yes") == ["Confirmed."]


def test_without_interruption_the_answer_is_taken_as_is() -> None:
    c = started()
    assert c.say("ask for my name") == ["What's your name?"]
    assert c.say("main menu") == ["Hi Main Menu."]
    assert c.state.globals["CallerName"] == "Main Menu"


def test_skip_question_when_the_variable_has_a_value_on_first_execution() -> None:
    c = started()
    c.say("ask for my name")
    c.say("call me Ada")
    assert c.say("ask for my name") == ["Hi Ada."]


def test_repeat_count_zero_escalates_when_not_recognised() -> None:
    c = started()
    c.say("ask for my name")
    assert c.say("12345") == ["Escalating."]
    assert c.state.stack == []


def test_on_silence_topic_runs_over_a_question_without_voice_settings() -> None:
    c = started()
    c.say("main menu")
    listen = c.listening
    assert listen is not None and listen.silence_timeout_ms == 7000  # the OnSilence trigger's
    assert c.silence() == ["Are you still there?", MENU_PROMPT]


def test_unrecognized_speech_topic_then_the_question_again() -> None:
    c = started()
    c.say("main menu")
    assert c.unrecognized() == ["Sorry, I couldn't make that out.", MENU_PROMPT]
