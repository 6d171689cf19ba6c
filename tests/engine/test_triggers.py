"""Trigger kinds, conditions, priority and runOnce."""

from __future__ import annotations

from pathlib import Path

from postcall.testing import Conversation, load

from .helpers import conversation


def started() -> Conversation:
    c = conversation("voice", conversation_id="t1")
    c.start()
    return c


def test_unknown_intent_counts_fallbacks_and_a_recognised_intent_resets_them() -> None:
    c = started()
    assert c.say("purple elephants") == ["Fallback 1."]
    assert c.say("more purple elephants") == ["Fallback 2."]
    c.say("count down")
    assert c.say("purple again") == ["Fallback 1."]


def test_dtmf_key_press_and_unknown_key_triggers() -> None:
    c = started()
    assert c.press("0") == ["Operator menu."]
    assert c.press("7") == ["That key does nothing."]


def test_silence_and_unrecognised_speech_without_a_question() -> None:
    c = started()
    assert c.silence() == ["Are you still there?"]
    assert c.unrecognized() == ["Sorry, I couldn't make that out."]


def test_on_inactivity_fires_once_per_idle_period() -> None:
    c = started()
    assert c.engine.inactivity_due(c.state, c.clock.now()) is False
    c.advance(25)
    assert c.replies[-1] == "Still with me?"
    n = len(c.replies)
    c.advance(25)
    assert len(c.replies) == n
    c.say("count down")
    c.advance(25)
    assert c.replies[-1] == "Still with me?"


def test_redirect_only_topics_never_fire_by_themselves() -> None:
    c = started()
    assert c.say("In the child") == ["Fallback 1."]


def _agent(tmp_path: Path, topics: dict[str, str]) -> Conversation:
    (tmp_path / "topics").mkdir()
    (tmp_path / "agent.yaml").write_text("name: T\n")
    for name, text in topics.items():
        (tmp_path / "topics" / f"{name}.topic.yaml").write_text(text)
    return Conversation(load(tmp_path), conversation_id="t2")


def _on_message(name: str, priority: int, condition: str | None = None, run_once: bool = False) -> str:
    lines = [
        "kind: AdaptiveDialog",
        "beginDialog:",
        "  kind: OnActivity",
        "  id: main",
        "  type: Message",
        f"  priority: {priority}",
    ]
    if condition:
        lines.append(f"  condition: {condition}")
    if run_once:
        lines.append("  runOnce: true")
    lines += [
        "  actions:",
        "    - kind: SendActivity",
        f"      id: sendMessage_{priority + 10}",
        f"      activity: {name} heard {{System.Activity.Text}}",
    ]
    return "\n".join(lines) + "\n"


def test_message_activity_topics_run_in_priority_order_with_conditions(tmp_path: Path) -> None:
    c = _agent(
        tmp_path,
        {
            "Late": _on_message("Late", 5),
            "Early": _on_message("Early", -2),
            "Never": _on_message("Never", 0, condition='=System.Activity.Text = "nope"'),
            "Middle": _on_message("Middle", 0),
        },
    )
    c.start()
    assert c.say("hello") == ["Early heard hello", "Middle heard hello", "Late heard hello"]
    assert c.say("nope") == ["Early heard nope", "Middle heard nope", "Never heard nope", "Late heard nope"]


def test_conversation_start_runs_once_and_escalate_phrases_route(tmp_path: Path) -> None:
    c = _agent(
        tmp_path,
        {
            "Hello": (
                "kind: AdaptiveDialog\nbeginDialog:\n  kind: OnConversationStart\n  id: main\n"
                "  actions:\n    - kind: SendActivity\n      id: s1\n      activity: Hello {System.Conversation.Id}\n"
            ),
        },
    )
    assert c.start() == ["Hello t2"]
    assert c.start() == []


def _event_topic(listens: str, emits: str, run_once: bool) -> str:
    return (
        "kind: AdaptiveDialog\nbeginDialog:\n  kind: OnEventActivity\n  id: main\n"
        f"  eventName: {listens}\n  runOnce: {str(run_once).lower()}\n  actions:\n"
        f"    - kind: SendActivity\n      id: s_{listens}\n      activity: got {listens}\n"
        f"    - kind: EmitEvent\n      id: e_{listens}\n      eventName: {emits}\n"
    )


def test_run_once_stops_a_trigger_firing_twice_in_a_turn(tmp_path: Path) -> None:
    c = _agent(tmp_path, {"Ping": _event_topic("ping", "pong", True), "Pong": _event_topic("pong", "ping", False)})
    c.start()
    assert c.event("ping") == ["got ping", "got pong"]
    assert [e.name for e in c.events] == ["ping"]  # nobody handles the second ping: it goes out
    assert c.event("ping") == ["got ping", "got pong"]  # a new turn: it fires again
