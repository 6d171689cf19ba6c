"""Generative answers (SearchAndSummarizeContent, AnswerQuestionWithAI) and prompt actions
(InvokeAIBuilderModelAction), on voice.

Knowledge is searched in the turn through the engine's retriever (an index opened by the
lifecycle layer; the engine only asks it).  A model call is a side effect like an HTTP request:
the node suspends with a "model" ActionRequest that the action layer carries out (in a call at
once, after a call as one checkpointed DBOS step whose recorded result a replay reuses), and
`apply_generative` finishes the node with the result.

Copilot Studio's semantics, as docs/compatibility.md lists them:

- with a model: a grounded answer from the retrieved passages (NO_ANSWER when they do not
  hold it), one or two spoken sentences, sources kept in the log and in FullResponse;
- without a model: the best passage's best sentence or two when its confidence reaches
  `responseConfidence` (agent.yaml `knowledge.response_confidence` by default);
- no answer (no sources, low confidence, the model failed, found nothing or answered no words): the variable is
  Blank and the conversation goes on with the next node; in the unknown-intent topic
  (Conversational boosting) the next OnUnknownIntent topic (Fallback) is queued after it, or
  the fallback message is said when there is none;
- `autoSend: false` writes the variable without speaking.

A prompt action without a model, or without a prompt definition, or whose answer does not fit
its schema, fails with RUN470 and takes the error path (OnError, System.Error.*).
"""

from __future__ import annotations

import json
import re
from typing import Any

from postcall.actions import ActionResult
from postcall.actions.model_output import strict_compatible, structured_answer
from postcall.diagnostics import Severity, register_code
from postcall.engine.interpreter import Flow, Runner
from postcall.engine.nodes.backend import latency, suspend
from postcall.engine.state import Frame
from postcall.engine.transcript import caller_spoke, note_sources, transcript_rows, transcript_text
from postcall.engine.triggers import select_simple
from postcall.engine.values import from_plain, to_plain
from postcall.knowledge.text import spoken_answer
from postcall.knowledge.types import Passage
from postcall.powerfx.values import Record, Table, Value
from postcall.topics.config import PromptDefinition
from postcall.topics.model import MODERATION_LEVELS, GenerativeAnswers, InvokePrompt, Node

RUN_GENERATIVE = register_code(
    "RUN470", Severity.ERROR,
    "A prompt action failed: no model configured, no prompt definition, the model call failed, "
    "or its answer does not fit the prompt's output schema.",
)
NO_ANSWER = "NO_ANSWER"
FALLBACK_MESSAGE = "Sorry, I'm not sure how to help with that. Can you try rephrasing?"

GROUNDED_SYSTEM = (
    "You answer callers on a phone line for {agent}. Answer only from the numbered passages "
    "below. If they do not hold the answer, reply exactly {no_answer}. Reply in one or two short "
    "sentences that read well aloud: no lists, no markdown, no links.{moderation}{style}{extra}\n\nPassages:\n{passages}"
)
MODERATION_DEFAULT = "High"  # the schema's default
# What each ContentModerationLevel asks of the model (no Azure content filter runs here; an
# endpoint's own filter, finish_reason "content_filter", is a no-answer at every level).
MODERATION_RULES = {
    "Minimum": "",
    "Low": " Reply exactly {no_answer} rather than give content meant to harm.",
    "Medium": " Reply exactly {no_answer} rather than say anything harmful or offensive.",
    "High": " Reply exactly {no_answer} rather than say anything harmful, offensive or not supported by what you were given.",
    "Maximum": " Reply exactly {no_answer} rather than say anything that could be harmful, offensive, speculative or "
               "not stated plainly in what you were given.",
}
HISTORY_DEFAULT = 5  # ConversationHistory.numberOfPastUserMessagesToInclude's schema default
GENERAL_SYSTEM = (
    "You answer callers on a phone line for {agent}. If you do not know, reply exactly "
    "{no_answer}. Reply in one or two short sentences that read well aloud: no lists, no "
    "markdown, no links.{moderation}{style}{extra}"
)


# ---------------------------------------------------------------------------------------------
# generative answers


