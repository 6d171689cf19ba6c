"""Exported-agent parts on voice: CSAT, custom entities and option sets, default system topics."""

from __future__ import annotations

from pathlib import Path

import pytest

from postcall.testing import Conversation
from postcall.topics import load_agent

HERE = Path(__file__).resolve().parent
SHOP = HERE / "agents" / "shop"
VOICE = HERE / "agents" / "voice-system"


def call(agent: Path, *steps: str) -> Conversation:
    conv = Conversation(agent)
    conv.start()
    for step in steps:
        if step == "<silence>":
            conv.silence()
        elif step.startswith("<press "):
            conv.press(step[7:-1])
        else:
            conv.say(step)
    return conv


@pytest.mark.parametrize(
    ("steps", "rating"),
    [
        (["four"], "4"),
        (["5 stars"], "5"),
        (["very satisfied"], "5"),
        (["I was not satisfied"], "2"),
        (["<press 3>"], "3"),
        (["banana", "very dissatisfied"], "1"),
    ],
)
def test_csat_takes_a_rating_by_speech_or_keypad(steps: list[str], rating: str) -> None:
    conv = call(VOICE, "take the survey", *steps)
    assert conv.replies[-1] == f"Rating: {rating}"
    assert not [e for r in conv.results for e in r.log if e.level == "error"]


@pytest.mark.parametrize("steps", [["<silence>"], ["<press 9>", "banana"]])
def test_csat_is_skipped_politely_on_silence_or_after_a_second_miss(steps: list[str]) -> None:
    conv = call(VOICE, "take the survey", *steps)
    assert conv.replies[-2:] == ["That's all right, let's move on.", "Rating: none"]
    assert not conv.ended


def test_a_custom_closed_list_matches_synonyms_and_its_option_set_reads_in_conditions() -> None:
    conv = call(SHOP, "order a coffee", "a big one please", "oat")
    assert "A large one." in conv.replies
    assert "Oat it is." in conv.replies
    conv = call(SHOP, "order a coffee", "tiny", "dairy")
    assert "A small one." in conv.replies and "Dairy it is." in conv.replies
    assert not [e for r in conv.results for e in r.log if e.level == "error"]


def test_a_keypad_press_where_speech_was_expected_is_reasked() -> None:
    conv = call(SHOP, "order a coffee", "<press 7>")
    assert conv.replies[-1] == "Small or large?"
    conv.say("large")
    assert "A large one." in conv.replies


def test_a_missing_system_topic_runs_copilot_studios_default() -> None:
    conv = call(SHOP, "order a coffee", "small", "oat")
    assert conv.replies[-1] == "Did that answer your question?"
    conv.say("yes")
    conv.say("four")
    assert "Thanks for your feedback." in conv.replies
    conv.say("no")
    assert conv.end is not None and str(conv.end.reason) == "AGENT_HANGUP"


def test_a_regex_entity_reads_spoken_characters_and_a_missing_entity_keeps_text() -> None:
    conv = call(SHOP, "track my order", "it is A B 1 2 3 4")
    assert "Order AB1234." in conv.replies
    conv.say("dark green")
    assert "Colour dark green." in conv.replies
    conv = call(SHOP, "track my order", "no idea")
    assert conv.replies[-1] == "What is your order number?"


def test_check_names_the_malformed_entity_file_and_the_missing_entity() -> None:
    result = load_agent(SHOP)
    found = {(d.code, d.span.path if d.span else None) for d in result.diagnostics}
    assert ("TPC264", "entities/Broken.mcs.yml") in found
    assert ("TPC264", "topics/Track.mcs.yml") in found
    assert ("TPC261", "topics/Order.mcs.yml") in found
    assert not result.has_errors
    assert result.agent is not None and "EndofConversation" in result.agent.topics


def test_an_adaptive_card_is_asked_as_questions_and_its_submit_data_stored() -> None:
    conv = Conversation(VOICE, channel_id="twilio")
    conv.start()
    assert conv.say("submit an expense claim") == ["Submit travel expenses", "How much did you spend?"]
    assert conv.say("one hundred and twenty") == ["What kind of expense? Hotel or Train?"]
    assert conv.say("the train") == ["Which day?"]
    assert conv.say("next tuesday") == ["submitClaim: 120 for Train on 2026-01-06"]


def test_a_card_built_by_a_formula_leaves_its_outputs_blank_and_check_names_it() -> None:
    conv = call(VOICE, "rate the photos")
    assert conv.replies[-1] == "Stars: none"
    assert not [e for r in conv.results for e in r.log if e.level == "error"]
    found = [d for d in load_agent(VOICE).diagnostics if d.code == "TPC262"]
    assert any("ratingCard" in d.message and "formula" in d.message for d in found)


