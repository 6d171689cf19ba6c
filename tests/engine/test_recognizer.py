"""The lexical recogniser (PhraseRecognizer); paraphrases are the embedded one's job
(tests/understanding)."""

from __future__ import annotations

from postcall.engine.recognizer import IntentCandidate, PhraseRecognizer


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