def _question(r: Runner, frame: Frame, node: GenerativeAnswers) -> str:
    if node.user_input is not None:
        return (r.eval_text(node.user_input, frame, node=node.id, what="userInput") or "").strip()
    return str(r.scope(frame)["System"].get_field("Activity").get_field("Text") or "").strip()  # type: ignore[union-attr]


def _retrieve(r: Runner, frame: Frame, node: GenerativeAnswers, question: str) -> list[Passage]:
    index = getattr(r.engine, "knowledge", None)
    if index is None or not node.searches_knowledge:
        return []
    limit = r.agent.config.knowledge.max_passages
    sources: list[str] | None = None
    if node.knowledge_sources is not None:
        sources = list(index.resolve(node.knowledge_sources))
    if node.search_files != "all":
        files = {s.name for s in index.sources() if s.kind == "file"}
        allowed = index.resolve(node.files) if node.search_files == "specific" else []
        base = sources if sources is not None else list(index.source_names())
        sources = [s for s in base if s not in files or s in allowed]
    if sources is not None and not sources:
        r.info("generative answers: the node names no source the index has", frame, node.id)
        return []
    return list(index.search(question, sources=sources, limit=limit))


def run_generative(r: Runner, frame: Frame, node: GenerativeAnswers) -> Flow:
    question = _question(r, frame, node)
    if not question:
        return no_answer(r, frame, node, "there is no question")
    passages = _retrieve(r, frame, node, question)
    if r.agent.config.model is not None and (passages or not node.searches_knowledge or node.apply_model_knowledge):
        latency(r, frame, node)
        return suspend(r, frame, node, "model", _answer_payload(r, frame, node, question, passages))
    if not passages:
        return no_answer(r, frame, node, "no passage matched" if node.searches_knowledge else "no model is configured")
    best = passages[0]
    threshold = node.response_confidence if node.response_confidence is not None else r.agent.config.knowledge.response_confidence
    if best.confidence < threshold:
        return no_answer(r, frame, node, f"the best passage's confidence {best.confidence:.2f} is below {threshold:.2f}")
    text = spoken_answer(question, best.text, max_words=r.agent.config.knowledge.answer_words)
    return answered(r, frame, node, text, [best])


def _style(r: Runner, frame: Frame, node: GenerativeAnswers) -> tuple[str, str]:
    style = r.render(node.generator_input, frame, node=node.id).strip() if node.generator_input else ""
    extra = r.render(node.additional_instructions, frame, node=node.id).strip() if node.additional_instructions else ""
    return (f" Style: {style}" if style else ""), (f" {extra}" if extra else "")


def moderation_level(r: Runner, frame: Frame, node: GenerativeAnswers) -> str:
    """The node's ContentModerationLevel (a formula allowed); High when unset or not a level."""
    if node.moderation_level is None:
        return MODERATION_DEFAULT
    text = (r.eval_text(node.moderation_level, frame, node=node.id, what="moderationLevel") or "").strip()
    for level in MODERATION_LEVELS:
        if level.lower() == text.lower():
            return level
    r.warn(f"moderationLevel {text!r} is not one of {', '.join(MODERATION_LEVELS)}; {MODERATION_DEFAULT} is used",
           frame, node.id)
    return MODERATION_DEFAULT


def history_messages(r: Runner, frame: Frame, node: GenerativeAnswers) -> list[dict[str, str]]:
    """historyType: the conversation before this question, as chat messages (caller -> user,
    agent -> assistant), from the last N caller lines on; none for NoHistory."""
    if not node.history:
        return []
    count = r.eval_int(node.history_messages, frame, default=HISTORY_DEFAULT, node=node.id,
                       what="numberOfPastUserMessagesToInclude") or 0
    rows = transcript_rows(r.state)
    if rows and rows[-1].get("Speaker") == "caller":
        rows = rows[:-1]  # the question itself (the turn's own caller line) is sent last, not as history
    callers = [i for i, row in enumerate(rows) if row.get("Speaker") == "caller"]
    if count <= 0 or not callers:
        return []
    start = callers[-count] if count <= len(callers) else callers[0]
    return [
        {"role": "user" if row.get("Speaker") == "caller" else "assistant", "content": str(row.get("Text") or "")}
        for row in rows[start:]
    ]


