"""The embedded semantic recogniser: the runtime's default (docs/engine.md, "Recognising topics").

Prepared once per agent from its topics' trigger phrases:

* every phrase is embedded with the static model of `embedding.py` and turned into TF-IDF terms
  (`lexical.py`); a softmax classifier is fitted on both (`classifier.py`).  A topic's name
  counts as one more phrase when it reads as words ("Case status", "card_arrival"; not
  "cr0b1_topic_3f"): authors name topics for what they do, and Copilot Studio's own
  orchestration reads the names too (measured: +1.2 points of validation top-1 on CLINC150);
* at a turn, the utterance gets the same features; the classifier gives each candidate topic a
  probability (softmax over the candidates the engine passes, so a topic whose condition is
  false or that is excluded takes no share), and the cosine to the topic's nearest phrase says
  whether the utterance is about any of them at all;
* the classifier has one more class, "none of these", fitted on everyday sentences shipped with
  postcall (`background.py`).  Its share of the softmax is not reported; it lowers the topics'
  probabilities when an utterance is about none of them, so `match_threshold` rejects
  out-of-scope utterances in agents of every size (with 5 topics no topic is unlikely by
  count).  Its log-odds are shifted by log(phrases per topic / 11) so that it weighs as it did
  when the thresholds were calibrated (10 phrases and the name per topic), whatever the agent's
  count (`_background_shift`).

The decision (Copilot Studio's outcomes):

* **none** when the best topic's probability is under `match_threshold` or its nearest phrase's
  cosine is under `similarity_floor` (an utterance unlike every phrase: noise, another
  language, a sentence sharing nothing with the agent);
* **ambiguous** when the second (third...) topic's probability is at least `ambiguity_ratio`
  times the best's and it clears the same floors: the engine offers them through the Multiple
  Topics Matched topic;
* **match** otherwise.

The defaults were calibrated on data held out from every test set (CLINC150's validation
utterances and its 200 out-of-scope validation and training ones, agents of 5, 10, 20, 50 and
150 topics, bench/bench_recognizer.py --calibrate): the best mean top-1 over the sizes among
the thresholds that reject at least 70% of those out-of-scope utterances at every size.  They
are settable per agent in agent.yaml (`recognizer:`).  The score reported for a topic is its
probability.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from postcall.engine.recognizer import IntentCandidate, IntentMatch, Recognition
from postcall.engine.textnorm import normalise, within_one_edit, words
from postcall.safetext import clean_text
from postcall.understanding.background import BACKGROUND
from postcall.understanding.classifier import SoftmaxModel, fit, softmax
from postcall.understanding.embedding import StaticEmbedder, load_embedder
from postcall.understanding.lexical import TfIdf
from postcall.understanding.scripts import foreign_scripts, has_words, scripts_used

F32 = npt.NDArray[np.float32]

# Phrases per topic the thresholds were calibrated with (10 sampled phrases and the topic's
# name); the background class is weighed as it was then (EmbeddedRecognizer._background_shift).
REFERENCE_PHRASES = 11.0


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The decision's knobs (agent.yaml `recognizer:` sets them; see the module docstring)."""

    match_threshold: float = 0.055  # calibrated: bench/bench_recognizer.py --calibrate
    similarity_floor: float = 0.22
    ambiguity_ratio: float = 0.7
    strong: float = 0.5  # a match good enough to interrupt a free-text question
    max_options: int = 3


@dataclass(frozen=True, slots=True)
class _Prepared:
    key: tuple[tuple[str, tuple[str, ...]], ...]
    topics: tuple[str, ...]
    phrases: tuple[str, ...]
    phrase_topic: npt.NDArray[np.int64]
    phrase_vectors: F32
    tfidf: TfIdf
    model: SoftmaxModel


_NAME_PARTS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def name_phrase(topic: str) -> str | None:
    """A topic name as a phrase ("CaseStatus" / "case_status" -> "case status"), or None when
    it does not read as words: a token mixing letters and digits ("cr0b1", "Topic1"), or no
    word of 3+ letters."""
    tokens = [t for t in re.split(r"[\s_\-.:/]+", topic) if t]
    if any(re.search(r"\d", t) and re.search(r"[^\W\d]", t) for t in tokens):
        return None
    parts = [p for t in tokens for p in _NAME_PARTS.findall(t)]
    if not any(p.isalpha() and len(p) >= 3 for p in parts):
        return None
    return " ".join(p.lower() for p in parts)


