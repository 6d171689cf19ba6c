"""Text normalisation shared by the recogniser and the entity recognisers.

Lower case, typographic quotes folded, punctuation dropped (apostrophes kept inside words),
contractions expanded where it helps matching, and a light suffix-stripping stemmer.  There is no
synonym table: one tuned to an example agent cost 5.6 points on BANKING77 (issue 14); meaning is
the embedded recogniser's job (postcall.understanding).
"""

from __future__ import annotations

import re
import unicodedata

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_NON_WORD = re.compile(r"[^\w\s'+\-@./:]")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower-cased text with punctuation (except inner apostrophes, digits' separators) removed."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).lower()
    text = _NON_WORD.sub(" ", text)
    text = re.sub(r"(?<![\w])['\-./:]|['\-./:](?![\w])", " ", text)
    return _SPACES.sub(" ", text).strip()


def words(norm: str) -> list[str]:
    return [w for w in norm.split(" ") if w]


# What a caller says while thinking, which speech recognisers often write down.  They carry no
# intent, so no recogniser should read one: alone, "um" had matched the example agent's Goodbye
# (p 0.67) and hung up on the caller.  Only pure hesitation sounds: "ok", "so", "well" or
# "yeah" can be answers or part of a request, and are left alone.
HESITATIONS = frozenset(
    "um umm ummm uh uhh uhm er err erm hmm hm hmmm mm mmm mhm ah ahh eh".split()
)
_HESITATION = re.compile(
    r"(?<![\w'])(?:" + "|".join(sorted(HESITATIONS, key=len, reverse=True)) + r")(?![\w'])[,.;:!?…-]*",
    re.IGNORECASE,
)


def without_hesitations(text: str) -> str:
    """The text with hesitation sounds ("um", "uh,", "Hmm...") taken out, spaces tidied."""
    return _SPACES.sub(" ", _HESITATION.sub(" ", text)).strip()


_CONTRACTIONS = {
    "i'm": ["i", "am"], "im": ["i", "am"], "i'd": ["i", "would"], "i've": ["i", "have"],
    "i'll": ["i", "will"], "what's": ["what", "is"], "whats": ["what", "is"],
    "where's": ["where", "is"], "it's": ["it", "is"], "that's": ["that", "is"],
    "can't": ["can", "not"], "cannot": ["can", "not"], "won't": ["will", "not"],
    "don't": ["do", "not"], "dont": ["do", "not"], "doesn't": ["does", "not"],
    "isn't": ["is", "not"], "let's": ["let", "us"], "wanna": ["want", "to"],
    "gonna": ["going", "to"], "gotta": ["got", "to"], "you're": ["you", "are"],
    "there's": ["there", "is"], "how's": ["how", "is"],
}

STOPWORDS = frozenset(
    """a an the i me my mine we our you your to of for on in at by with from and or but so is am
    are was were be been being do does did have has had will would can could should may might
    must shall it its this that these those there here please just some any about like want
    wanted need needed get got let us would'd hi hello hey ok okay well um uh oh yes yeah really
    know tell give find check see look help go going what how when where which who whom""".split()
)

def stem(word: str) -> str:
    """A light stemmer (plural/verb suffixes), enough to equate "cases"/"case", "billing"/"bill"."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, repl in (
        ("ational", "ate"), ("ization", "ize"), ("fulness", "ful"), ("ousness", "ous"),
        ("iveness", "ive"), ("ies", "y"), ("ied", "y"), ("sses", "ss"), ("ing", ""), ("edly", ""),
        ("ed", ""), ("ly", ""), ("es", "e"), ("s", ""),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)] + repl
            if suffix in {"ing", "ed"} and len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz":
                base = base[:-1]  # "billing" -> "bill" keeps ll; "stopped" -> "stop"
            return base
    if word.endswith("ss"):
        return word
    return word


def within_one_edit(a: str, b: str) -> bool:
    """True when `a` and `b` differ by at most one insertion, deletion, substitution or swap."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        return (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and a[diffs[0]] == b[diffs[1]]
            and a[diffs[1]] == b[diffs[0]]
        )
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def content_tokens(text: str) -> list[str]:
    """Normalised, contraction-expanded, stop-word-free and stemmed tokens."""
    out: list[str] = []
    for tok in words(normalise(text)):
        for part in _CONTRACTIONS.get(tok, [tok]):
            part = part.strip("'")
            if not part or part in STOPWORDS:
                continue
            out.append(stem(part))
    return out


def all_tokens(text: str) -> list[str]:
    """Normalised and contraction-expanded tokens, nothing dropped."""
    out: list[str] = []
    for tok in words(normalise(text)):
        out.extend(p for p in _CONTRACTIONS.get(tok, [tok]) if p)
    return out
