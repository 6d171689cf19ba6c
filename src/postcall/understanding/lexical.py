"""Lexical evidence: TF-IDF over the words and word pairs of an agent's own trigger phrases.

The embedding knows what words mean in general; the agent's phrases know which words matter
here ("card" vs "cash", "freeze" vs "unfreeze").  Each phrase and utterance becomes a sparse
vector of its word unigrams and bigrams (lower case, Unicode word characters, digits kept),
weighted 1 + ln(tf) times a smoothed IDF computed over the agent's phrases, L2-normalised.
Words the phrases never use carry no weight.  No stemming or synonym table: the embedding side
covers paraphrase, and a table tuned to one agent hurts the others.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy.sparse import csr_matrix

from postcall.understanding.embedding import MAX_CHARS

_WORD = re.compile(r"\w\w+|\d", re.UNICODE)


def terms(text: str) -> list[str]:
    """Unigrams and bigrams of a text's words."""
    found = _WORD.findall(text[:MAX_CHARS].lower().replace("'", ""))
    return found + [f"{a} {b}" for a, b in zip(found, found[1:], strict=False)]


class TfIdf:
    """A vocabulary and IDF fitted on an agent's phrases."""

    def __init__(self, phrases: Sequence[str]) -> None:
        df: Counter[str] = Counter()
        for phrase in phrases:
            df.update(set(terms(phrase)))
        self.vocab: dict[str, int] = {t: i for i, t in enumerate(sorted(df))}
        n = len(phrases)
        self.idf = np.array(
            [math.log((1 + n) / (1 + df[t])) + 1.0 for t in sorted(df)], dtype=np.float32
        )

    @property
    def size(self) -> int:
        return len(self.vocab)

    def transform(self, texts: Sequence[str]) -> csr_matrix:
        cols: list[int] = []
        vals: list[float] = []
        ptr = [0]
        for text in texts:
            counts = Counter(i for i in (self.vocab.get(t) for t in terms(text)) if i is not None)
            weights = {i: (1.0 + math.log(c)) * float(self.idf[i]) for i, c in counts.items()}
            norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
            for i in sorted(weights):
                cols.append(i)
                vals.append(weights[i] / norm)
            ptr.append(len(cols))
        return csr_matrix(
            (np.array(vals, dtype=np.float32), np.array(cols, dtype=np.int64), np.array(ptr, dtype=np.int64)),
            shape=(len(texts), self.size),
        )
