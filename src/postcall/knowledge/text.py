"""Words and spoken answers: pure text functions shared by the index and the engine (no I/O)."""

from __future__ import annotations

import re

STOPWORDS = frozenset(
    """a an and are as at be but by can could do does did for from had has have how i if in into is it
    its me my no not of on or our please so than that the their them then there these they this to
    us was we were what when where which who whom why will with would you your yours about tell
    know want need like just get""".split()
)
WORD = re.compile(r"[^\W_]+", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def norm(word: str) -> str:
    """A light stem, the same at build and query time (FTS5's porter stemmer ranks; this weighs):
    plural, -ing and -ed endings, a doubled final consonant and a final e dropped, so that
    take/takes/taking, ship/ships/shipping/shipped and hour/hours meet."""
    w = word.lower()
    if len(w) <= 3:
        return w
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith(("sses", "xes", "zes", "ches", "shes")):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if w.endswith("ing") and len(w) > 5:
        w = w[:-3]
    elif w.endswith("ed") and len(w) > 4:
        w = w[:-2]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
        w = w[:-1]
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    return w


def terms(text: str) -> list[str]:
    """The meaningful words of `text`, normalised."""
    return [norm(w) for w in WORD.findall(text) if w.lower() not in STOPWORDS]


def spoken_answer(question: str, passage: str, *, max_words: int = 45) -> str:
    """The sentence (or two) of `passage` that answers `question` best, short enough to speak.

    Sentences are scored by the question's words they hold (a word held by fewer of the
    passage's sentences weighs more); the best one is kept, with the one
    after it when both fit in `max_words`; a sentence longer than that is cut at a word
    boundary and ends with an ellipsis.
    """
    lines = [ln for ln in passage.splitlines() if ln.strip()]
    body = [ln for ln in lines if ln.rstrip().endswith((".", "!", "?")) or len(ln.split()) >= 6] or lines
    sentences = [s.strip() for s in _SENTENCE_END.split(" ".join(" ".join(body).split())) if s.strip()]
    if not sentences:
        return ""
    wanted = set(terms(question))
    held = [wanted & set(terms(s)) for s in sentences]
    # a word of the question found in fewer sentences tells more about which one answers it
    spread = {t: sum(t in h for h in held) for t in wanted}
    scores = [sum(1.0 / spread[t] for t in h) for h in held]
    best = max(range(len(sentences)), key=lambda i: (scores[i], -i))
    chosen = [sentences[best]]
    if best + 1 < len(sentences) and scores[best + 1] > 0:
        pair = chosen + [sentences[best + 1]]
        if len(" ".join(pair).split()) <= max_words:
            chosen = pair
    words = " ".join(chosen).split()
    if len(words) > max_words:
        return " ".join(words[:max_words]).rstrip(",;:") + "…"
    return " ".join(words)
