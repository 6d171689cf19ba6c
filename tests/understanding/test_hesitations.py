"""Hesitation sounds and one-word noise never start a topic (review-14 item 11).

On the example agent, "um" alone had matched Goodbye (p 0.67) and "ééé" had matched it through
sub-word pieces ("é" read like the "e" of "by e"), and the agent hung up on the caller.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from postcall.engine.recognizer import PhraseRecognizer, decide
from postcall.engine.textnorm import without_hesitations
from postcall.engine.triggers import agent_intent_candidates
from postcall.testing import Conversation, load
from postcall.understanding import default_recognizer

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "contoso-support"
CANDIDATES = agent_intent_candidates(load(EXAMPLE))
EMBEDDED = default_recognizer()
EMBEDDED.prepare(CANDIDATES)


@pytest.mark.parametrize(
    ("said", "left"),
    [("um", ""), ("Uh, hmm...", ""), ("Um, I want my bill", "I want my bill"), ("I said um no", "I said no"),
     ("umbrella", "umbrella"), ("ok", "ok"), ("well so yeah", "well so yeah")],
)
def test_hesitations_are_taken_out_and_nothing_else(said: str, left: str) -> None:
    assert without_hesitations(said) == left


@pytest.mark.parametrize("recognizer", [EMBEDDED, PhraseRecognizer()], ids=["embedded", "lexical"])
@pytest.mark.parametrize("said", ["um", "Uh...", "hmm", "um uh"])
def test_a_hesitation_alone_is_no_match_for_every_recogniser(recognizer: object, said: str) -> None:
    found = decide(recognizer, said, CANDIDATES)  # type: ignore[arg-type]
    assert found.outcome == "none"
    assert "only a hesitation" in found.reason


def test_a_request_said_with_fillers_reads_as_the_request() -> None:
    found = decide(EMBEDDED, "um, uh, I want to pay my bill", CANDIDATES)
    assert (found.outcome, found.chosen[0].topic) == ("match", "Billing")


@pytest.mark.parametrize("said", ["ééé", "ñññ", "xyzzy"])
def test_one_word_read_only_in_pieces_and_in_no_phrase_is_no_match(said: str) -> None:
    found = EMBEDDED.decide(said, CANDIDATES)
    assert found.outcome == "none"


@pytest.mark.parametrize(("said", "topic"), [("bye", "Goodbye"), ("Refund", "Billing")])
def test_one_word_a_topic_has_still_matches(said: str, topic: str) -> None:
    found = EMBEDDED.decide(said, CANDIDATES)
    assert (found.outcome, found.chosen[0].topic) == ("match", topic)


@pytest.mark.parametrize("said", ["um", "ééé"])
def test_the_example_agent_does_not_hang_up_on_noise(said: str) -> None:
    with Conversation(EXAMPLE, conversation_id="noise-1") as conv:
        conv.start()
        conv.say(said)
        assert not conv.ended
        assert conv.say("bye")  # and a real goodbye still ends the call
        assert conv.ended
