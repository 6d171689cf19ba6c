"""Understanding what a caller said: the recognisers the runtime can use to pick topics.

`recognizer_for(agent)` returns the one agent.yaml's `recognizer:` selects, prepared on the
agent's intent topics (the engine calls `prepare` again only if the candidates change);
`default_recognizer()` is the embedded one with its calibrated thresholds.  This package sits
beside the engine, not in it: it loads a model from an installed package, and the engine does
no I/O.  The engine sees only the `Recognizer` protocol (postcall.engine.recognizer).
"""

from __future__ import annotations

from dataclasses import replace

from postcall.engine.recognizer import IntentCandidate, PhraseRecognizer, Recognizer
from postcall.topics.agent import Agent
from postcall.topics.config import RecognizerSettings
from postcall.understanding.embedded import EmbeddedRecognizer, Thresholds
from postcall.understanding.embedding import ModelUnavailable, StaticEmbedder, load_embedder

__all__ = [
    "EmbeddedRecognizer",
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


def recognizer_from_settings(settings: RecognizerSettings) -> Recognizer:
    """The recogniser agent.yaml's `recognizer:` describes."""
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
    return EmbeddedRecognizer(replace(Thresholds(), **overrides))


def intent_candidates(agent: Agent) -> list[IntentCandidate]:
    """Every topic a phrase can trigger (OnRecognizedIntent, OnEscalate), for `prepare`."""
    return [
        IntentCandidate(t.name, t.trigger.trigger_queries, t.trigger.priority)
        for t in agent.topics.values()
        if t.trigger.kind in ("OnRecognizedIntent", "OnEscalate") and t.trigger.trigger_queries
    ]


def recognizer_for(agent: Agent) -> Recognizer:
    """The agent's configured recogniser, prepared on its intent topics."""
    recognizer = recognizer_from_settings(agent.config.recognizer)
    if isinstance(recognizer, EmbeddedRecognizer):
        recognizer.prepare(intent_candidates(agent))
    return recognizer
