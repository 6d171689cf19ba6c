"""The Question node: ask, listen, recognise the answer, re-ask, fall back.

Semantics (docs/engine.md, "Question"):

* skipQuestionMode decides whether a variable that already has a value skips the question
  (`SkipOnFirstExecutionIfVariableHasValue` is the default; `alwaysPrompt: true` always asks);
* an answer is recognised by the entity (prebuilt, closed list with synonyms and DTMF keys,
  dynamic list, digit entry with length and termination key); `validation` is then checked with
  the new value in the variable;
* an unrecognised answer plays `unrecognizedPrompt` (an invalid one `invalidPrompt`), or the
  question again, up to `repeatCount` (default 2) times; after that `defaultValue` (with
  `defaultValueResponse`), else `fallbackDialogOnInvalidEntity`, else the escalation topic, else
  the variable stays Blank;
* silence: with `voiceInputSettings` the question re-asks (`inputTimeoutResponse`) up to
  `repeatCountOnSilence` (default 2) times, then applies `defaultValueMissingAction` (HangUp ends
  the call with INACTIVITY_TIMEOUT); without it an OnSilence topic runs if there is one, else the
  same defaults apply;
* with `interruptionPolicy.allowInterruption` (default true) an utterance that is not an answer
  but matches another topic's trigger phrases starts that topic; the question is asked again when
  it ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import regex  # type: ignore[import-untyped]  # no stubs in the declared dependencies

from postcall.engine.activity import Listen
from postcall.engine.dtmf import DigitEntry, clean_digits, key_char, read_digits
from postcall.engine.ending import end_from_timeout
from postcall.engine.entities import recognize_csat, recognize_ordinal, spoken_digits
from postcall.engine.interpreter import Flow, Runner, Stop
from postcall.engine.nodes.dialogs import resolve_topic
from postcall.engine.nodes.messages import emit
from postcall.engine.spoken import DTMF_NUMBER, DTMF_TEXT, PREBUILT_ALL
from postcall.engine.state import Frame, QuestionWait
from postcall.engine.textnorm import normalise
from postcall.engine.triggers import escalation_topic, mark_fired, select_simple
from postcall.engine.values import to_text
from postcall.engine.variables import has_value, naive_utc
from postcall.powerfx.values import Record, Table, Value
from postcall.topics.model import (
    ClosedListEntity,
    CSATQuestion,
    DynamicClosedListEntity,
    EntityReference,
    Message,
    PrebuiltEntity,
    Question,
    RegexEntity,
)
from postcall.vocabulary import EndReason

DEFAULT_REPEAT_COUNT = 2
DEFAULT_REPEAT_ON_SILENCE = 2


@dataclass(frozen=True, slots=True)
class Answer:
    value: Value = None
    recognized: bool = False
    problem: str | None = None  # why not: "no-match", "too-short", "unknown-key"...


def question_node(r: Runner, frame: Frame) -> Question:
    assert frame.question is not None
    node = r.engine.node(frame.topic, frame.question.node_id)
    if not isinstance(node, Question):
        raise r.fault(
            f"The saved conversation waits on question {frame.question.node_id!r}, which topic "
            f"{frame.topic!r} no longer has.",
            code="RUN458", error_code="InvalidState", frame=frame,
        )
    return node


# ---------------------------------------------------------------------------------------------
# asking


def run_question(r: Runner, frame: Frame, node: Question) -> Flow:
    if r.mode == "postcall":
        r.warn("Question skipped: the caller has gone; the variable keeps its value.", frame, node.id)
        return Flow.NEXT
    current = r.read(node.variable, frame)
    first_time = node.id not in frame.asked
    if first_time:
        frame.asked.append(node.id)
    always = r.eval_bool(node.always_prompt, frame, default=False, node=node.id, what="alwaysPrompt")
    skip = False
    if not always and has_value(current):
        mode = node.skip_question_mode
        if mode == "AlwaysSkipIfVariableHasValue":
            skip = True
        elif mode == "SkipOnFirstExecutionIfVariableHasValue":
            skip = first_time
    if skip:
        r.info(f"question skipped: {node.variable.path} already has a value", frame, node.id)
        return Flow.NEXT
    emit(r, frame, node.prompt, node.id)
    frame.question = QuestionWait(node.id)
    return Flow.WAIT


def reask(r: Runner, frame: Frame) -> None:
    """Ask an interrupted question again (the interrupting topic has ended)."""
    assert frame.question is not None
    node = question_node(r, frame)
    frame.question.interrupted = False
    emit(r, frame, node.prompt, node.id)


def after(r: Runner, frame: Frame, flow: Flow) -> Stop:
    """Continue the conversation after an answer, a silence or a fallback was handled."""
    if flow is Flow.NEXT:
        frame.pc += 1
    elif flow is Flow.WAIT:
        r.listen_frame = frame
        return Stop.LISTEN
    elif flow is Flow.END:
        return Stop.END
    elif flow is Flow.SUSPEND:
        return Stop.ACTION
    elif flow is Flow.TRANSFER:
        return Stop.TRANSFER
    return r.run()


# ---------------------------------------------------------------------------------------------
# answers


def digit_entry(r: Runner, frame: Frame, entity: PrebuiltEntity) -> DigitEntry | None:
    opts = entity.dtmf_options
    if opts is None:
        return None
    length = r.eval_int(opts.length, frame, default=None, what="dtmf length")
    min_len = r.eval_int(opts.min_length, frame, default=None, what="dtmf minLength")
    max_len = r.eval_int(opts.max_length, frame, default=None, what="dtmf maxLength")
    if length is not None:
        min_len = max_len = length
    accepts_voice = r.eval_bool(opts.accepts_voice, frame, default=True, what="acceptsVoice")
    key = key_char(opts.termination_key) if opts.termination_key else None
    if opts.termination_key is None:
        key = r.agent.config.voice.dtmf_termination_key or "#"
    return DigitEntry(min_len, max_len, key, accepts_voice)


def _prebuilt(r: Runner, frame: Frame, entity: PrebuiltEntity, text: str | None, dtmf: str | None) -> Answer:
    entry = digit_entry(r, frame, entity)
    if entry is not None:
        result = read_digits(entry, dtmf=dtmf, text=text)
        if result.digits is None:
            return Answer(problem=result.problem)
        if entity.name == "NumberPrebuiltEntity":
            return Answer(int(result.digits), True)
        return Answer(result.digits, True)
    if dtmf:
        digits = clean_digits(dtmf).rstrip("#")
        if entity.name in DTMF_NUMBER and digits.isdigit():
            return Answer(int(digits), True)
        if entity.name == "BooleanPrebuiltEntity" and digits in {"1", "2"}:
            return Answer(digits == "1", True)
        if entity.name in DTMF_TEXT and digits:
            return Answer(digits, True)
        return Answer(problem="unknown-key")
    if text is None:
        return Answer(problem="no-match")
    recognizer = PREBUILT_ALL.get(entity.name)
    if recognizer is None:
        r.warn(f"entity {entity.name!r} is not recognised here; the answer is kept as text")
        stripped = text.strip()
        return Answer(stripped, True) if stripped else Answer(problem="no-match")
    match = recognizer(text, r.now)
    if match is None:
        return Answer(problem="no-match")
    value = match.value
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        value = naive_utc(value)
    return Answer(value, True)


def _choice_texts(item_id: str, display: str, synonyms: tuple[str, ...]) -> list[str]:
    return [normalise(t) for t in (display, item_id, *synonyms) if t and normalise(t)]


def _match_choices(
    options: list[tuple[Value, list[str], str | None]], text: str | None, dtmf: str | None
) -> Answer:
    """Pick an option by DTMF key, exact words, words inside the utterance, or ordinal."""
    if dtmf:
        key = clean_digits(dtmf).rstrip("#")[:1] or clean_digits(dtmf)[:1]
        for value, _, option_key in options:
            if option_key is not None and option_key == key:
                return Answer(value, True)
        return Answer(problem="unknown-key")
    if text is None:
        return Answer(problem="no-match")
    norm = normalise(text)
    for value, texts, _ in options:
        if norm in texts:
            return Answer(value, True)
    padded = f" {norm} "
    found = [(len(t), value) for value, texts, _ in options for t in texts if f" {t} " in padded]
    if found:
        found.sort(key=lambda f: -f[0])
        return Answer(found[0][1], True)
    ordinal = recognize_ordinal(text)
    if ordinal is not None and options:
        index = ordinal - 1 if ordinal > 0 else len(options) - 1
        if 0 <= index < len(options):
            return Answer(options[index][0], True)
    digits = spoken_digits(text)
    if digits is not None:
        for value, _, option_key in options:
            if option_key is not None and option_key == digits:
                return Answer(value, True)
    return Answer(problem="no-match")


def _generate_mapping(r: Runner, frame: Frame, entity: ClosedListEntity | DynamicClosedListEntity) -> bool:
    opts = entity.dtmf_multiple_choice
    if opts is None:
        return False
    return r.eval_bool(opts.generate_mapping, frame, default=False, what="generateMapping")


def _closed_list(r: Runner, frame: Frame, entity: ClosedListEntity, text: str | None, dtmf: str | None) -> Answer:
    generate = _generate_mapping(r, frame, entity)
    options: list[tuple[Value, list[str], str | None]] = []
    for index, item in enumerate(entity.items):
        key = key_char(item.dtmf_key) if item.dtmf_key else (str(index + 1) if generate and index < 9 else None)
        options.append((item.display_name, _choice_texts(item.id, item.display_name, item.synonyms), key))
    return _match_choices(options, text, dtmf)


def _row_label(row: Value) -> str:
    if isinstance(row, Record):
        for name in ("DisplayName", "displayName", "Name", "name", "Value", "value", "Id", "id"):
            field = row.get_field(name)
            if field is not None:
                return to_text(field)
        for field in row.values():
            if isinstance(field, str):
                return field
    return to_text(row)


def _dynamic_list(r: Runner, frame: Frame, entity: DynamicClosedListEntity, text: str | None, dtmf: str | None, node_id: str) -> Answer:
    items = r.eval(entity.items, frame, node=node_id, what="the list of options")
    rows = list(items.rows) if isinstance(items, Table) else []
    options: list[tuple[Value, list[str], str | None]] = []
    for index, row in enumerate(rows):
        label = _row_label(row)
        value: Value = row.get_field("Value") if isinstance(row, Record) and list(row) == ["Value"] else row
        options.append((value, [normalise(label)], str(index + 1) if index < 9 else None))
    return _match_choices(options, text, dtmf)


def _csat_answer(text: str | None, dtmf: str | None) -> Answer:
    if dtmf:
        key = clean_digits(dtmf).rstrip("#")[:1]
        return Answer(int(key), True) if key in {"1", "2", "3", "4", "5"} else Answer(problem="unknown-key")
    match = recognize_csat(text or "")
    return Answer(match.value, True) if match is not None else Answer(problem="no-match")


def recognize_answer(r: Runner, frame: Frame, node: Question, *, text: str | None, dtmf: str | None) -> Answer:
    if isinstance(node, CSATQuestion):
        return _csat_answer(text, dtmf)
    entity = node.entity
    if isinstance(entity, PrebuiltEntity):
        return _prebuilt(r, frame, entity, text, dtmf)
    if isinstance(entity, ClosedListEntity):
        return _closed_list(r, frame, entity, text, dtmf)
    if isinstance(entity, DynamicClosedListEntity):
        return _dynamic_list(r, frame, entity, text, dtmf, node.id)
    assert isinstance(entity, EntityReference)
    custom = r.agent.find_entity(entity.entity_id)
    if isinstance(custom, ClosedListEntity):
        return _closed_list(r, frame, custom, text, dtmf)
    if isinstance(custom, RegexEntity):
        return _regex(custom, text, dtmf)
    r.warn(f"entity {entity.kind} {entity.entity_id!r} is not defined in this agent; the answer is kept as text", frame, node.id)
    if dtmf:
        return Answer(clean_digits(dtmf), True)
    stripped = (text or "").strip()
    return Answer(stripped, True) if stripped else Answer(problem="no-match")


def _regex(entity: RegexEntity, text: str | None, dtmf: str | None) -> Answer:
    """A regex entity: the first match in what was said (or keyed), also with the spaces a
    recogniser puts between spoken letters and digits taken out ("a b 1 2 3" -> "ab123")."""
    said = clean_digits(dtmf) if dtmf else (text or "")
    candidates = [said.strip()]
    spoken = spoken_digits(said)
    if spoken is not None:
        candidates.append(spoken)
    candidates.append(re.sub(r"\s+", "", said))
    for candidate in candidates:
        try:
            match = regex.search(entity.pattern, candidate, timeout=0.5)
        except TimeoutError:
            return Answer(problem="no-match")
        if match is not None and match.group(0):
            return Answer(match.group(0), True)
    return Answer(problem="no-match")


def is_free_text(node: Question) -> bool:
    entity = node.entity
    return isinstance(entity, PrebuiltEntity) and entity.dtmf_options is None and entity.name in {
        "StringPrebuiltEntity", "PersonNamePrebuiltEntity",
    }


def accept(r: Runner, frame: Frame, node: Question, value: Value) -> Flow:
    """Store a recognised answer if it passes validation; otherwise the invalid path."""
    previous = r.read(node.variable, frame)
    r.assign(node.variable, value, frame)
    if node.validation is not None and not r.eval_bool(node.validation, frame, default=True, node=node.id, what="validation"):
        r.assign(node.variable, previous, frame)
        return no_match(r, frame, node, invalid=True)
    frame.question = None
    r.info(f"answer stored in {node.variable.path}", frame, node.id)
    return Flow.NEXT


def no_match(r: Runner, frame: Frame, node: Question, *, invalid: bool = False) -> Flow:
    q = frame.question
    assert q is not None
    q.tries += 1
    repeat = r.eval_int(node.repeat_count, frame, default=DEFAULT_REPEAT_COUNT, node=node.id, what="repeatCount")
    if q.tries <= (repeat if repeat is not None else DEFAULT_REPEAT_COUNT):
        prompt = node.invalid_prompt if invalid and node.invalid_prompt is not None else node.unrecognized_prompt
        emit(r, frame, prompt if prompt is not None else node.prompt, node.id)
        return Flow.WAIT
    return give_up(r, frame, node)


def give_up(r: Runner, frame: Frame, node: Question) -> Flow:
    """Out of retries: default value, fallback topic, escalation, or Blank."""
    frame.question = None
    if isinstance(node, CSATQuestion):
        return skip_survey(r, frame, node)
    if node.default_value is not None:
        value = r.eval(node.default_value, frame, node=node.id, what="defaultValue")
        r.assign(node.variable, value, frame)
        if node.default_value_response is not None:
            emit(r, frame, node.default_value_response, node.id)
        r.info(f"no answer recognised; {node.variable.path} set to the default value", frame, node.id)
        return Flow.NEXT
    if node.fallback_dialog_on_invalid_entity is not None:
        topic = resolve_topic(r, frame, node.fallback_dialog_on_invalid_entity, node.id)
        r.state.stack.pop()
        r.push(topic, started_by="fallback")
        return Flow.STAY
    return escalate(r, frame, node)


def skip_survey(r: Runner, frame: Frame, node: Question) -> Flow:
    """A CSAT survey the caller did not answer: said politely, the variable stays Blank."""
    r.say(CSATQuestion.SKIPPED)
    r.info("satisfaction survey skipped: no rating", frame, node.id)
    return Flow.NEXT


def escalate(r: Runner, frame: Frame, node: Question) -> Flow:
    topic = escalation_topic(r)
    if topic is None:
        r.warn(
            f"no answer recognised and no escalation topic; {node.variable.path} stays Blank",
            frame, node.id,
        )
        r.assign(node.variable, None, frame)
        return Flow.NEXT
    r.cancel_all(reason=f"question {node.id!r} escalated")
    r.push(topic, started_by="escalate")
    return Flow.STAY


# ---------------------------------------------------------------------------------------------
# silence


def voice_silence_timeout(r: Runner, frame: Frame, node: Question) -> int | None:
    vis = node.voice_input_settings
    if vis is None:
        return None
    return r.eval_int(vis.silence_timeout_ms, frame, default=None, node=node.id, what="silence timeout")


def on_silence(r: Runner, frame: Frame, node: Question) -> Flow:
    """The caller said nothing while the question waited."""
    q = frame.question
    assert q is not None
    if isinstance(node, CSATQuestion):
        frame.question = None
        return skip_survey(r, frame, node)
    vis = node.voice_input_settings
    if vis is None or voice_silence_timeout(r, frame, node) == 0:
        handlers = select_simple(r, "OnSilence")
        if handlers:
            mark_fired(r, handlers[0])
            r.push(handlers[0], started_by="silence")
            return Flow.STAY
    q.silences += 1
    repeat = DEFAULT_REPEAT_ON_SILENCE
    if vis is not None:
        value = r.eval_int(vis.repeat_count_on_silence, frame, default=DEFAULT_REPEAT_ON_SILENCE, node=node.id, what="repeatCountOnSilence")
        repeat = value if value is not None else DEFAULT_REPEAT_ON_SILENCE
    if q.silences <= repeat:
        response = vis.input_timeout_response if vis is not None else None
        emit(r, frame, response if response is not None else node.prompt, node.id)
        return Flow.WAIT
    action = vis.default_value_missing_action if vis is not None else "HangUp"
    frame.question = None
    if action == "SetValue" and vis is not None:
        r.assign(node.variable, r.eval(vis.default_value_on_silence, frame, node=node.id, what="defaultValueOnSilence"), frame)
        return Flow.NEXT
    if action == "SetEmpty":
        r.assign(node.variable, None, frame)
        return Flow.NEXT
    if action == "Escalate":
        return escalate(r, frame, node)
    if action == "GoToDialog" and vis is not None and vis.fallback_dialog_on_silence is not None:
        topic = resolve_topic(r, frame, vis.fallback_dialog_on_silence, node.id)
        r.state.stack.pop()
        r.push(topic, started_by="silence")
        return Flow.STAY
    record = end_from_timeout(
        EndReason.INACTIVITY_TIMEOUT,
        source="silence",
        raw=f"no answer after {q.silences} silence timeouts",
        started_at=r.state.started_at,
        at=r.now,
        transfer=r.state.transfer,
        node_id=node.id,
        topic=frame.topic,
    )
    r.end_conversation(record, hang_up_node=node.id)
    return Flow.END


# ---------------------------------------------------------------------------------------------
# listening


def listen_for(r: Runner, frame: Frame | None) -> Listen:
    """What the channel should listen for next: the waiting question's settings or defaults."""
    voice = r.agent.config.voice
    silence: int | None = voice.silence_timeout_ms
    silence_topics = select_simple(r, "OnSilence")
    if silence_topics:
        value = r.eval_int(silence_topics[0].trigger.silence_timeout_ms, None, default=None, what="silence timeout")
        if value:
            silence = value
    kwargs: dict[str, Any] = {
        "silence_timeout_ms": silence,
        "speech_end_timeout_ms": voice.speech_end_timeout_ms,
        "interdigit_timeout_ms": voice.interdigit_timeout_ms,
        "dtmf_finish_key": voice.dtmf_termination_key or None,
    }
    if frame is None or frame.question is None:
        return Listen(**kwargs)
    node = question_node(r, frame)
    if isinstance(node.prompt, Message):
        kwargs["allow_barge_in"] = node.prompt.allow_barge_in
    vis = node.voice_input_settings
    if vis is not None:
        timeout = voice_silence_timeout(r, frame, node)
        if timeout is not None:
            kwargs["silence_timeout_ms"] = timeout or None
        end = r.eval_int(vis.utterance_end_timeout_ms, frame, default=None, what="utteranceEndTimeout")
        if end is not None:
            kwargs["speech_end_timeout_ms"] = end
    entity = node.entity
    if isinstance(node, CSATQuestion):
        kwargs["dtmf_max_digits"] = 1
    elif isinstance(entity, PrebuiltEntity):
        entry = digit_entry(r, frame, entity)
        if entry is not None:
            kwargs["dtmf_min_digits"] = entry.min_length
            kwargs["dtmf_max_digits"] = entry.max_length
            kwargs["dtmf_finish_key"] = entry.termination_key
            kwargs["speech"] = entry.accepts_voice
            opts = entity.dtmf_options
            if opts is not None:
                interdigit = r.eval_int(opts.interdigit_timeout_ms, frame, default=None, what="interdigit timeout")
                if interdigit is not None:
                    kwargs["interdigit_timeout_ms"] = interdigit
        elif entity.name == "BooleanPrebuiltEntity":
            kwargs["dtmf_max_digits"] = 1
    elif isinstance(entity, (ClosedListEntity, DynamicClosedListEntity)):
        kwargs["dtmf_max_digits"] = 1
    return Listen(**kwargs)
