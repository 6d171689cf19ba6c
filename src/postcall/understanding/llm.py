"""The language-model recogniser: the agent's model endpoint picks the topic (remote.py's frame).

As Copilot Studio's generative orchestration does, the model sees every candidate topic's
name, description (`modelDescription`, else the display name) and a few trigger phrases, and
the caller's words, and answers which topic is meant.  The answer is structured output: a JSON
schema (`response_format` `json_schema`, strict) whose topic names are an enum of the
candidates, so a model that honours schemas cannot name another; the answer is validated
anyway, and anything that does not fit (not JSON, a missing field, an unknown topic, "match"
without a topic) makes the embedded recogniser decide instead.

    {"outcome": "match" | "ambiguous" | "none", "topics": [names, best first],
     "confidence": 0..1, "reason": "..."}

The first topic's score is the model's confidence (so `strong`, the score a match needs to
interrupt a question, keeps its meaning); the other options of an ambiguous answer get 0.9x,
0.8x of it.  A model scores nothing else, and the explanation says so rather than inventing
a ranking.  The caller's words go in the user message, never in the instructions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from postcall.actions import ActionRequest, ActionResult
from postcall.engine.recognizer import IntentCandidate, IntentMatch, Recognition
from postcall.understanding.embedded import EmbeddedRecognizer, Thresholds
from postcall.understanding.remote import Execute, RemoteFailure, RemoteRecognizer

PHRASES_IN_PROMPT = 5
MAX_TOKENS = 200

SYSTEM = (
    "You route what a caller says on a phone line to a topic of the agent {agent}. The topics, "
    "each with its description and example phrases:\n{topics}\n\n"
    "Decide which topic the caller means. outcome \"match\": one topic clearly fits; "
    "\"ambiguous\": two or three fit about equally well (list them, best first); \"none\": no "
    "topic fits (small talk, another subject, noise). Write topic names exactly as listed. "
    "confidence is how sure you are of the first topic, from 0 to 1. Answer only the JSON object."
)


def _schema(names: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {
            "name": "topic_choice",
            "strict": True,
            "schema": {
                "type": "object",
                "additionalProperties": False,
                "required": ["outcome", "topics", "confidence", "reason"],
                "properties": {
                    "outcome": {"type": "string", "enum": ["match", "ambiguous", "none"]},
                    "topics": {"type": "array", "items": {"type": "string", "enum": list(names)}},
                    "confidence": {"type": "number"},
                    "reason": {"type": "string"},
                },
            },
        },
    }


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)


class LlmRecognizer(RemoteRecognizer):
    """A language model through the model endpoint chooses the topic (module docstring)."""

    kind = "llm"
    reads_descriptions = True  # a topic with only a modelDescription is a candidate

    def __init__(
        self,
        execute: Execute,
        *,
        descriptions: Mapping[str, str] | None = None,
        agent: str = "agent",
        fallback: EmbeddedRecognizer | None = None,
        timeout_s: float = 3.0,
        thresholds: Thresholds | None = None,
    ) -> None:
        super().__init__(execute, fallback=fallback, timeout_s=timeout_s, thresholds=thresholds)
        self.descriptions = dict(descriptions or {})
        self.agent = agent

    def messages(self, text: str, candidates: Sequence[IntentCandidate]) -> list[dict[str, str]]:
        lines = []
        for c in candidates:
            description = self.descriptions.get(c.topic) or c.topic
            examples = "; ".join(json.dumps(p, ensure_ascii=False) for p in c.phrases[:PHRASES_IN_PROMPT])
            lines.append(f"- {c.topic}: {description}." + (f" Examples: {examples}" if examples else ""))
        return [
            {"role": "system", "content": SYSTEM.format(agent=json.dumps(self.agent), topics="\n".join(lines))},
            {"role": "user", "content": text},
        ]

    def request(self, text: str, candidates: Sequence[IntentCandidate]) -> ActionRequest:
        return ActionRequest(
            kind="model", node_id="recognizer", topic="", conversation_id="",
            idempotency_key=self._key(text, candidates),
            payload={"messages": self.messages(text, candidates), "max_tokens": MAX_TOKENS,
                     "response_format": _schema([c.topic for c in candidates])},
        )

    def read(self, result: ActionResult, candidates: Sequence[IntentCandidate]) -> Recognition:
        content = (result.json or {}).get("content") if isinstance(result.json, dict) else result.body
        text = str(content or "")
        fenced = _FENCE.match(text)
        try:
            data = json.loads(fenced.group(1) if fenced else text)
        except ValueError:
            raise RemoteFailure(f"the model's answer is not JSON: {text[:60]!r}") from None
        if not isinstance(data, dict):
            raise RemoteFailure("the model's answer is not a JSON object")
        outcome, topics, confidence = data.get("outcome"), data.get("topics"), data.get("confidence", 1.0)
        reason = str(data.get("reason") or "").strip()[:200]
        if outcome not in ("match", "ambiguous", "none"):
            raise RemoteFailure(f"the model's outcome {outcome!r} is not match, ambiguous or none")
        if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
            raise RemoteFailure("the model's topics are not a list of names")
        if isinstance(confidence, bool) or not isinstance(confidence, int | float):
            raise RemoteFailure(f"the model's confidence {confidence!r} is not a number")
        known = {c.topic: c for c in candidates}
        unknown = [t for t in topics if t not in known]
        if unknown:
            raise RemoteFailure(f"the model named {unknown[0]!r}, which is not a candidate topic")
        names = list(dict.fromkeys(topics))[: self.thresholds.max_options]
        said = f"the model: {reason}" if reason else "the model chose"
        if outcome == "none" or not names:
            if outcome != "none":
                raise RemoteFailure(f"the model answered {outcome!r} without a topic")
            return Recognition.no_match(f"{said} (a model names topics; it gives no scores)", (), self.kind)
        top = max(0.0, min(1.0, float(confidence)))
        chosen = tuple(IntentMatch(name, round(top * (1 - 0.1 * i), 6), "") for i, name in enumerate(names))
        if outcome == "ambiguous" and len(chosen) > 1:
            return Recognition("ambiguous", chosen, chosen, f"{said} ({len(chosen)} topics fit)", self.kind)
        return Recognition(
            "match", chosen[:1], chosen, f"{said} (confidence {top:.2f}; a model gives no scores for other topics)", self.kind,
        )