def _answer_payload(r: Runner, frame: Frame, node: GenerativeAnswers, question: str, passages: list[Passage]) -> dict[str, Any]:
    style, extra = _style(r, frame, node)
    level = moderation_level(r, frame, node)
    moderation = MODERATION_RULES[level].format(no_answer=NO_ANSWER)
    if passages:
        listed = "\n".join(f"[{i}] ({p.title}) {p.text}" for i, p in enumerate(passages, 1))
        system = GROUNDED_SYSTEM.format(agent=r.agent.name, no_answer=NO_ANSWER, moderation=moderation, style=style,
                                        extra=extra, passages=listed)
    else:
        system = GENERAL_SYSTEM.format(agent=r.agent.name, no_answer=NO_ANSWER, moderation=moderation, style=style,
                                       extra=extra)
    return {
        "purpose": "answer",
        "moderation": level,
        "messages": [{"role": "system", "content": system}, *history_messages(r, frame, node),
                     {"role": "user", "content": question}],
        "citations": [{"source": p.source, "title": p.title, "url": p.url, "text": p.text} for p in passages],
    }


def _citations_table(citations: list[dict[str, Any]]) -> Table:
    rows = [
        {"Id": str(i), "Name": c.get("title") or c.get("source"), "Url": c.get("url"), "Text": c.get("text")}
        for i, c in enumerate(citations, 1)
    ]
    value = from_plain(rows)
    return value if isinstance(value, Table) else Table([])


def answered(r: Runner, frame: Frame, node: GenerativeAnswers, text: str, passages: list[Passage] | list[dict[str, Any]]) -> Flow:
    citations = [
        p if isinstance(p, dict) else {"source": p.source, "title": p.title, "url": p.url, "text": p.text}
        for p in passages
    ]
    names = ", ".join(dict.fromkeys(str(c.get("source")) for c in citations)) or "the model"
    r.info(f"generative answer from {names}", frame, node.id)
    if node.variable is not None:
        value: Value = text
        if node.response_capture == "FullResponse":
            inner: dict[str, Value] = {
                "Content": text, "MarkdownContent": text, "CitationSources": _citations_table(citations),
            }
            value = Record({"Text": Record(inner)})
        r.assign(node.variable, value, frame)
    if node.auto_send:
        r.say(text)
        note_sources(r.state, [str(c.get("source")) for c in citations])
    return Flow.NEXT


def no_answer(r: Runner, frame: Frame, node: GenerativeAnswers, why: str) -> Flow:
    """Copilot Studio's no-answer path: variable Blank, on to the next node; in the unknown-intent
    topic, the Fallback topic is queued after this one (or the fallback message said)."""
    r.info(f"generative answers: no answer ({why})", frame, node.id)
    if node.variable is not None:
        r.assign(node.variable, None, frame)
    if frame.started_by == "fallback":
        # the unknown-intent topics in their firing order: the one after this one runs next (never
        # an earlier one, so two boosting topics without an answer cannot hand over for ever)
        ordered = [t.name for t in select_simple(r, "OnUnknownIntent")]
        later = ordered[ordered.index(frame.topic) + 1:] if frame.topic in ordered else []
        others = [r.agent.topics[name] for name in later]
        if others:
            at = r.state.stack.index(frame) if frame in r.state.stack else 0
            r.state.stack.insert(at, Frame(topic=others[0].name, started_by="fallback"))
            r.info(f"topic {others[0].name!r} queued after {frame.topic!r} (no generative answer)", frame, node.id)
        elif node.auto_send:
            r.say(FALLBACK_MESSAGE)
    return Flow.NEXT


# ---------------------------------------------------------------------------------------------
# prompt actions


def _definition(r: Runner, node: InvokePrompt) -> PromptDefinition | None:
    prompts = r.agent.config.prompts
    return prompts.get(node.ai_model_id) or (prompts.get(node.display_name) if node.display_name else None)


_WORD = re.compile(r"\w")
_ENCODED = re.compile(r"_([0-9A-Fa-f]{2})")


def _decode(name: str) -> str:
    """Copilot Studio's export encodes characters of input and output names as `_XX` hex
    (`Problem_20Description` is "Problem Description"); the one place names are decoded, so a
    binding key and a prompt's `{hole}` match whichever form each is written in."""
    return _ENCODED.sub(lambda m: chr(int(m.group(1), 16)), name)


