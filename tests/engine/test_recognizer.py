"""The default recogniser on paraphrases of the seed example's trigger phrases."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from postcall.engine.recognizer import IntentCandidate, PhraseRecognizer
from postcall.testing import load

from .helpers import DATA

AGENT = load(Path(__file__).resolve().parents[2] / "examples" / "contoso-support")
CANDIDATES = [
    IntentCandidate(t.name, t.trigger.trigger_queries, t.trigger.priority)
    for t in AGENT.topics.values()
    if t.trigger.trigger_queries
]
CASES = yaml.safe_load((DATA / "paraphrases.yaml").read_text())


@pytest.mark.parametrize(("utterance", "topic"), CASES, ids=[c[0] for c in CASES])
def test_paraphrase_picks_the_topic(utterance: str, topic: str | None) -> None:
    matches = PhraseRecognizer().recognize(utterance, CANDIDATES)
    assert (matches[0].topic if matches else None) == topic


def test_scores_rank_and_ties_go_to_priority_then_name() -> None:
    rec = PhraseRecognizer()
    cands = [
        IntentCandidate("B", ("reset my password",), priority=0),
        IntentCandidate("A", ("reset my password",), priority=0),
        IntentCandidate("C", ("reset my password",), priority=-1),
    ]
    assert [m.topic for m in rec.recognize("please reset my password", cands)] == ["C", "A", "B"]


def test_typos_count_for_most_of_a_word() -> None:
    rec = PhraseRecognizer()
    assert rec.score("chek my invoce", "check my invoice") >= 0.5
    assert rec.score("", "check my invoice") == 0.0


def test_threshold_is_configurable() -> None:
    cands = [IntentCandidate("Billing", ("question about my bill",))]
    assert PhraseRecognizer(threshold=0.5).recognize("bill", cands)
    assert not PhraseRecognizer(threshold=0.99).recognize("bill", cands)
