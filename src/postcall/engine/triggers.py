"""Which topics an activity triggers: trigger kinds, conditions, priority and runOnce.

Order: lower `priority` first, then topic name.  A trigger whose `condition` is false (or fails:
the failure is logged as a warning) does not fire.  `runOnce` lets a trigger fire at most once per
turn.  OnRedirect and OnSystemRedirect topics never fire by themselves; only BeginDialog,
ReplaceDialog and the engine's own redirects (escalation) start them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from postcall.engine.dtmf import key_char
from postcall.engine.faults import RuntimeFault
from postcall.engine.recognizer import (
    Action,
    Decision,
    IntentCandidate,
    IntentMatch,
    Recognition,
    Recognizer,
    decide,
)
from postcall.topics.agent import Agent
from postcall.topics.model import Expr, Topic, Trigger


class _Engine(Protocol):
    @property
    def recognizer(self) -> Recognizer: ...

    @property
    def intent_candidates(self) -> tuple[IntentCandidate, ...]: ...


class Runner(Protocol):
    """What trigger selection uses of the interpreter's `Runner` (a Protocol, so that this module
    sits below the interpreter instead of in a circle with it)."""

    @property
    def agent(self) -> Agent: ...

    @property
    def engine(self) -> _Engine: ...

    @property
    def run_once_fired(self) -> set[str]: ...

    @property
    def recognitions(self) -> list[Recognition]: ...

    @property
    def decisions(self) -> list[Decision]: ...

    @property
    def recorded(self) -> Sequence[Decision]: ...

    def eval_bool(
        self, expr: Expr | None, frame: None, *, default: bool, node: str | None = None, what: str = "condition"
    ) -> bool: ...

    def warn(self, message: str, frame: None = None, node: str | None = None) -> None: ...

    def info(self, message: str, frame: None = None, node: str | None = None) -> None: ...


INTENT_KINDS = ("OnRecognizedIntent", "OnEscalate")


def condition_holds(r: Runner, topic: Topic, trigger: Trigger) -> bool:
    if trigger.condition is None:
        return True
    try:
        return r.eval_bool(trigger.condition, None, default=True, what="trigger condition")
    except RuntimeFault as fault:
        r.warn(f"trigger condition of {topic.name!r} failed, so it does not fire: {fault}")
        return False


def _ordered(topics: list[Topic]) -> list[Topic]:
    return sorted(topics, key=lambda t: (t.trigger.priority, t.name))


def _fire(r: Runner, topics: list[Topic]) -> list[Topic]:
    out: list[Topic] = []
    for topic in _ordered(topics):
        if topic.trigger.run_once and topic.name in r.run_once_fired:
            continue
        if not topic.trigger.supported or not condition_holds(r, topic, topic.trigger):
            continue
        out.append(topic)
    return out


def mark_fired(r: Runner, topic: Topic) -> None:
    if topic.trigger.run_once:
        r.run_once_fired.add(topic.name)


def select_simple(r: Runner, kind: str) -> list[Topic]:
    """Topics of a trigger kind that fire now, in order."""
    return _fire(r, [t for t in r.agent.topics.values() if t.trigger.kind == kind])


def select_activity(r: Runner, activity_type: str) -> list[Topic]:
    """OnActivity topics for an activity type (PascalCase, e.g. Message); no type = any.

    End of conversation is excluded: post-call topics run as their own programs.
    """
    found = [
        t for t in r.agent.topics.values()
        if t.trigger.kind == "OnActivity"
        and not t.trigger.is_end_of_conversation
        and (t.trigger.type is None or t.trigger.type.lower() == activity_type.lower())
        and not (t.trigger.type is None and activity_type == "EndOfConversation")
    ]
    return _fire(r, found)


def select_event(r: Runner, name: str | None) -> list[Topic]:
    found = [
        t for t in r.agent.topics.values()
        if t.trigger.kind == "OnEventActivity"
        and (not t.trigger.event_name or t.trigger.event_name == name)
    ]
    return _fire(r, found)


def select_dtmf(r: Runner, key: str) -> list[Topic]:

    found = [
        t for t in r.agent.topics.values()
        if t.trigger.kind == "OnDtmfKeyPress" and key_char(t.trigger.dtmf_key) == key
    ]
    return _fire(r, found)


def agent_intent_candidates(agent: Agent, *, described: bool = False) -> list[IntentCandidate]:
    """Every topic a recogniser can start: what it prepares on when the agent loads.

    A topic with trigger phrases always; with `described`, also a topic that has only a
    `modelDescription` (how Copilot Studio's generative orchestration topics are written), as
    a candidate without phrases: only a recogniser that reads descriptions (a language model,
    `reads_descriptions`) can choose it.  `postcall check` warns (TPC238) about such a topic
    under any other recogniser: nothing could ever start it.
    """
    return [
        IntentCandidate(t.name, t.trigger.trigger_queries, t.trigger.priority)
        for t in agent.topics.values()
        if t.trigger.kind in INTENT_KINDS
        and (t.trigger.trigger_queries or (described and t.described_only))
    ]


def intent_candidates(r: Runner, *, exclude: str | None = None) -> list[IntentCandidate]:
    """The intent topics that can fire now: not excluded, not spent (runOnce), condition true."""
    out: list[IntentCandidate] = []
    for cand in r.engine.intent_candidates:
        topic = r.agent.topics.get(cand.topic)
        if topic is None or topic.name == exclude:
            continue
        if topic.trigger.run_once and topic.name in r.run_once_fired:
            continue
        if condition_holds(r, topic, topic.trigger):
            out.append(cand)
    return out


def decide_intent(r: Runner, text: str, *, exclude: str | None = None) -> Recognition:
    """The recogniser's decision among the intent topics that can fire now (recorded on the
    runner for `chat --explain` and the console).

    A decision already made for the same words and candidates, by this turn's earlier working-out
    (`r.recorded`) or earlier in this one, is reused: the recogniser is asked once per question.
    """
    candidates = intent_candidates(r, exclude=exclude) if text.strip() else []
    if not text.strip():
        found = Recognition.no_match("nothing was said")
    elif not candidates:
        found = Recognition.no_match("no topic can be triggered now")
    else:
        topics = tuple(c.topic for c in candidates)
        made = next((d for d in (*r.recorded, *r.decisions) if d.answers(text, topics)), None)
        found = made.recognition if made is not None else decide(r.engine.recognizer, text, candidates)
        if made is None or made not in r.decisions:
            r.decisions.append(Decision(text, topics, found))
    r.recognitions.append(found)
    r.info(f"recognizer: {found.explain()}")
    return found


def took(r: Runner, since: int, action: Action, why: str) -> None:
    """Record what the engine did with the decision it asked for after `since` (the index of
    `r.recognitions` before asking), so explanations show the engine's action, not only the
    recogniser's outcome.  Nothing when no decision was asked for (keys, no interruption)."""
    if len(r.recognitions) > since:
        r.recognitions[since] = r.recognitions[since].with_taken(action, why)
        r.info(f"recognizer decision: {action}: {why}")


def recognize(r: Runner, text: str, *, exclude: str | None = None) -> list[tuple[Topic, IntentMatch]]:
    """Intent topics the utterance matches whose trigger can fire, best first."""
    out: list[tuple[Topic, IntentMatch]] = []
    for match in decide_intent(r, text, exclude=exclude).chosen:
        topic = r.agent.topics.get(match.topic)
        if topic is not None:
            out.append((topic, match))
    return out


def select_intent_topic(r: Runner) -> Topic | None:
    """The Multiple Topics Matched topic (OnSelectIntent) if the agent has one that fires."""
    found = select_simple(r, "OnSelectIntent")
    return found[0] if found else None


def escalation_topic(r: Runner) -> Topic | None:
    """The topic an escalation goes to: the first OnEscalate topic whose condition holds."""
    found = select_simple(r, "OnEscalate")
    return found[0] if found else None
