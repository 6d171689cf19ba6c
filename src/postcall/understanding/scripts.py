"""Which writing systems a text's letters are in: the embedded recogniser's guard against
utterances in a script none of the agent's trigger phrases use.

The static embeddings read other scripts poorly but not as nothing: a Chinese or Russian
sentence can land as near an English phrase as a loose English paraphrase does (measured with
the example agent: cosines 0.24-0.25 against a similarity floor of 0.22, and "Talk to a person"
chosen for a Chinese "I want to check my bill").  Whether a sentence is written in the agent's
script is a fact, not a similarity, so it is decided as one: an utterance whose letters are
mostly in scripts absent from every phrase is no match.  Digits, punctuation and emoji are not
letters and count for nothing either way.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable

from postcall.understanding.embedding import MAX_CHARS


def script_of(char: str) -> str:
    """A letter's script, from its Unicode name ("LATIN SMALL LETTER A" -> "LATIN",
    "CJK UNIFIED IDEOGRAPH-6211" -> "CJK"); "?" for a letter without a name."""
    try:
        return unicodedata.name(char).split(" ", 1)[0]
    except ValueError:
        return "?"


def has_words(text: str) -> bool:
    """Whether the text has a letter or a digit: without one (punctuation, emoji, control
    characters) there is no word to recognise, only noise that lands near some phrase by chance
    (control characters alone land at cosine 0.24 from a CLINC150 phrase)."""
    return any(c.isalnum() for c in text[:MAX_CHARS])


def letter_scripts(text: str) -> Counter[str]:
    """How many of the text's letters are in each script."""
    return Counter(script_of(c) for c in text[:MAX_CHARS] if c.isalpha())


def scripts_used(texts: Iterable[str]) -> frozenset[str]:
    """Every script any letter of these texts is in."""
    found: set[str] = set()
    for text in texts:
        found.update(letter_scripts(text))
    return frozenset(found)


def foreign_scripts(text: str, known: frozenset[str]) -> list[str]:
    """The scripts outside `known` that most of the text's letters are in (most used first), or
    [] when most letters are in known scripts or the text has no letters."""
    counts = letter_scripts(text)
    total = sum(counts.values())
    foreign = {s: n for s, n in counts.items() if s not in known}
    if not total or sum(foreign.values()) * 2 <= total:
        return []
    return sorted(foreign, key=lambda s: (-foreign[s], s))
