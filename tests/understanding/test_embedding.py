"""The static embedder: what it reads of a text (real WordLlama weights from the installed wheel)."""

from __future__ import annotations

import numpy as np
import pytest

from postcall.understanding import load_embedder
from postcall.understanding.embedding import ModelUnavailable

try:
    EMBEDDER = load_embedder()
except ModelUnavailable as exc:  # pragma: no cover - the wheel is a dependency
    pytest.skip(f"needs the wordllama wheel: {exc}", allow_module_level=True)


def test_control_characters_carry_nothing() -> None:
    plain, started = EMBEDDER.embed_both(["\x00\x01", " \x7f\t", "", "hi\x00there", "hi there"])
    assert not plain[:3].any() and not started[:3].any()  # similar to nothing
    assert np.allclose(plain[3], plain[4]) and np.allclose(started[3], started[4])


def test_both_embeddings_are_unit_rows_and_differ_by_the_start_token() -> None:
    plain, started = EMBEDDER.embed_both(["where is my parcel", "cancel my card"])
    assert np.allclose(np.linalg.norm(plain, axis=1), 1.0, atol=1e-5)
    assert np.allclose(np.linalg.norm(started, axis=1), 1.0, atol=1e-5)
    assert np.allclose(EMBEDDER.embed(["where is my parcel"])[0], plain[0])
    assert not np.allclose(plain, started)
    # the started row is the plain token mean with `<s>` among the tokens
    ids = EMBEDDER.token_ids(["cancel my card"])[0]
    start = EMBEDDER.tokenizer.token_to_id("<s>")
    expected = EMBEDDER.table[[start, *ids]].mean(axis=0)
    assert np.allclose(started[1], expected / np.linalg.norm(expected), atol=1e-5)
