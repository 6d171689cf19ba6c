"""Building the generative nodes: SearchAndSummarizeContent, AnswerQuestionWithAI and
InvokeAIBuilderModelAction (prompt actions).

Copilot Studio's published schema lists their fields; our schema subset does not carry them,
so the fields are named here.  `responseConfidence` and `generatorInput` are not in the schema
but appear in authored YAML: they are read (a number 0..1; a text template), not warned about.
"""

from __future__ import annotations

from postcall.topics import codes
from postcall.topics.build import Fields, FileContext, start_span
from postcall.topics.build_parts import (
    SkipNode,
    build_input_bindings,
    build_latency,
    build_output_bindings,
)
from postcall.topics.model import Expr, GenerativeAnswers, InvokePrompt, Node, TextTemplate
from postcall.topics.source import YMap, YScalar

_OPENAI_FIELDS = (
    "kind", "id", "disabled", "conversationOutcome", "displayName", "latencyMessageSettings",
    "autoSend", "variable", "userInput", "moderationLevel", "historyType", "isFileAnalysisEnabled",
    "additionalInstructions",
)  # fmt: skip
SEARCH_FIELDS = (
    *_OPENAI_FIELDS, "webBrowsing", "webBrowsingOptions", "searchEmails", "fileSearchDataSource",
    "knowledgeSources", "customDataSource", "publicDataSource", "sharePointSearchDataSource",
    "azureOpenAIOnYourDataSource", "applyModelKnowledgeSetting", "responseCaptureType", "modality",
    "responseConfidence", "generatorInput",
)  # fmt: skip
PROMPT_FIELDS = (
    "kind", "id", "disabled", "conversationOutcome", "displayName", "latencyMessageSettings",
    "input", "output", "aIModelId",
)  # fmt: skip


def _template(fc: FileContext, f: Fields, key: str) -> TextTemplate | None:
    node = f.node.get(key)
    if node is None or (isinstance(node, YScalar) and node.is_null):
        return None
    return fc.template(node, f.what(key))


def _sources(fc: FileContext, f: Fields) -> tuple[str, ...] | None:
    node = f.mapping("knowledgeSources")
    if node is None:
        return None
    kind = node.get("kind")
    if isinstance(kind, YScalar) and kind.value == "SearchSpecificKnowledgeSources":
        sf = Fields(fc, node, "SearchSpecificKnowledgeSources", f.what("knowledgeSources"),
                    extra=("kind", "knowledgeSources"))
        return sf.texts("knowledgeSources")
    return None


def _files(fc: FileContext, f: Fields) -> tuple[str, tuple[str, ...]]:
    node = f.mapping("fileSearchDataSource")
    if node is None:
        return "all", ()
    mode = node.get("searchFilesMode")
    if not isinstance(mode, YMap):
        return "all", ()
    kind = mode.get("kind")
    name = kind.value if isinstance(kind, YScalar) else ""
    if name == "DoNotSearchFiles":
        return "none", ()
    if name == "SearchSpecificFiles":
        mf = Fields(fc, mode, "SearchSpecificFiles", f.what("searchFilesMode"), extra=("kind", "files"))
        return "specific", mf.texts("files")
    return "all", ()


def _confidence(fc: FileContext, f: Fields) -> float | None:
    node = f.get("responseConfidence")
    if node is None:
        return None
    try:
        if not isinstance(node, YScalar):
            raise ValueError
        value = float(node.value)
        if not 0.0 <= value <= 1.0:
            raise ValueError
        return value
    except ValueError:
        fc.add(codes.WRONG_TYPE, f"{f.what('responseConfidence')} must be a number from 0 to 1.", start_span(node.span))
        return None


def _history(fc: FileContext, f: Fields) -> tuple[bool, Expr | None]:
    """historyType: NoHistory, or ConversationHistory with numberOfPastUserMessagesToInclude."""
    node = f.mapping("historyType")
    if node is None:
        return True, None
    kind = node.get("kind")
    name = kind.value if isinstance(kind, YScalar) else ""
    if name == "NoHistory":
        Fields(fc, node, "NoHistory", f.what("historyType"), extra=("kind",))
        return False, None
    if name != "ConversationHistory":
        fc.add(codes.WRONG_TYPE, f"{f.what('historyType')} must be NoHistory or ConversationHistory, not {name or 'nothing'}.",
               start_span(node.span))
        return True, None
    hf = Fields(fc, node, "ConversationHistory", f.what("historyType"),
                extra=("kind", "numberOfPastUserMessagesToInclude"))
    return True, hf.expr("numberOfPastUserMessagesToInclude", "int")


def build_generative(fc: FileContext, f: Fields, c: dict[str, object]) -> Node:
    g = Fields(fc, f.node, str(c["kind"]), str(c["kind"]), extra=SEARCH_FIELDS)
    search_files, files = _files(fc, g)
    capture = g.text("responseCaptureType", "TextOnly") or "TextOnly"
    history, history_messages = _history(fc, g)
    return GenerativeAnswers(
        user_input=g.expr("userInput", "string"),
        variable=g.variable("variable"),
        auto_send=g.flag("autoSend", True),
        knowledge_sources=_sources(fc, g),
        search_files=search_files,
        files=files,
        additional_instructions=_template(fc, g, "additionalInstructions"),
        generator_input=_template(fc, g, "generatorInput"),
        response_confidence=_confidence(fc, g),
        response_capture="FullResponse" if capture == "FullResponse" else "TextOnly",
        apply_model_knowledge=g.flag("applyModelKnowledgeSetting", False),
        moderation_level=g.expr("moderationLevel", "string"),
        history=history,
        history_messages=history_messages,
        latency_message=build_latency(fc, g),
        **c,  # type: ignore[arg-type]
    )


def build_prompt(fc: FileContext, f: Fields, c: dict[str, object]) -> Node:
    g = Fields(fc, f.node, "InvokeAIBuilderModelAction", "InvokeAIBuilderModelAction", extra=PROMPT_FIELDS)
    model_id = g.text("aIModelId")
    inputs = build_input_bindings(fc, g)
    outputs = build_output_bindings(fc, g)
    if not model_id:
        g.missing("aIModelId")
        raise SkipNode
    return InvokePrompt(
        ai_model_id=model_id.strip(), input=inputs, output=outputs, latency_message=build_latency(fc, g),
        **c,  # type: ignore[arg-type]
    )


GENERATIVE_KINDS = ("SearchAndSummarizeContent", "AnswerQuestionWithAI", "InvokeAIBuilderModelAction")