def fill_holes(text: str, values: dict[str, Any]) -> str:
    """The prompt text with each `{Name}` hole filled from `values` (keyed by binding name).

    A hole and a binding match on their decoded names: `{Problem Description}` and
    `{Problem_20Description}` are both filled from the binding `Problem_20Description` (or
    `Problem Description`).  A hole no binding fills is left as written."""
    by_name: dict[str, Any] = {}
    for key, value in values.items():
        by_name.setdefault(_decode(key.strip()), value)

    def sub(match: re.Match[str]) -> str:
        name = _decode(match.group(1).strip())
        if name not in by_name:
            return match.group(0)
        value = by_name[name]
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)

    return re.sub(r"\{([^{}\n]+)\}", sub, text)


def run_prompt(r: Runner, frame: Frame, node: InvokePrompt) -> Flow:
    definition = _definition(r, node)
    if definition is None:
        raise r.fault(
            f"InvokeAIBuilderModelAction {node.id!r} runs prompt {node.ai_model_id!r}"
            f"{f' ({node.display_name})' if node.display_name else ''}, which agent.yaml `prompts:` does not define.",
            code=RUN_GENERATIVE, error_code="PromptNotDefined", frame=frame, node=node.id, span=node.span,
        )
    if r.agent.config.model is None:
        raise r.fault(
            f"InvokeAIBuilderModelAction {node.id!r} needs a model, and agent.yaml configures none "
            "(model: base_url, model).",
            code=RUN_GENERATIVE, error_code="ModelNotConfigured", frame=frame, node=node.id, span=node.span,
        )
    values: dict[str, Any] = {}
    reads_transcript = False
    for binding in node.input:
        values[binding.name] = _plain_text(r.eval(binding.value, frame, node=node.id, what=f"prompt input {binding.name!r}"))
        reads_transcript = reads_transcript or any("Transcript" in n for n in binding.value.names)
    reads_transcript = reads_transcript or "Transcript" in definition.text
    if reads_transcript and definition.skip_without_caller_speech and not caller_spoke(r.state):
        r.info("prompt skipped: the call has no caller speech to analyse", frame, node.id)
        for out in node.output:
            r.assign(out.variable, None, frame)
        return Flow.NEXT
    values.setdefault("Transcript", transcript_text(r.state))
    messages = [{"role": "user", "content": fill_holes(definition.text, values)}]
    payload: dict[str, Any] = {"purpose": "prompt", "messages": messages}
    if definition.output_schema is not None:
        schema = to_plain(from_plain(dict(definition.output_schema)))
        payload["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": re.sub(r"[^A-Za-z0-9_-]", "_", definition.key)[:64] or "output",
                            # strict only where OpenAI's strict mode accepts the schema (a 400 otherwise)
                            "schema": schema, "strict": strict_compatible(schema)},
        }
        payload["output_schema"] = schema  # the model step checks the answer against it (model_output.py)
    latency(r, frame, node)
    return suspend(r, frame, node, "model", payload)


def _plain_text(value: Value) -> Any:
    if isinstance(value, Table):
        rows = to_plain(value)
        if isinstance(rows, list) and rows and all(isinstance(x, dict) and "Text" in x for x in rows):
            return "\n".join(f"{x.get('Speaker', '')}: {x.get('Text', '')}".strip() for x in rows)
        return rows
    return to_plain(value)


_FAILURES = {
    "timeout": "no answer in time",
    "connection": "endpoint unreachable",
    "bad_response": "malformed answer",
    "refusal": "the model refused",
    "budget": "time budget spent",
    "refused_host": "host not allowed",
    "no_model": "no model configured",
    "bad_request": "request not sent",
    "bad_output": "answer did not fit the prompt's schema",
    "content_filter": "withheld by the content filter",
}