def _key(candidates: Sequence[IntentCandidate]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(sorted((c.topic, tuple(c.phrases)) for c in candidates))


class EmbeddedRecognizer:
    """Static embeddings + TF-IDF + a softmax fitted on the agent's phrases (see module doc)."""

    name = "embedded"

    def __init__(
        self,
        thresholds: Thresholds | None = None,
        embedder: StaticEmbedder | None = None,
        *,
        topic_names: bool = True,
        background: bool = True,
    ) -> None:
        self.thresholds = thresholds or Thresholds()
        self.topic_names = topic_names  # a readable topic name counts as one more phrase
        self.background = background  # the "none of these" class (background.py)
        self._embedder = embedder
        self._prepared: _Prepared | None = None
        self._lock = threading.Lock()
        self._scripts: tuple[_Prepared, frozenset[str]] | None = None  # the phrases' scripts

    @property
    def strong(self) -> float:
        return self.thresholds.strong

    @property
    def embedder(self) -> StaticEmbedder:
        if self._embedder is None:
            self._embedder = load_embedder()
        return self._embedder

    # ------------------------------------------------------------------------------------------
    # preparation

    def prepare(self, candidates: Sequence[IntentCandidate]) -> None:
        """Fit on these candidates' phrases (the engine passes all its intent topics at load)."""
        self._fitted(candidates)

    def _fitted(self, candidates: Sequence[IntentCandidate]) -> _Prepared:
        prepared = self._prepared
        if prepared is not None and self._covers(prepared, candidates):
            return prepared
        with self._lock:
            prepared = self._prepared
            if prepared is not None and self._covers(prepared, candidates):
                return prepared
            merged: dict[str, tuple[str, ...]] = {}
            if prepared is not None:
                merged.update(prepared.key)
            merged.update((c.topic, tuple(c.phrases)) for c in candidates)
            prepared = self._fit(tuple(sorted(merged.items())))
            self._prepared = prepared
            return prepared

    @staticmethod
    def _covers(prepared: _Prepared, candidates: Sequence[IntentCandidate]) -> bool:
        known = dict(prepared.key)
        return all(known.get(c.topic) == tuple(c.phrases) for c in candidates)

    def _fit(self, key: tuple[tuple[str, tuple[str, ...]], ...]) -> _Prepared:
        topics = tuple(topic for topic, _ in key)
        phrases: list[str] = []
        labels: list[int] = []
        for index, (topic, texts) in enumerate(key):
            named = name_phrase(topic) if self.topic_names else None
            for text in (*texts, *((named,) if named else ())):
                if text.strip():
                    phrases.append(text)
                    labels.append(index)
        label_array = np.array(labels, dtype=np.int64)
        # The background sentences join the fit as class len(topics), after the topics' phrases;
        # the vocabulary stays the agent's own (their words outside it carry nothing).
        extra = list(BACKGROUND) if self.background else []
        # Plain token means for the nearest-phrase cosines, means with `<s>` for the classifier
        # (embedding.StaticEmbedder.embed_both says why).
        vectors, started = self.embedder.embed_both(phrases + extra)
        tfidf = TfIdf(phrases)
        lexical = tfidf.transform(phrases + extra)
        fit_labels = np.concatenate([label_array, np.full(len(extra), len(topics), dtype=np.int64)])
        model = fit(started, lexical, fit_labels, len(topics) + (1 if extra else 0))
        phrase_vectors = np.ascontiguousarray(vectors[: len(phrases)])
        return _Prepared(key, topics, tuple(phrases), label_array, phrase_vectors, tfidf, model)

    # ------------------------------------------------------------------------------------------
    # recognition

    def scores(self, text: str, candidates: Sequence[IntentCandidate]) -> list[tuple[IntentMatch, float]]:
        """Every candidate with its probability and nearest-phrase cosine, best first."""
        if not candidates:
            return []
        prepared = self._fitted(candidates)
        index = {topic: i for i, topic in enumerate(prepared.topics)}
        columns = np.array([index[c.topic] for c in candidates], dtype=np.int64)
        vector, started = self.embedder.embed_both([text])
        lexical = prepared.tfidf.transform([text])
        logits = prepared.model.logits(started, lexical)[0]
        if logits.shape[0] > len(prepared.topics):  # the background class competes, unreported
            competing = logits[np.r_[columns, len(prepared.topics)]]
            competing[-1] += self._background_shift(prepared)
            probabilities = softmax(competing)[:-1]
        else:
            probabilities = softmax(logits[columns])
        cosines = prepared.phrase_vectors @ vector[0]
        nearest = self._nearest(prepared, cosines)
        out: list[tuple[IntentMatch, float]] = []
        for position, cand in enumerate(candidates):
            near, phrase_index = nearest.get(int(columns[position]), (0.0, -1))
            phrase = prepared.phrases[phrase_index] if phrase_index >= 0 else ""
            out.append((IntentMatch(cand.topic, round(float(probabilities[position]), 6), phrase), near))
        priority = {c.topic: c.priority for c in candidates}
        out.sort(key=lambda m: (-m[0].score, priority[m[0].topic], m[0].topic))
        return out

    @staticmethod
    def _background_shift(prepared: _Prepared) -> float:
        """The log-odds added to the background class: log(phrases per topic / REFERENCE_PHRASES).

        The fit learns each class's share of the training rows as a prior, so the 179
        background sentences weigh more against topics of 3 phrases than of 10, and less
        against topics of 20.  The shift puts the background back where the thresholds were
        calibrated (topics of REFERENCE_PHRASES).  Measured on CLINC150 validation, agents of
        5 to 50 intents: with 1 phrase a topic +8 to +15 points of top-1 (rejection still
        88-99%), with 3 +3 to +4 (out-of-scope rejection 82-97%, from 87-98%); with 20,
        out-of-scope rejection 67-91% instead of 59-88% for 0.1 to 0.5 points of top-1; with
        10, no change."""
        if not prepared.topics:
            return 0.0
        return float(np.log(len(prepared.phrases) / len(prepared.topics) / REFERENCE_PHRASES))

    @staticmethod
    def _nearest(prepared: _Prepared, cosines: F32) -> dict[int, tuple[float, int]]:
        """Per topic index: the best cosine among its phrases and that phrase's index (phrases
        are stored grouped by topic, so one pass over segment boundaries does it)."""
        topic_of = prepared.phrase_topic
        if not len(topic_of):
            return {}
        starts = np.flatnonzero(np.r_[True, topic_of[1:] != topic_of[:-1]])
        ends = np.r_[starts[1:], len(topic_of)]
        out: dict[int, tuple[float, int]] = {}
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            best = start + int(np.argmax(cosines[start:end]))
            out[int(topic_of[start])] = (float(cosines[best]), best)
        return out

    def decide(self, text: str, candidates: Sequence[IntentCandidate]) -> Recognition:
        text = clean_text(text)  # a lone surrogate (surrogateescape'd bytes) would crash the tokenizer
        th = self.thresholds
        if not text.strip():
            return Recognition.no_match("nothing was said", (), self.name)
        if not has_words(text):
            return Recognition.no_match("no word in it (no letter or digit)", (), self.name)
        if not candidates:
            return Recognition.no_match("no topic can be triggered now", (), self.name)
        foreign = foreign_scripts(text, self._phrase_scripts(candidates))
        if foreign:
            return Recognition.no_match(
                f"written in a script no trigger phrase uses ({', '.join(foreign).lower()})", (), self.name,
            )
        scored = self.scores(text, candidates)
        ranked = tuple(m for m, _ in scored[:5])
        best, near = scored[0]
        if near < th.similarity_floor:
            return Recognition.no_match(
                f"unlike every trigger phrase (nearest {near:.2f} to {best.phrase!r}, "
                f"floor {th.similarity_floor:.2f})", ranked, self.name,
            )
        if best.score < th.match_threshold:
            return Recognition.no_match(
                f"no topic is likely enough (best {best.score:.2f} < {th.match_threshold:.2f})",
                ranked, self.name,
            )
        piece = self._word_in_pieces(text, candidates, best.topic)
        if piece:
            return Recognition.no_match(
                f"one word the model reads only in pieces ({piece!r}) that no phrase of "
                f"{best.topic!r} has", ranked, self.name,
            )
        close = [
            m for m, n in scored[1 : th.max_options]
            if m.score >= th.ambiguity_ratio * best.score and m.score >= th.match_threshold
            and n >= th.similarity_floor
        ]
        if close:
            chosen = (best, *close)
            return Recognition(
                "ambiguous", chosen, ranked,
                f"{len(chosen)} topics are close (within {th.ambiguity_ratio:.0%} of the best)",
                self.name,
            )
        return Recognition(
            "match", (best,), ranked,
            f"{best.topic!r} is the most likely (p {best.score:.2f}; nearest phrase "
            f"{best.phrase!r} at {near:.2f})", self.name,
        )

    def _word_in_pieces(self, text: str, candidates: Sequence[IntentCandidate], topic: str) -> str | None:
        """The utterance's one word when the model has no token for it (it reads it as pieces)
        and the topic's phrases and name lack it (within one edit): such a match rests on
        sub-word pieces alone ("ééé" read as "é é é" lands at 0.40 from "bye", read as "by e").
        A real one-word request is a whole token ("refund") or one of the topic's own words
        ("bye"); measured on the test sets, seeds 1-5: at most one of CLINC150's 19 one-word
        utterances loses its match per seed (docs/engine.md)."""
        said = words(normalise(text))
        if len(said) != 1 or len(self.embedder.token_ids(said)[0]) <= 1:
            return None
        cand = next((c for c in candidates if c.topic == topic), None)
        own = [*(cand.phrases if cand else ()), name_phrase(topic) or ""]
        if any(within_one_edit(said[0], w) for p in own for w in words(normalise(p))):
            return None
        return said[0]

    def _phrase_scripts(self, candidates: Sequence[IntentCandidate]) -> frozenset[str]:
        """The scripts of the prepared agent's phrases (scripts.py), computed once per fit."""
        prepared = self._fitted(candidates)
        cached = self._scripts
        if cached is None or cached[0] is not prepared:
            cached = (prepared, scripts_used(prepared.phrases))
            self._scripts = cached
        return cached[1]

    def recognize(self, text: str, candidates: Sequence[IntentCandidate]) -> list[IntentMatch]:
        """The `Recognizer` protocol: the chosen topics (one, several close ones, or none)."""
        return list(self.decide(text, candidates).chosen)
