"""DTMF: key names as Copilot Studio writes them, and digit entry with length and termination.

Keys are written `Num0`..`Num9`, `PoundKey`, `StarKey` in YAML and travel as the characters
`0`..`9`, `#`, `*` in activities (`Activity.dtmf`).
"""

from __future__ import annotations

from dataclasses import dataclass

from postcall.engine.entities import spoken_digits

KEY_CHARS: dict[str, str] = {f"Num{i}": str(i) for i in range(10)} | {
    "PoundKey": "#",
    "StarKey": "*",
    "Pound": "#",
    "Star": "*",
    "Hash": "#",
}
CHAR_KEYS: dict[str, str] = {"#": "PoundKey", "*": "StarKey"} | {str(i): f"Num{i}" for i in range(10)}


def key_char(key: str | None) -> str | None:
    """`Num5` -> "5", `PoundKey` -> "#"; a bare character passes through; None for unknown."""
    if key is None:
        return None
    if key in KEY_CHARS:
        return KEY_CHARS[key]
    if len(key) == 1 and key in CHAR_KEYS:
        return key
    return None


def clean_digits(dtmf: str) -> str:
    """Only the keys a keypad can send (0-9, #, *), in order."""
    return "".join(ch for ch in dtmf if ch in CHAR_KEYS)


@dataclass(frozen=True, slots=True)
class DigitEntry:
    """Resolved digit-entry options of a Question (`dtmfOptions` of a String/Number entity).

    `termination_key` is the character ("#"/"*") that ends entry, or None; `min_length`/
    `max_length` bound the number of digits (equal for fixed length).
    """

    min_length: int | None = None
    max_length: int | None = None
    termination_key: str | None = "#"
    accepts_voice: bool = True


@dataclass(frozen=True, slots=True)
class DigitResult:
    digits: str | None
    problem: str | None = None  # "too-short", "too-long", "not-digits"


def read_digits(entry: DigitEntry, *, dtmf: str | None, text: str | None) -> DigitResult:
    """The digits a caller entered: keyed (up to the termination key) or, if allowed, spoken."""
    digits: str | None = None
    if dtmf:
        keyed = clean_digits(dtmf)
        if entry.termination_key and entry.termination_key in keyed:
            keyed = keyed.split(entry.termination_key, 1)[0]
        keyed = keyed.replace("#", "").replace("*", "")
        digits = keyed
    elif text is not None and entry.accepts_voice:
        digits = spoken_digits(text)
        if digits is None:
            compact = "".join(ch for ch in text if not ch.isspace() and ch not in "-.,")
            if compact.isdigit():
                digits = compact
    if digits is None or (not digits and not dtmf):
        return DigitResult(None, "not-digits")
    if entry.min_length is not None and len(digits) < entry.min_length:
        return DigitResult(None, "too-short")
    if entry.max_length is not None and len(digits) > entry.max_length:
        return DigitResult(None, "too-long")
    if not digits:
        return DigitResult(None, "not-digits")
    return DigitResult(digits)
