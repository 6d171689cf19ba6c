"""What `postcall check` says about knowledge, models and prompts (warnings: none stops a call).

- KNW300: a knowledge file entry has no document, or a document cannot be read (its path named;
  the rest is indexed);
- KNW301: the knowledge index cannot be built (where it lives and why; a server logs the same
  at start, `knowledge_index_build_failed`, and keeps running without it);
- KNW302: a generative answers node names a knowledge source (`knowledgeSources`) the agent
  has neither an export entry nor a document for (the node searches nothing of it);
- GEN310: a prompt action or AnswerQuestionWithAI cannot run because no model is configured
  (the prompt action takes its error path, AnswerQuestionWithAI its no-answer path);
- GEN311: a prompt action names a prompt that agent.yaml `prompts:` does not define;
- GEN312: a generative answers node's `moderationLevel` is not one of the schema's levels
  (High is used);
- GEN313: a prompt's `output` is not a valid JSON Schema (`type: objekt`): said before any
  model is paid for, since every answer would then fail its check.
"""

from __future__ import annotations

from pathlib import Path

from postcall.actions.model_output import schema_error
from postcall.diagnostics import Diagnostic, Severity, SourceSpan, register_code
from postcall.knowledge.index import KnowledgeIndex
from postcall.topics.agent import Agent
from postcall.topics.model import MODERATION_LEVELS, GenerativeAnswers, InvokePrompt

KNOWLEDGE_PROBLEM = register_code("KNW300", Severity.WARNING, "A knowledge document is missing or cannot be read.")
INDEX_FAILED = register_code("KNW301", Severity.WARNING, "The knowledge index cannot be built.")
UNKNOWN_SOURCE = register_code("KNW302", Severity.WARNING, "A generative node names a knowledge source the agent does not have.")
NO_MODEL = register_code("GEN310", Severity.WARNING, "A generative node needs a model and agent.yaml configures none.")
NO_PROMPT = register_code("GEN311", Severity.WARNING, "A prompt action names a prompt agent.yaml does not define.")
BAD_MODERATION = register_code("GEN312", Severity.WARNING, "A moderationLevel is not one of Minimum, Low, Medium, High, Maximum.")
BAD_SCHEMA = register_code("GEN313", Severity.WARNING, "A prompt's output is not a valid JSON Schema.")


def agent_root(agent: Agent) -> Path:
    return agent.root if agent.root.is_dir() else agent.root.parent


def knowledge_diagnostics(agent: Agent, index: KnowledgeIndex | None = None) -> list[Diagnostic]:
    """Every diagnostic above, in file order (builds the knowledge index if it is stale)."""
    out: list[Diagnostic] = []
    needs_index = False
    named: list[GenerativeAnswers] = []
    for topic in agent.topics.values():
        for node in topic.walk():
            if isinstance(node, InvokePrompt):
                if agent.config.model is None:
                    out.append(Diagnostic(
                        NO_MODEL, Severity.WARNING,
                        f"InvokeAIBuilderModelAction {node.id!r} needs a model and agent.yaml has no `model:`; "
                        "running it takes the error path (OnError, System.Error.Code ModelNotConfigured).",
                        node.span, "add model: {base_url: ..., model: ...} to agent.yaml (docs/models.md)",
                    ))
                prompts = agent.config.prompts
                if node.ai_model_id not in prompts and (node.display_name or "") not in prompts:
                    out.append(Diagnostic(
                        NO_PROMPT, Severity.WARNING,
                        f"InvokeAIBuilderModelAction {node.id!r} runs prompt {node.ai_model_id!r}, which agent.yaml "
                        "`prompts:` does not define; running it takes the error path (PromptNotDefined).",
                        node.span, f"add prompts: {{{node.ai_model_id!r}: {{text: ...}}}} to agent.yaml",
                    ))
            elif isinstance(node, GenerativeAnswers):
                needs_index = needs_index or node.searches_knowledge
                if node.knowledge_sources:
                    named.append(node)
                level = node.moderation_level
                if level is not None and level.formula is None and not level.text.startswith("=") \
                        and level.text.strip().lower() not in {m.lower() for m in MODERATION_LEVELS}:
                    out.append(Diagnostic(
                        BAD_MODERATION, Severity.WARNING,
                        f"{node.kind} {node.id!r} has moderationLevel {level.text!r}, not one of "
                        f"{', '.join(MODERATION_LEVELS)}; High is used.",
                        level.span,
                    ))
                if not node.searches_knowledge and agent.config.model is None:
                    out.append(Diagnostic(
                        NO_MODEL, Severity.WARNING,
                        f"AnswerQuestionWithAI {node.id!r} needs a model and agent.yaml has no `model:`; "
                        "it will never answer (its variable stays blank).",
                        node.span,
                    ))
    root = agent_root(agent)
    out.extend(_schema_diagnostics(agent, root))
    if needs_index or (root / "knowledge").is_dir():
        idx = index or KnowledgeIndex(root)
        try:
            idx.ensure()
        except Exception as exc:  # whatever the backend raises, `check` reports it and goes on
            out.append(Diagnostic(
                INDEX_FAILED, Severity.WARNING,
                f"The knowledge index at {idx.location} cannot be built: {type(exc).__name__}: {exc}; "
                "generative answers will find no passages until it can.",
                SourceSpan("knowledge", 1, 1),
            ))
            return out
        for problem in idx.problems:
            out.append(Diagnostic(KNOWLEDGE_PROBLEM, Severity.WARNING, problem.message, SourceSpan(problem.path, 1, 1)))
        sources = idx.sources()
        for node in named:
            for reference in node.knowledge_sources or ():
                if not any(source.matches(reference) for source in sources):
                    out.append(Diagnostic(
                        UNKNOWN_SOURCE, Severity.WARNING,
                        f"{node.kind} {node.id!r} searches knowledge source {reference!r}, which the agent does not "
                        "have (no knowledge/*.mcs.yml entry or document of that name); it finds nothing there.",
                        node.span,
                        f"known sources: {', '.join(s.name for s in sources) or 'none'}",
                    ))
    return out


def _schema_diagnostics(agent: Agent, root: Path) -> list[Diagnostic]:
    try:
        lines = (root / "agent.yaml").read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    out = []
    for key, prompt in agent.config.prompts.items():
        if prompt.output_schema is None:
            continue
        problem = schema_error(dict(prompt.output_schema))
        if problem is None:
            continue
        line = next((i for i, text in enumerate(lines, 1) if text.strip().strip("'\"").startswith(key)), 1)
        out.append(Diagnostic(
            BAD_SCHEMA, Severity.WARNING,
            f"Prompt {key!r} has an output that is not a valid JSON Schema ({problem}); every answer would "
            "fail its check and take the error path (PromptOutputInvalid).",
            SourceSpan("agent.yaml", line, 1),
        ))
    return out
