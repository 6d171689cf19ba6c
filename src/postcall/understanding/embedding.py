"""The static word-embedding model the embedded recogniser uses, read from a PyPI wheel.

The weights are WordLlama's `l2_supercat_256` (MIT licence, github.com/dleemiller/WordLlama):
a 32,000-token table of 256-dimensional vectors, trained by its author to make the mean of a
sentence's token vectors a sentence embedding, shipped inside the `wordllama` wheel (16 MB) with
its tokenizer (Llama 2's SentencePiece vocabulary, as a `tokenizers` JSON file).  Nothing is
downloaded: the files are located inside the installed package without importing it (its
import pulls in libraries we do not need), read once per process, and shared by every agent.

A sentence is embedded as the mean of its tokens' vectors, L2-normalised; an utterance with no
token (empty, or only spaces) is the zero vector, which is similar to nothing.  `embed_both`
also gives the mean with the sentence-start token `<s>`, which the recogniser's classifier
reads (see its docstring).
"""

from __future__ import annotations

import importlib.util
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from postcall.errors import PostCallError

Matrix = npt.NDArray[np.float32]

MODEL_PACKAGE = "wordllama"
WEIGHTS = ("weights", "l2_supercat_256.safetensors")
TOKENIZER = ("tokenizers", "l2_supercat_tokenizer_config.json")
START_TOKEN = "<s>"  # Llama 2's sentence start, which WordLlama's own tokenizer settings add
MAX_CHARS = 2000  # longer input is cut here before tokenizing: intent lives in the first words
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0/C1 controls (tabs and newlines become spaces too)


class ModelUnavailable(PostCallError):
    """The embedding model's files are not installed."""


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            f"The embedded recogniser needs the {name!r} package (pip install {name}); "
            "or set `recognizer: {kind: lexical}` in agent.yaml."
        )
    return Path(next(iter(spec.submodule_search_locations)))


@dataclass(frozen=True, slots=True)
class StaticEmbedder:
    """Token table + tokenizer: sentence embeddings by mean pooling."""

    table: Matrix
    tokenizer: Tokenizer
    name: str

    @property
    def dim(self) -> int:
        return int(self.table.shape[1])

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of the lower-cased texts.  Control characters become spaces and the ends
        are stripped first: the tokenizer would otherwise spell them as byte tokens and a
        text of only "\x00\x01" would resemble some phrase (it matched "greeting" at 0.24)."""
        prepared = [_CONTROL.sub(" ", t[:MAX_CHARS]).strip().lower() for t in texts]
        return [list(e.ids) for e in self.tokenizer.encode_batch(prepared, add_special_tokens=False)]

    def embed(self, texts: Sequence[str]) -> Matrix:
        """One L2-normalised row per text (zeros for a text without tokens)."""
        return self.embed_both(texts)[0]

    def embed_both(self, texts: Sequence[str]) -> tuple[Matrix, Matrix]:
        """Two L2-normalised rows per text, from one tokenisation: the mean of its tokens, and
        the mean with the sentence-start token `<s>` among them, as WordLlama itself embeds
        (its tokenizer adds `<s>`).  A text without tokens is zeros in both.

        The recogniser's classifier reads the second (once centred, it scored +0.3 points of
        validation top-1 on CLINC150 and HWU64 over the first, docs/engine.md); the
        nearest-phrase cosines of the decision read the first, because the shared `<s>`
        raises every cosine and would silently weaken `similarity_floor`."""
        plain = np.zeros((len(texts), self.dim), dtype=np.float32)
        present = np.zeros(len(texts), dtype=bool)
        for row, ids in enumerate(self.token_ids(texts)):
            if ids:
                plain[row] = self.table[ids].sum(axis=0)  # the sum: the same direction as the mean
                present[row] = True
        started = plain.copy()
        start = self.tokenizer.token_to_id(START_TOKEN)
        if start is not None:
            started[present] += self.table[start]
        return _normalised(plain), _normalised(started)


def _normalised(rows: Matrix) -> Matrix:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    np.divide(rows, norms, out=rows, where=norms > 0)
    return rows


_lock = threading.Lock()
_loaded: StaticEmbedder | None = None


def load_embedder() -> StaticEmbedder:
    """The process-wide model, loaded on first use (about 0.1 s and 33 MB of memory)."""
    global _loaded
    with _lock:
        if _loaded is None:
            root = _package_dir(MODEL_PACKAGE)
            weights = root.joinpath(*WEIGHTS)
            vocab = root.joinpath(*TOKENIZER)
            if not weights.is_file() or not vocab.is_file():
                raise ModelUnavailable(
                    f"The {MODEL_PACKAGE!r} package has no {weights.name} / {vocab.name}; "
                    "reinstall it (pip install --force-reinstall wordllama)."
                )
            tensors = load_file(str(weights))
            table = np.ascontiguousarray(next(iter(tensors.values())), dtype=np.float32)
            tokenizer = Tokenizer.from_file(str(vocab))
            tokenizer.no_padding()
            tokenizer.no_truncation()
            _loaded = StaticEmbedder(table, tokenizer, f"{MODEL_PACKAGE}/{weights.name}")
        return _loaded
