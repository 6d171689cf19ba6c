"""Multiple Topics Matched: close topics are offered, chosen by speech or keypad, or none."""

from __future__ import annotations

from pathlib import Path

from postcall.engine.engine import DEFAULT_FALLBACK
from postcall.powerfx.values import Table
from postcall.testing import Conversation
from postcall.topics import load_agent

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
    assert not convo.state.system.get("FallbackCount")
    reply = convo.say("none of these")
    # The agent has no Fallback topic: the default one answers, and it counts as a fallback.
    assert reply == [DEFAULT_FALLBACK]
    assert convo.state.system.get("FallbackCount") == 1
    assert convo.state.stack == []  # not asked again


def test_agent_topic_gets_intent_options_and_selected_intent(tmp_path: Path) -> None:
    convo = Conversation(make_agent(tmp_path, with_select=True))
    convo.start()
    said = " ".join(convo.say("a problem with my card"))
    assert "Which one:" in said and "Lost card" in said and "Stolen card" in said
    assert "This is the Stolen card topic." in convo.say("Stolen card")
    assert "This is the Opening hours topic." in convo.say("when are you open")


# Microsoft's own Multiple Topics Matched topic (the Copilot Studio template, as exported by the
# VS Code extension), with its ReplaceDialog pointed at this fixture's Fallback topic.
MICROSOFT_SELECT = """mcs.metadata:
  componentName: Multiple Topics Matched
kind: AdaptiveDialog
beginDialog:
  kind: OnSelectIntent
  id: main
  triggerBehavior: Always
  actions:
    - kind: SetVariable
      id: setVariable_M6434i
      variable: init:Topic.IntentOptions
      value: =System.Recognizer.IntentOptions

    - kind: SetTextVariable
      id: setTextVariable_0
      variable: Topic.NoneOfTheseDisplayName
      value: None of these

    - kind: EditTable
      id: sendMessage_g5Ls09
      changeType: Add
      itemsVariable: Topic.IntentOptions
      value: "={ DisplayName: Topic.NoneOfTheseDisplayName, TopicId: \\"NoTopic\\", TriggerId: \\"NoTrigger\\", Score: 1.0 }"

    - kind: Question
      id: question_zf2HhP
      interruptionPolicy:
        allowInterruption: false

      alwaysPrompt: true
      variable: System.Recognizer.SelectedIntent
      prompt: "To clarify, did you mean:"
      entity:
        kind: DynamicClosedListEntity
        items: =Topic.IntentOptions

    - kind: ConditionGroup
      id: conditionGroup_60PuXb
      conditions:
        - id: conditionItem_rs7GgM
          condition: =System.Recognizer.SelectedIntent.TopicId = "NoTopic"
          actions:
            - kind: ReplaceDialog
              id: YZXRDb
              dialog: Fallback
"""

FALLBACK = """kind: AdaptiveDialog
beginDialog:
  kind: OnUnknownIntent
  id: main
  actions:
    - kind: SendActivity
      id: say_fallback
      activity: "Fallback number {System.FallbackCount}."
"""


def test_microsofts_template_checks_without_warnings_and_runs(tmp_path: Path) -> None:
    root = make_agent(tmp_path, with_select=False)
    (root / "agent.yaml").write_text("name: Sel\n")
    (root / "topics" / "Multiple Topics Matched.topic.yaml").write_text(MICROSOFT_SELECT)
    (root / "topics" / "Fallback.topic.yaml").write_text(FALLBACK)
    diagnostics = load_agent(root).diagnostics
    assert [d for d in diagnostics if d.code == "TPC236"] == []
    assert [d for d in diagnostics if d.is_error] == []
    convo = Conversation(root)
    convo.start()
    assert "To clarify, did you mean:" in convo.say("a problem with my card")
    assert "This is the Lost card topic." in convo.say("Lost card")
    convo.say("a problem with my card")
    [reply] = convo.say("None of these")
    assert reply.startswith("Fallback number")  # the template redirects to the Fallback topic


ROWS = SELECT.replace(
    'prompt: "Which one: {Concat(Topic.IntentOptions, DisplayName, \\", \\")}?"',
    'prompt: "{System.Recognizer.TriggeringMessage.Text} = '
    '{Concat(System.Recognizer.IntentOptions, DisplayName & \\"/\\" & TopicId & \\"/\\" & TriggerId '
    '& \\"/\\" & If(Score > 0, \\"scored\\", \\"unscored\\"), \\"; \\")}"',
)


def test_intent_options_rows_name_the_topics_best_first(tmp_path: Path) -> None:
    root = make_agent(tmp_path, with_select=False)
    (root / "topics" / "Multiple Topics Matched.topic.yaml").write_text(ROWS)
    assert [d for d in load_agent(root).diagnostics if d.code == "TPC236"] == []
    convo = Conversation(root)
    convo.start()
    [said] = convo.say("a problem with my card")
    rec = convo.results[-1].recognitions[-1]
    assert rec.outcome == "ambiguous"
    first, second = (m.topic for m in rec.chosen)
    assert rec.chosen[0].score >= rec.chosen[1].score
    assert said == (
        f"a problem with my card = {first}/{first}/main/scored; {second}/{second}/main/scored"
    )
    options = convo.state.system["Recognizer.IntentOptions"]
    assert isinstance(options, Table)
    scores = [row.get_field("Score") for row in options.rows]
    assert scores == [m.score for m in rec.chosen]
