"""Multiple Topics Matched: close topics are offered, chosen by speech or keypad, or none."""

from __future__ import annotations

from pathlib import Path

from postcall.testing import Conversation

TOPIC = """kind: AdaptiveDialog
beginDialog:
  kind: OnRecognizedIntent
  id: main
  intent:
    displayName: {name}
    triggerQueries:
{phrases}
  actions:
    - kind: SendActivity
      id: say_{slug}
      activity: This is the {name} topic.
"""

SELECT = """kind: AdaptiveDialog
beginDialog:
  kind: OnSelectIntent
  id: main
  triggerBehavior: Always
  actions:
    - kind: SetVariable
      id: setVariable_opts
      variable: init:Topic.IntentOptions
      value: =System.Recognizer.IntentOptions
    - kind: EditTable
      id: editTable_none
      changeType: Add
      itemsVariable: Topic.IntentOptions
      value: "={ DisplayName: \\"None of these\\", TopicId: \\"NoTopic\\", TriggerId: \\"NoTrigger\\", Score: 1.0 }"
    - kind: Question
      id: question_which
      interruptionPolicy:
        allowInterruption: false
      alwaysPrompt: true
      variable: System.Recognizer.SelectedIntent
      prompt: "Which one: {Concat(Topic.IntentOptions, DisplayName, \\", \\")}?"
      entity:
        kind: DynamicClosedListEntity
        items: =Topic.IntentOptions
"""


def make_agent(root: Path, *, with_select: bool) -> Path:
    topics = root / "topics"
    topics.mkdir(parents=True)
    for name, phrases in (
        ("Lost card", ["I lost my card", "my card is lost", "a problem with my card"]),
        ("Stolen card", ["my card was stolen", "someone stole my card", "a problem with my card"]),
        ("Opening hours", ["when are you open", "opening hours"]),
    ):
        body = "\n".join(f"      - {p}" for p in phrases)
        slug = name.replace(" ", "_")
        (topics / f"{name}.topic.yaml").write_text(TOPIC.format(name=name, phrases=body, slug=slug))
    if with_select:
        (topics / "Multiple Topics Matched.topic.yaml").write_text(SELECT)
    return root


def test_default_topic_reads_the_options_and_takes_a_key(tmp_path: Path) -> None:
    convo = Conversation(make_agent(tmp_path, with_select=False))
    convo.start()
    said = " ".join(convo.say("a problem with my card"))
    assert "did you mean" in said
    assert "1, " in said and "2, " in said and "None of these" in said
    assert convo.results[-1].recognitions[-1].outcome == "ambiguous"
    second = convo.results[-1].recognitions[-1].chosen[1].topic
    assert f"This is the {second} topic." in convo.press("2")


def test_default_topic_none_of_these_goes_to_fallback(tmp_path: Path) -> None:
    convo = Conversation(make_agent(tmp_path, with_select=False))
    convo.start()
    convo.say("a problem with my card")
    reply = " ".join(convo.say("none of these"))
    assert "This is the" not in reply
    assert reply  # the default "didn't catch that"


def test_agent_topic_gets_intent_options_and_selected_intent(tmp_path: Path) -> None:
    convo = Conversation(make_agent(tmp_path, with_select=True))
    convo.start()
    said = " ".join(convo.say("a problem with my card"))
    assert "Which one:" in said and "Lost card" in said and "Stolen card" in said
    assert "This is the Stolen card topic." in convo.say("Stolen card")
    assert "This is the Opening hours topic." in convo.say("when are you open")
