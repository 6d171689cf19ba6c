"""Recognisers that ask something outside the process: a language model, or an external NLU.

Both send one request per utterance through the action layer (an `Execute` the lifecycle
layer hands in: the one place that checks allowed hosts, applies timeouts and records what was
sent, with secrets redacted), and both fall back to the embedded recogniser whenever no usable
answer comes: a timeout, a refused host, an error status, a malformed answer, a topic that is
not a candidate.  The fallback is part of the decision: `Recognition.recognizer` says
`llm->embedded` (or `http->embedded`) and the reason starts with why the remote answer was not
used, so `chat --explain` and the console show it.

* `LlmRecognizer` (`recognizer: {kind: llm}`): the agent's `model:` endpoint chooses among the
  candidate topics from their names, descriptions and trigger phrases, as Copilot Studio's
  generative orchestration does, answering JSON that fits a schema whose topic names are an
  enum of the candidates (llm.py builds the prompt and reads the answer).
* `HttpRecognizer` (`recognizer: {kind: http, url: ...}`): POSTs the utterance and the
  candidate topics as JSON and reads back scored topics (the shape is documented in
  docs/engine.md and in `HttpRecognizer`), signed with an HMAC of a secret from the
  environment, or carrying it as a bearer token.

A recogniser here keeps nothing between calls: each `decide` is one request.  The engine records
each decision with the words and candidates it answered (`postcall.engine.recognizer.Decision`),
and a turn worked out again (the lifecycle re-plans a step when another turn of the conversation
was saved meanwhile) reuses it instead of asking again, so the first answer stands; the history
keeps it with the turn (docs/engine.md, "A language model ... and an external NLU").  Empty
input and a turn with no candidates never leave the process.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

from postcall.actions import ActionRequest, ActionResult
from postcall.engine.recognizer import IntentCandidate, IntentMatch, Recognition
from postcall.safetext import clean_text
from postcall.understanding.embedded import EmbeddedRecognizer, Thresholds
from postcall.understanding.embedding import MAX_CHARS


class Execute(Protocol):
    """Carries out one request through the action layer, synchronously (never raises for a failure).

    `total_s` is the longest the caller may wait for it, answer included: the action layer cuts
    the request off then and returns a timeout (`execute_action(total_s=)`);
    `InProcessActions.execute` is one."""

    def __call__(self, request: ActionRequest, /, *, total_s: float | None = None) -> ActionResult: ...


SIGNATURE_HEADER = "X-Postcall-Signature"
TIMESTAMP_HEADER = "X-Postcall-Timestamp"


class RemoteFailure(Exception):
    """The remote answer cannot be used (the message says why, for the explanation)."""


def _phrased(candidates: Sequence[IntentCandidate]) -> list[IntentCandidate]:
    """The candidates the embedded fallback can score: those with trigger phrases (a topic with
    only a description is the language model's to choose)."""
    return [c for c in candidates if c.phrases]


class RemoteRecognizer:
    """What both remote kinds share: the request and the fallback (module docstring)."""

    kind = "remote"
    asks_remotely = True  # the engine asks only when the decision can matter (engine.recognizer)

    def __init__(
        self,
        execute: Execute,
        *,
        fallback: EmbeddedRecognizer | None = None,
        timeout_s: float = 3.0,
        thresholds: Thresholds | None = None,
    ) -> None:
        self.execute = execute
        self.fallback = fallback or EmbeddedRecognizer(thresholds)
        self.thresholds = thresholds or self.fallback.thresholds
        self.timeout_s = timeout_s

    @property
    def name(self) -> str:
        return self.kind

    @property
    def strong(self) -> float:
        return self.thresholds.strong

    def prepare(self, candidates: Sequence[IntentCandidate]) -> None:
        """Prepare the fallback (the remote side needs nothing ahead of a turn)."""
        self.fallback.prepare(_phrased(candidates))

    def recognize(self, text: str, candidates: Sequence[IntentCandidate]) -> list[IntentMatch]:
        return list(self.decide(text, candidates).chosen)

    def decide(self, text: str, candidates: Sequence[IntentCandidate]) -> Recognition:
        text = clean_text(text)  # what UTF-8 cannot carry (a lone surrogate) becomes U+FFFD, as in a webhook
        if not text.strip() or not candidates:
            return replace(self.fallback.decide(text, _phrased(candidates)), recognizer=self.kind)
        try:
            # timeout_seconds bounds the caller's whole wait, not each read of the answer
            result = self.execute(self.request(text[:MAX_CHARS], candidates), total_s=self.timeout_s)
            if not result.ok:
                raise RemoteFailure(result.error or f"the request failed ({result.error_category})")
            recognition = self.read(result, candidates)
        except RemoteFailure as failure:
            recognition = self._fallback(str(failure), text, candidates)
        except Exception as exc:  # a bug here must cost the caller a fallback, never the turn
            recognition = self._fallback(f"internal error {type(exc).__name__}: {exc}", text, candidates)
        return recognition

    def _fallback(self, why: str, text: str, candidates: Sequence[IntentCandidate]) -> Recognition:
        found = self.fallback.decide(text, _phrased(candidates))
        return replace(found, reason=f"{self.kind} not used ({why}); embedded: {found.reason}",
                       recognizer=f"{self.kind}->embedded")

    def request(self, text: str, candidates: Sequence[IntentCandidate]) -> ActionRequest:
        raise NotImplementedError

    def read(self, result: ActionResult, candidates: Sequence[IntentCandidate]) -> Recognition:
        raise NotImplementedError

    def _key(self, text: str, candidates: Sequence[IntentCandidate]) -> str:
        digest = hashlib.sha256("\x1f".join([text, *(c.topic for c in candidates)]).encode()).hexdigest()
        return f"recognize:{digest[:24]}"

    def ranked_decision(self, scored: Sequence[IntentMatch], min_score: float, why: str) -> Recognition:
        """match / ambiguous / none from scored topics, best first (the embedded rules' shape)."""
        th = self.thresholds
        ranked = tuple(scored[:5])
        if not scored or scored[0].score < min_score:
            best = f"best {scored[0].score:.2f}" if scored else "no topic"
            return Recognition.no_match(f"{why}: {best} < {min_score:.2f}", ranked, self.kind)
        best_match = scored[0]
        close = [m for m in scored[1 : th.max_options] if m.score >= min_score and m.score >= th.ambiguity_ratio * best_match.score]
        if close:
            chosen = (best_match, *close)
            return Recognition("ambiguous", chosen, ranked, f"{why}: {len(chosen)} topics are close", self.kind)
        return Recognition("match", (best_match,), ranked, f"{why}: {best_match.topic!r} (score {best_match.score:.2f})", self.kind)


class HttpRecognizer(RemoteRecognizer):
    """An external NLU over HTTP.

    Request: `POST url`, `Content-Type: application/json`, body
    `{"text": str, "language": str, "agent": str, "candidates": [{"topic": str, "phrases": [str]}]}`
    (the topics that can be triggered now, with their trigger phrases).  With `auth: hmac` (the
    default) the headers `X-Postcall-Timestamp: <unix seconds>` and `X-Postcall-Signature:
    sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed by the secret>` let the NLU check the
    request; with `auth: bearer`, `Authorization: Bearer <secret>`.  The secret is read from the
    environment variable `secret_env` at each call and never recorded.

    Answer (2xx, JSON): `{"intents": [{"topic": str, "score": number 0..1}, ...]}`.  Entries
    naming a topic that is not a candidate are ignored (the NLU may know topics that cannot be
    triggered now); the others are ranked by score and decided with `min_score` (none below it)
    and the agent's `ambiguity_ratio`.  Anything else (not JSON, no `intents` list, a score that
    is not a number in 0..1) is malformed and the embedded recogniser decides.
    """

    kind = "http"

    def __init__(
        self,
        execute: Execute,
        url: str,
        *,
        secret_env: str | None = None,
        auth: str = "hmac",
        min_score: float = 0.5,
        language: str = "en-US",
        agent: str = "agent",
        fallback: EmbeddedRecognizer | None = None,
        timeout_s: float = 3.0,
        thresholds: Thresholds | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(execute, fallback=fallback, timeout_s=timeout_s, thresholds=thresholds)
        self.url = url
        self.secret_env = secret_env
        self.auth = auth
        self.min_score = min_score
        self.language = language
        self.agent = agent
        self._environ = environ

    def request(self, text: str, candidates: Sequence[IntentCandidate]) -> ActionRequest:
        body = json.dumps({
            "text": text,
            "language": self.language,
            "agent": self.agent,
            "candidates": [{"topic": c.topic, "phrases": list(c.phrases)} for c in candidates],
        }, ensure_ascii=False)
        headers: dict[str, str] = {}
        if self.secret_env:
            secret = (os.environ if self._environ is None else self._environ).get(self.secret_env)
            if not secret:
                raise RemoteFailure(f"the secret variable {self.secret_env} is not set")
            if self.auth == "bearer":
                headers["Authorization"] = f"Bearer {secret}"
            else:
                stamp = str(int(time.time()))
                digest = hmac.new(secret.encode(), f"{stamp}.{body}".encode(), hashlib.sha256).hexdigest()
                headers[TIMESTAMP_HEADER] = stamp
                headers[SIGNATURE_HEADER] = f"sha256={digest}"
        key = self._key(text, candidates)
        return ActionRequest(
            kind="http", node_id="recognizer", topic="", conversation_id="", idempotency_key=key,
            payload={"method": "POST", "url": self.url, "headers": headers, "body": body,
                     "content_type": "application/json", "timeout_ms": int(self.timeout_s * 1000)},
        )

    def read(self, result: ActionResult, candidates: Sequence[IntentCandidate]) -> Recognition:
        data: Any = result.json
        intents = data.get("intents") if isinstance(data, dict) else None
        if not isinstance(intents, list):
            raise RemoteFailure("the NLU's answer is not JSON with an 'intents' list")
        known = {c.topic: c for c in candidates}
        scored: list[IntentMatch] = []
        ignored: list[str] = []
        for entry in intents:
            topic = entry.get("topic") if isinstance(entry, dict) else None
            score = entry.get("score") if isinstance(entry, dict) else None
            if not isinstance(topic, str) or isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
                raise RemoteFailure(f"malformed intent in the NLU's answer: {json.dumps(entry)[:80]}")
            if topic not in known:
                ignored.append(topic)
                continue
            scored.append(IntentMatch(topic, round(float(score), 6), ""))
        priority = {c.topic: c.priority for c in candidates}
        scored.sort(key=lambda m: (-m.score, priority[m.topic], m.topic))
        why = "the NLU answered" + (f" (ignored {', '.join(map(repr, ignored[:3]))}: not a candidate)" if ignored else "")
        return self.ranked_decision(scored, self.min_score, why)