def test_sign_in_on_a_call_goes_on_signed_out_and_a_bound_skill_runs() -> None:
    conv = Conversation(VOICE, channel_id="twilio")
    conv.state.user_id = "+15551234567"
    conv.start()
    replies = conv.say("what is my balance")
    assert replies == [
        "I can't sign you in on a phone call, so let's continue without it.",
        "Signed out, calling from +15551234567.",
        "what is my balance: 42 dollars",
    ]
    assert [c.request.payload["flow_id"] for c in conv.action_calls] == ["skill:balance-skill:getBalance"]


def test_an_unbound_skill_and_an_unbound_flow_are_named_by_check(tmp_path: Path) -> None:
    root = tmp_path / "a"
    (root / "topics").mkdir(parents=True)
    (root / "agent.yaml").write_text("name: A\n")
    (root / "topics" / "T.topic.yaml").write_text(
        "kind: AdaptiveDialog\nbeginDialog:\n  kind: OnRecognizedIntent\n  id: main\n"
        "  intent:\n    triggerQueries: [go]\n  actions:\n"
        "    - kind: InvokeSkillAction\n      id: s\n      skillId: sk\n"
        "    - kind: InvokeFlowAction\n      id: f\n      flowId: 0000-1111\n"
    )
    codes = {(d.code, d.span.line if d.span else 0) for d in load_agent(root).diagnostics}
    assert ("TPC263", 8) in codes and ("TPC260", 11) in codes


def test_the_default_end_of_conversation_records_confirmed_success_and_failure() -> None:
    conv = call(SHOP, "order a coffee", "small", "oat", "yes", "five")
    assert conv.state.system.get("Conversation.Outcome") == "ResolvedConfirmed"
    conv = call(SHOP, "order a coffee", "small", "oat", "no")
    assert conv.replies[-1] == "Sorry I wasn't able to help better. Would you like to try again?"
    conv.say("no")
    assert conv.replies[-1] == "I'm sorry I couldn't help. Goodbye."
    assert conv.end is not None and conv.end_snapshot is not None
    assert conv.state.system.get("Conversation.Outcome") == "ConfirmedFailure"


def test_a_condition_on_a_missing_option_set_is_named_by_check(tmp_path: Path) -> None:
    root = tmp_path / "a"
    (root / "topics").mkdir(parents=True)
    (root / "agent.yaml").write_text("name: A\nbot_name: cr1_a\n")
    (root / "topics" / "T.topic.yaml").write_text(
        "kind: AdaptiveDialog\nbeginDialog:\n  kind: OnRecognizedIntent\n  id: main\n"
        "  intent:\n    triggerQueries: [go]\n  actions:\n"
        "    - kind: ConditionGroup\n      id: c\n      conditions:\n"
        "        - id: c1\n          condition: =Global.X = 'cr1_a.entity.Gone'.a\n"
        "          actions: []\n"
    )
    found = [d for d in load_agent(root).diagnostics if d.code == "TPC264"]
    assert found and "cr1_a.entity.Gone" in found[0].message and found[0].span is not None
    assert found[0].span.line == 12


def test_a_bot_definition_beside_the_topics_brings_its_dialog_components() -> None:
    template = HERE / "agents" / "template-workspace"
    conv = call(template, "start from scratch")
    assert conv.replies[-2:] == ["Starting again.", "What can I help you with?"]
    assert call(template, "purple monkey dishwasher").replies[-1] == (
        "Sorry, I didn't get that. Try saying it another way."
    )
    alone = load_agent(template / "base-template.yaml")
    assert alone.agent is not None and set(alone.agent.topics) == {"ResetConversation", "Fallback"}


def test_check_summary_says_what_runs_once_configured(tmp_path: Path) -> None:
    from postcall.topics.summary import summarize

    root = tmp_path / "a"
    (root / "topics").mkdir(parents=True)
    (root / "agent.yaml").write_text("name: A\n")
    (root / "topics" / "T.topic.yaml").write_text(
        "kind: AdaptiveDialog\nbeginDialog:\n  kind: OnRecognizedIntent\n  id: main\n"
        "  intent:\n    triggerQueries: [go]\n  actions:\n"
        "    - kind: InvokeFlowAction\n      id: f\n      flowId: 0000-1111\n"
        "    - kind: OAuthInput\n      id: o\n"
    )
    summary = summarize(load_agent(root))
    assert list(summary["runs_once_configured"].values()) == ["a flow: bind it in agent.yaml flows:"]
    assert any("OAuthInput 'o'" in v for v in summary["voice_behaviour"].values())