def note_failure(r: Runner, frame: Frame, node: Node, result: ActionResult, then: str) -> None:
    """The transcript note of a failed model call: what failed, tries, time; never the key, the
    endpoint's words (they may echo the caller) or the caller's text."""
    category = result.error_category or "error"
    what = f"HTTP {result.status_code}" if category == "http_status" and result.status_code else _FAILURES.get(category, category)
    tries = f"{result.attempts} {'try' if result.attempts == 1 else 'tries'}"
    took = f" in {result.elapsed_ms / 1000:.1f} s" if result.elapsed_ms is not None else ""
    model = r.agent.config.model
    r.note(f"Model call failed: {what} after {tries}{took}; {then}.", frame, node.id, kind=category,
           status=result.status_code, tries=result.attempts, elapsed_ms=result.elapsed_ms,
           budget_s=model.budget_seconds if model is not None else None)


def _apply_prompt(r: Runner, frame: Frame, node: InvokePrompt, result: ActionResult) -> Flow:
    if not result.ok:
        category = result.error_category
        if category == "bad_output":  # the model step checked the answer (actions/model_output.py)
            note_failure(r, frame, node, result, "the prompt's error path")
            raise r.fault(f"Prompt {node.ai_model_id!r} ({node.id!r}) {(result.error or '').replace('The model ', '', 1)}",
                          code=RUN_GENERATIVE, error_code="PromptOutputInvalid", frame=frame, node=node.id, span=node.span)
        if category == "content_filter":
            r.note("Model answer withheld by the endpoint's content filter; the prompt's error path.", frame, node.id,
                   kind="content_filter", status=result.status_code, tries=result.attempts, elapsed_ms=result.elapsed_ms)
            raise r.fault(f"Prompt {node.ai_model_id!r} ({node.id!r}) was withheld by the endpoint's content filter.",
                          code=RUN_GENERATIVE, error_code="ContentFiltered", frame=frame, node=node.id, span=node.span)
        note_failure(r, frame, node, result, "the prompt's error path")
        raise r.fault(
            f"Prompt {node.ai_model_id!r} ({node.id!r}) failed: {result.error or result.error_category}.",
            code=RUN_GENERATIVE, error_code="ModelCallFailed", frame=frame, node=node.id, span=node.span,
        )
    text = str((result.json or {}).get("content") if isinstance(result.json, dict) else result.body or "")
    definition = _definition(r, node)
    structured: Any = None
    if definition is not None and definition.output_schema is not None:
        # an answer recorded before the step checked it is still checked here (same function)
        structured, problem = structured_answer(text, definition.output_schema)
        if problem:
            raise r.fault(
                f"Prompt {node.ai_model_id!r} ({node.id!r}) answered {problem}",
                code=RUN_GENERATIVE, error_code="PromptOutputInvalid", frame=frame, node=node.id, span=node.span,
            )
    for binding in node.output:
        name = binding.name
        value: Value
        if name in ("", "text", "predictionOutput", "Text"):
            value = from_plain(structured) if structured is not None and name == "" else text
        elif name in ("structuredOutput", "output") and structured is not None:
            value = from_plain(structured)
        elif isinstance(structured, dict):
            value = from_plain(structured.get(name, structured.get(_decode(name))))
        else:
            value = None
        r.assign(binding.variable, value, frame)
    return Flow.NEXT


def apply_generative(r: Runner, frame: Frame, node: Node, result: ActionResult) -> Flow:
    if isinstance(node, InvokePrompt):
        return _apply_prompt(r, frame, node, result)
    assert isinstance(node, GenerativeAnswers)
    if not result.ok:
        r.info(f"the model call failed ({result.error_category}): {result.error}", frame, node.id)
        note_failure(r, frame, node, result, "no answer given")
        return no_answer(r, frame, node, f"the model call failed ({result.error_category})")
    data = result.json if isinstance(result.json, dict) else {}
    if data.get("finish_reason") == "content_filter":
        r.note("Model answer withheld by the endpoint's content filter; no answer given.", frame, node.id,
               kind="content_filter", status=result.status_code, tries=result.attempts, elapsed_ms=result.elapsed_ms)
        return no_answer(r, frame, node, "the endpoint's content filter withheld the answer")
    text = " ".join(str(data.get("content") or result.body or "").split())
    if not text or NO_ANSWER in text:
        return no_answer(r, frame, node, "the model found no answer in the passages")
    if not _WORD.search(text):  # ".", "...", "-": nothing a caller could use
        return no_answer(r, frame, node, f"the model's answer has no words ({text[:20]!r})")
    return answered(r, frame, node, text, list(data.get("citations") or []))
