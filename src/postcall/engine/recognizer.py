"""Intent recognition: which topic's trigger phrases an utterance means, and what to do about it.

`Recognizer` is the protocol every recogniser keeps: `recognize(text, candidates)` returns the
matching topics, best first.  A recogniser may also offer `prepare(candidates)` (fit what it
needs once, when the agent is loaded) and `decide(text, candidates)`, which returns a
`Recognition`: Copilot Studio's three outcomes (one topic; several close ones, which go to the
Multiple Topics Matched system topic; none, which goes to Fallback) with the top candidates
and the reason, for `postcall chat --explain` and the console.  `decide()` below gives every
recogniser that outcome, from its matches when it has no `decide` of its own.

The engine itself stays pure: the embedded semantic recogniser (the runtime's default) lives in
`postcall.understanding`, which loads its model from an installed package;
`postcall.understanding.recognizer_for(agent)` gives the configured one.  `PhraseRecognizer`
here is the lexical one (`recognizer: {kind: lexical}`), and what a bare `Engine(agent)` uses.

How the lexical one scores (docs/engine.md explains it with examples):

1. Both the utterance and each trigger phrase are normalised: lower case, punctuation dropped,
   contractions expanded, stop words removed, words stemmed ("cases" -> "case").
2. For each phrase: recall = shared words / phrase words, precision = shared words / utterance
   words; a word within one edit of a phrase word (typos, at least 5 letters) counts 0.8.
   score = 0.7 * recall + 0.3 * precision.  A phrase found verbatim inside the utterance scores
   at least 0.9.
3. A topic's score is its best phrase's.  Topics scoring at least `threshold` (0.5) match, best
   first; ties go to the lower trigger priority, then the topic name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol, runtime_checkable

from postcall.engine.textnorm import content_tokens, normalise, within_one_edit, without_hesitations
from postcall.safetext import clean_text


@dataclass(frozen=True, slots=True)
class IntentCandidate:
    """A topic that can be triggered by phrases (OnRecognizedIntent or OnEscalate)."""

    topic: str
    phrases: tuple[str, ...]
    priority: int = 0


@dataclass(frozen=True, slots=True)
class IntentMatch:
    topic: str
    score: float
    phrase: str


@runtime_checkable
class Recognizer(Protocol):
    """Ranks candidate topics for an utterance; returns only matches, best first."""

    def recognize(self, text: str, candidates: Sequence[IntentCandidate]) -> list[IntentMatch]: ...


Outcome = Literal["match", "ambiguous", "none"]

Action = Literal["started", "asked", "best", "fallback", "interrupted", "answer", "not-understood"]
"""What the engine did with a decision: started the chosen topic; asked which (Multiple Topics
Matched); ran the best of close topics (fewer than two may be offered); went to Fallback; let
the topic interrupt a waiting question; took the words as the question's answer; or let the
question treat them as not understood (it asks again)."""


@dataclass(frozen=True, slots=True)
class Taken:
    """What the engine did with a recogniser's decision, and why in words: the recogniser's
    outcome is not always what happens (a waiting question, topics that may not be offered)."""

    action: Action
    why: str


@dataclass(frozen=True, slots=True)
class Recognition:
    """A recogniser's decision for one utterance, and what the engine did with it.

    `chosen` is the topic to start ("match"), the options to offer ("ambiguous", best first),
    or empty ("none").  `ranked` is the top candidates with their scores whatever the outcome,
    and `reason` says in words why.  `taken` is the engine's side, set once it has acted
    (`with_taken`).  All of it is shown by `chat --explain` and the console.
    """

    outcome: Outcome
    chosen: tuple[IntentMatch, ...]
    ranked: tuple[IntentMatch, ...]
    reason: str
    recognizer: str = ""
    taken: Taken | None = None

    @staticmethod
    def no_match(reason: str, ranked: Sequence[IntentMatch] = (), recognizer: str = "") -> Recognition:
        return Recognition("none", (), tuple(ranked), reason, recognizer)

    def with_taken(self, action: Action, why: str) -> Recognition:
        return replace(self, taken=Taken(action, why))

    def to_json(self, limit: int = 3) -> dict[str, object]:
        """What the history keeps of a decision (the console shows it beside the caller's words)."""
        return {
            "outcome": self.outcome,
            "reason": self.reason,
            "recognizer": self.recognizer,
            "chosen": [m.topic for m in self.chosen],
            "candidates": [
                {"topic": m.topic, "score": m.score, "phrase": m.phrase} for m in self.ranked[:limit]
            ],
            "taken": {"action": self.taken.action, "why": self.taken.why} if self.taken else None,
        }

    def explain(self, limit: int = 3) -> str:
        """One line: outcome, reason, the top candidates with scores, and what the engine did."""
        tops = ", ".join(f"{m.topic} {m.score:.2f}" for m in self.ranked[:limit]) or "no candidates"
        done = f" -> {self.taken.action}: {self.taken.why}" if self.taken else ""
        return f"{self.outcome}: {self.reason} [{tops}]{done}"


@dataclass(frozen=True, slots=True)
class Decision:
    """A recogniser's decision with what it was asked: the words and the candidate topics, in order.

    A turn returns the decisions it made (`TurnResult.decisions`); the same turn worked out again
    (the lifecycle re-plans a step when another turn of the conversation was saved meanwhile) is
    given them back (`Engine.turn(recorded=...)`) and reuses the one asked the same question
    instead of asking the recogniser again: a remote recogniser (a model, an NLU) may answer
    differently the second time, and every ask costs a request.
    """

    text: str
    topics: tuple[str, ...]
    recognition: Recognition

    def answers(self, text: str, topics: tuple[str, ...]) -> bool:
        return self.text == text and self.topics == topics


@runtime_checkable
class DecidingRecognizer(Recognizer, Protocol):
    """A recogniser that decides the outcome itself (and may prepare once per agent)."""

    def prepare(self, candidates: Sequence[IntentCandidate]) -> None: ...

    def decide(self, text: str, candidates: Sequence[IntentCandidate]) -> Recognition: ...


def reads_descriptions(recognizer: Recognizer) -> bool:
    """Whether the recogniser chooses by topic descriptions too (a language model: attribute
    `reads_descriptions = True`), so a topic with only a `modelDescription` is its candidate."""
    return bool(getattr(recognizer, "reads_descriptions", False))


def asks_remotely(recognizer: Recognizer) -> bool:
    """Whether each decision is a request out of the process that the caller waits for (a
    language model, an external NLU: attribute `asks_remotely = True`), so the engine asks only
    when the decision can change what happens (a closed question's answer is tried first)."""
    return bool(getattr(recognizer, "asks_remotely", False))


def recognizer_name(recognizer: Recognizer) -> str:
    return str(getattr(recognizer, "name", type(recognizer).__name__))


def decide(recognizer: Recognizer, text: str, candidates: Sequence[IntentCandidate]) -> Recognition:
    """The recogniser's decision; a plain `Recognizer`'s best match is taken as the match.

    The engine's one call into a recogniser: the words are cleaned first (a NUL or a lone
    surrogate, which `chat`/`call` get from invalid bytes on a terminal, becomes U+FFFD, as the
    webhooks do), so no recogniser sees text UTF-8 cannot encode; and hesitation sounds ("um",
    "uh", textnorm.HESITATIONS) are taken out, so that a caller thinking aloud starts no topic
    and a request said with fillers reads as the request."""
    text = clean_text(text)
    spoken = without_hesitations(text)
    if text.strip() and not spoken:
        return Recognition.no_match(f"only a hesitation ({text.strip()[:40]!r})", (), recognizer_name(recognizer))
    text = spoken
    if isinstance(recognizer, DecidingRecognizer):
        return recognizer.decide(text, candidates)
    name = recognizer_name(recognizer)
    matches = recognizer.recognize(text, candidates)
    if not matches:
        return Recognition.no_match("no topic reached the threshold", (), name)
    best = matches[0]
    return Recognition(
        "match", (best,), tuple(matches),
        f"{best.topic!r} matched phrase {best.phrase!r} (score {best.score:.2f})", name,
    )


class PhraseRecognizer:
    """The lexical recogniser (see the module docstring for the scoring)."""

    name = "lexical"

    def __init__(self, threshold: float = 0.5, strong: float = 0.8) -> None:
        self.threshold = threshold
        self.strong = strong  # a match good enough to interrupt a free-text question
        self._cache: dict[str, tuple[str, frozenset[str]]] = {}

    def _phrase(self, phrase: str) -> tuple[str, frozenset[str]]:
        cached = self._cache.get(phrase)
        if cached is None:
            cached = (normalise(phrase), frozenset(content_tokens(phrase)))
            self._cache[phrase] = cached
        return cached

    def score(self, text: str, phrase: str) -> float:
        norm_text = normalise(text)
        utterance = set(content_tokens(text))
        return self._score(norm_text, utterance, phrase)

    def _score(self, norm_text: str, utterance: set[str], phrase: str) -> float:
        norm_phrase, tokens = self._phrase(phrase)
        if not norm_phrase or not norm_text:
            return 0.0
        verbatim = f" {norm_phrase} " in f" {norm_text} "
        if not tokens:
            return 1.0 if norm_phrase == norm_text else (0.9 if verbatim else 0.0)
        if not utterance:
            return 0.9 if verbatim else 0.0
        shared = 0.0
        used: set[str] = set()
        for tok in tokens:
            if tok in utterance:
                shared += 1.0
                used.add(tok)
                continue
            if len(tok) >= 5:
                near = next(
                    (u for u in utterance if u not in used and len(u) >= 4
                     and within_one_edit(tok, u)),
                    None,
                )
                if near is not None:
                    shared += 0.8
                    used.add(near)
        recall = shared / len(tokens)
        precision = min(shared / len(utterance), 1.0)
        value = 0.7 * recall + 0.3 * precision
        if verbatim:
            value = max(value, 0.9)
        return round(value, 6)

    def prepare(self, candidates: Sequence[IntentCandidate]) -> None:
        """Nothing to fit: a phrase is normalised when it is first scored."""

    def scored(self, text: str, candidates: Sequence[IntentCandidate]) -> list[IntentMatch]:
        """Every candidate that shares something with the words, with its best phrase's score,
        best first (ties: lower trigger priority, then the topic name)."""
        norm_text = normalise(text)
        utterance = set(content_tokens(text))
        found: list[tuple[float, int, str, str]] = []
        for cand in candidates:
            best = 0.0
            best_phrase = ""
            for phrase in cand.phrases:
                value = self._score(norm_text, utterance, phrase)
                if value > best:
                    best, best_phrase = value, phrase
            if best > 0:
                found.append((best, cand.priority, cand.topic, best_phrase))
        found.sort(key=lambda f: (-f[0], f[1], f[2]))
        return [IntentMatch(topic, value, phrase) for value, _, topic, phrase in found]

    def recognize(self, text: str, candidates: Sequence[IntentCandidate]) -> list[IntentMatch]:
        return [m for m in self.scored(text, candidates) if m.score >= self.threshold]

    def decide(self, text: str, candidates: Sequence[IntentCandidate]) -> Recognition:
        """The best topic at or above `threshold` is the match (never "ambiguous": one phrase
        score per topic cannot tell close topics apart); the top topics are listed with their
        scores also below it, so a "none" shows how near each came."""
        scored = self.scored(text, candidates)
        ranked = tuple(scored[:5])
        if not scored or scored[0].score < self.threshold:
            near = f"best {scored[0].score:.2f}" if scored else "no phrase shares a word"
            return Recognition.no_match(
                f"no topic reached the threshold {self.threshold:.2f} ({near})", ranked, self.name
            )
        best = scored[0]
        return Recognition(
            "match", (best,), ranked,
            f"{best.topic!r} matched phrase {best.phrase!r} (score {best.score:.2f})", self.name,
        )
