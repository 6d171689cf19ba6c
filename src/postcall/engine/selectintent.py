"""Multiple Topics Matched: the options it offers, and Copilot Studio's default topic.

When the recogniser finds several close topics, the engine stores them in
`System.Recognizer.IntentOptions` (a table of DisplayName, TopicId, TriggerId, Score, best
first, as Copilot Studio does) and starts the agent's OnSelectIntent topic.  That topic asks
the caller and stores the chosen row in `System.Recognizer.SelectedIntent`; when it ends, the
engine starts the chosen topic (interpreter.Runner.follow_selected_intent).

An agent without an OnSelectIntent topic gets `DEFAULT_SELECT_INTENT`, the behaviour of
Copilot Studio's own system topic, worded for the phone: the options are read as a numbered
list ending with "none of these", answered by saying one or pressing its number; "none of
these" goes to the Fallback (OnUnknownIntent) topic, or the default "didn't catch that".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from postcall.engine.recognizer import Action, IntentMatch, Recognition
from postcall.powerfx.values import Record, Table, Value
from postcall.topics.loader import load_topic_text
from postcall.topics.model import Topic

NO_TOPIC = "NoTopic"

_DEFAULT_YAML = """\
kind: AdaptiveDialog
beginDialog:
  kind: OnSelectIntent
  id: main
  triggerBehavior: Always
  actions:
    - kind: SetVariable
      id: postcall_options
      variable: init:Topic.IntentOptions
      value: =System.Recognizer.IntentOptions
    - kind: EditTable
      id: postcall_none
      changeType: Add
      itemsVariable: Topic.IntentOptions
      value: "={ DisplayName: \\"None of these\\", TopicId: \\"NoTopic\\", TriggerId: \\"NoTrigger\\", Score: 1.0 }"
    - kind: SetVariable
      id: postcall_spoken
      variable: init:Topic.SpokenOptions
      value: =Concat(ForAll(Sequence(CountRows(Topic.IntentOptions)), Text(Value) & ", " & Index(Topic.IntentOptions, Value).DisplayName), Value, "; ")
    - kind: Question
      id: postcall_which
      interruptionPolicy:
        allowInterruption: false
      alwaysPrompt: true
      variable: System.Recognizer.SelectedIntent
      prompt: "To clarify, did you mean: {Topic.SpokenOptions}? Say one, or press its number."
      entity:
        kind: DynamicClosedListEntity
        items: =Topic.IntentOptions
"""


def _build_default() -> Topic:
    loaded = load_topic_text(_DEFAULT_YAML, "postcall-multiple-topics-matched.yaml",
                             name="postcall.MultipleTopicsMatched")
    errors = [d for d in loaded.diagnostics if d.is_error]
    topic = loaded.agent.topics.get("postcall.MultipleTopicsMatched") if loaded.agent else None
    if topic is None or errors:  # pragma: no cover - a broken built-in is a bug, caught by tests
        raise RuntimeError(f"the built-in Multiple Topics Matched topic does not load: {errors}")
    return topic


DEFAULT_SELECT_INTENT: Topic = _build_default()


def intent_options(options: Sequence[tuple[Topic, IntentMatch]]) -> Table:
    """System.Recognizer.IntentOptions for these topics, best first."""
    rows: list[Value] = []
    for topic, match in options:
        fields: dict[str, Value] = {
            "DisplayName": topic.trigger.intent_display_name or topic.name,
            "TopicId": topic.name,
            "TriggerId": topic.trigger.id,
            "Score": match.score,
        }
        rows.append(Record(fields))
    return Table(rows, ["DisplayName", "TopicId", "TriggerId", "Score"])


def ran(recognition: Recognition, topic: Topic, topic_of: Callable[[str], Topic]) -> tuple[Action, str]:
    """What the engine did when it started `topic` from `recognition`, in words: the match, or
    the best of close topics when fewer than two of them may be offered (the others have
    `includeInOnSelectIntent: false`), so nobody was asked."""
    if recognition.outcome != "ambiguous":
        return "started", f"started {topic.name!r}"
    left_out = [m.topic for m in recognition.chosen if not topic_of(m.topic).trigger.include_in_on_select_intent]
    if not left_out:  # not reached: the engine asks whenever two close topics may be offered
        return "best", f"started {topic.name!r}, the best of the close topics"
    return "best", (
        f"started {topic.name!r}, the best of the close topics, without asking: fewer than two of "
        f"them may be offered ({', '.join(map(repr, left_out))}: includeInOnSelectIntent false)"
    )
