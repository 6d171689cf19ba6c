"""Understanding what a caller said: the recognisers the runtime can use to pick topics.

`recognizer_for(agent)` returns the one agent.yaml's `recognizer:` selects, prepared on the
agent's intent topics (the engine calls `prepare` again only if the candidates change);
`default_recognizer()` is the embedded one with its calibrated thresholds.  This package sits
beside the engine, not in it: it loads a model from an installed package, and the engine does
no I/O.  The engine sees only the `Recognizer` protocol (postcall.engine.recognizer).

The `llm` and `http` kinds send requests, which this package never does itself: they take an
`Execute` (one request through the action layer, synchronously) from the caller;
`postcall.lifecycle.recognition.runtime_recognizer(agent)` builds one with the agent's action
settings (allowed hosts, the recogniser's timeout).
"""

from __future__ import annotations

from dataclasses import replace

from postcall.engine.recognizer import IntentCandidate, PhraseRecognizer, Recognizer
from postcall.engine.triggers import agent_intent_candidates
from postcall.errors import ConfigError
from postcall.topics.agent import Agent
from postcall.topics.config import RecognizerSettings
from postcall.understanding.embedded import EmbeddedRecognizer, Thresholds
from postcall.understanding.embedding import ModelUnavailable, StaticEmbedder, load_embedder
from postcall.understanding.llm import LlmRecognizer
from postcall.understanding.remote import Execute, HttpRecognizer, RemoteRecognizer

__all__ = [
    "EmbeddedRecognizer",
    "Execute",
    "HttpRecognizer",
    "LlmRecognizer",
    "RemoteRecognizer",
    "ModelUnavailable",
    "StaticEmbedder",
    "Thresholds",
    "default_recognizer",
    "intent_candidates",
    "load_embedder",
    "recognizer_for",
    "recognizer_from_settings",
]


def default_recognizer() -> EmbeddedRecognizer:
    """The runtime's default recogniser (embedded, calibrated thresholds), not yet prepared."""
    return EmbeddedRecognizer()


def recognizer_from_settings(
    settings: RecognizerSettings,
    execute: Execute | None = None,
    *,
    agent: Agent | None = None,
) -> Recognizer:
    """The recogniser agent.yaml's `recognizer:` describes (`execute` is needed by llm and http)."""
    if settings.kind == "lexical":
        lexical = PhraseRecognizer()
        if settings.match_threshold is not None:
            lexical.threshold = settings.match_threshold
        if settings.strong is not None:
            lexical.strong = settings.strong
        return lexical
    overrides = {
        name: value
        for name in ("match_threshold", "similarity_floor", "ambiguity_ratio", "strong")
        if (value := getattr(settings, name)) is not None
    }
    embedded = EmbeddedRecognizer(replace(Thresholds(), **overrides))
    if settings.kind not in ("llm", "http"):
        return embedded
    if execute is None:
        raise ConfigError(
            f"The {settings.kind!r} recogniser sends requests through the action layer: build it with "
            "postcall.lifecycle.recognition.runtime_recognizer(agent), or pass execute=."
        )
    name = agent.config.name if agent is not None else "agent"
    if settings.kind == "llm":
        return LlmRecognizer(
            execute, descriptions=topic_descriptions(agent) if agent is not None else {}, agent=name,
            fallback=embedded, timeout_s=settings.timeout_seconds,
        )
    if settings.url is None:
        raise ConfigError("The 'http' recogniser needs recognizer.url in agent.yaml.")
    return HttpRecognizer(
        execute, settings.url, secret_env=settings.secret_env, auth=settings.auth, min_score=settings.min_score,
        language=agent.config.language if agent is not None else "en-US", agent=name,
        fallback=embedded, timeout_s=settings.timeout_seconds,
    )


def topic_descriptions(agent: Agent) -> dict[str, str]:
    """What the llm recogniser tells the model about each topic: its modelDescription, else
    its display name (Copilot Studio's generative orchestration reads the same)."""
    out: dict[str, str] = {}
    for topic in agent.topics.values():
        text = topic.model_description or topic.model_display_name or topic.trigger.intent_display_name
        if text:
            out[topic.name] = " ".join(text.split())[:400]
    return out


def intent_candidates(agent: Agent) -> list[IntentCandidate]:
    """Every topic the agent's configured recogniser can start (OnRecognizedIntent, OnEscalate
    with trigger phrases; with `kind: llm`, also those with only a modelDescription)."""
    return agent_intent_candidates(agent, described=agent.config.recognizer.kind == "llm")


def recognizer_for(agent: Agent, execute: Execute | None = None) -> Recognizer:
    """The agent's configured recogniser, prepared on its intent topics."""
    recognizer = recognizer_from_settings(agent.config.recognizer, execute, agent=agent)
    if isinstance(recognizer, EmbeddedRecognizer | RemoteRecognizer):
        recognizer.prepare(intent_candidates(agent))
    return recognizer
