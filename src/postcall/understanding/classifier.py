"""A softmax classifier fitted on an agent's trigger phrases when the agent is prepared.

Features: the phrase's sentence embedding (dense, 256) beside its TF-IDF terms (sparse).  The
weights start as a centroid classifier (each topic's column is its phrases' mean embedding and
mean TF-IDF vector, unit length, scaled by WARM_DENSE and WARM_SPARSE: a nearest-centroid guess
the steps then refine, measured +0.3 to +0.6 points of validation top-1 over a zero start at
the same cost) and take a fixed number of Adam steps on the cross-entropy of the phrases with a
small L2 penalty: deterministic (no random start, no seed), under a second for 150 topics x 10
phrases.  Measured on CLINC150 and BANKING77 with 10 phrases per intent (bench/
bench_recognizer.py), this beats the nearest phrase and per-topic mean embeddings by 5-10
points, because it learns which dimensions and words separate *these* topics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix

F32 = npt.NDArray[np.float32]

STEPS = 30
LEARNING_RATE = 0.2
L2 = 1e-4
WARM_DENSE = 10.0
WARM_SPARSE = 5.0


@dataclass(frozen=True, slots=True)
class SoftmaxModel:
    dense: F32  # embedding dim x topics
    sparse: F32  # vocabulary x topics
    bias: F32  # topics

    def logits(self, embedded: F32, lexical: csr_matrix) -> F32:
        out: F32 = embedded @ self.dense + lexical @ self.sparse + self.bias
        return out


def softmax(z: F32) -> F32:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    out: F32 = e / e.sum(axis=-1, keepdims=True)
    return out


class _Adam:
    def __init__(self, shape: tuple[int, ...]) -> None:
        self.m = np.zeros(shape, dtype=np.float32)
        self.v = np.zeros(shape, dtype=np.float32)

    def step(self, param: F32, grad: F32, t: int) -> None:
        self.m *= 0.9
        self.m += 0.1 * grad
        grad *= grad
        self.v *= 0.999
        self.v += 0.001 * grad
        rate = LEARNING_RATE * (1 - 0.999**t) ** 0.5 / (1 - 0.9**t)
        denom = np.sqrt(self.v)
        denom += 1e-8
        np.divide(self.m, denom, out=denom)
        denom *= rate
        param -= denom


def _centroids(features: F32, scale: float) -> F32:
    """Columns scaled to length `scale` (a column of zeros stays zero)."""
    norms = np.linalg.norm(features, axis=0, keepdims=True)
    out: F32 = (features * (scale / np.maximum(norms, 1e-9))).astype(np.float32)
    return out


def fit(embedded: F32, lexical: csr_matrix, vocabulary: int, labels: npt.NDArray[np.int64], topics: int) -> SoftmaxModel:
    """Fit on phrase rows (embedding + TF-IDF) with their topic indices."""
    n, dim = embedded.shape
    if n == 0 or topics == 0:
        return SoftmaxModel(
            np.zeros((dim, topics), dtype=np.float32),
            np.zeros((vocabulary, topics), dtype=np.float32),
            np.zeros(topics, dtype=np.float32),
        )
    target = np.zeros((n, topics), dtype=np.float32)
    target[np.arange(n), labels] = 1.0
    model = SoftmaxModel(
        _centroids(embedded.T @ target, WARM_DENSE),
        _centroids(np.asarray(lexical.T @ target, dtype=np.float32), WARM_SPARSE),
        np.zeros(topics, dtype=np.float32),
    )
    opt_d, opt_s, opt_b = _Adam(model.dense.shape), _Adam(model.sparse.shape), _Adam(model.bias.shape)
    for t in range(1, STEPS + 1):
        grad = (softmax(model.logits(embedded, lexical)) - target) / n
        opt_d.step(model.dense, embedded.T @ grad + L2 * model.dense, t)
        opt_s.step(model.sparse, np.asarray(lexical.T @ grad) + L2 * model.sparse, t)
        opt_b.step(model.bias, grad.sum(axis=0), t)
    return model
