"""postcall.vocabulary (read by the topic validator) and the engine agree on end reasons."""

from __future__ import annotations

from postcall.engine.activity import KNOWN_END_REASONS as ENGINE_KNOWN
from postcall.engine.activity import EndReason
from postcall.vocabulary import KNOWN_END_REASONS


def test_known_end_reasons_match_the_engine() -> None:
    assert KNOWN_END_REASONS == tuple(r.value for r in EndReason) == ENGINE_KNOWN
    assert {"CUSTOMER_HANGUP", "BLIND_TRANSFER", "CCAAS_TRANSFER"} <= set(KNOWN_END_REASONS)
