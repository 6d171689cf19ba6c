"""Text that every part of postcall can store, show and send: no lone surrogates, no NUL.

Python strings may hold what UTF-8 cannot encode (a lone UTF-16 surrogate, which JSON's
`"\\udfff"` escape produces) and what PostgreSQL refuses in text and JSONB (U+0000).  One such
character in a conversation's state used to make every write of that conversation fail, and
with it the watchdog's pass over every other conversation.  The policy (docs/security.md):

- **Free text from a channel is replaced, not refused**: what a caller said, a caller's number,
  a provider's reason or metadata.  A lone surrogate or a NUL becomes U+FFFD (the Unicode
  replacement character), so a call never loses a turn or its end because of one character
  a bridge could not have fixed.  (Fields with a fixed syntax, such as ids, digits and
  timestamps, are checked by their own patterns and refused with a 400 naming the field.)
- **Text an operator sends (the admin API, the console's forms) is refused** with a 4xx naming
  the field: whoever typed it can correct it.
- **The store cleans whatever still reaches it** (a Power Fx `Char(0)`, a CRM's JSON answer)
  the same way, so a write never fails on these characters.

The checks cost one `isascii()` for the usual ASCII text and one UTF-8 encode otherwise.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["REPLACEMENT", "bad_character", "clean_json", "clean_text", "is_clean"]

REPLACEMENT = "\ufffd"
_BAD = re.compile("[\x00\ud800-\udfff]")


def is_clean(value: str) -> bool:
    """True when `value` holds neither a NUL nor a lone surrogate."""
    if "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_text(value: str) -> str:
    """`value` with each NUL and lone surrogate replaced by U+FFFD (the same object when clean)."""
    if is_clean(value):
        return value
    return _BAD.sub(REPLACEMENT, value)


def bad_character(value: str) -> str | None:
    """A description of the first character `clean_text` would replace, or None."""
    if is_clean(value):
        return None
    found = _BAD.search(value)
    assert found is not None
    char = found.group()
    what = "a NUL character (U+0000)" if char == "\x00" else f"a lone surrogate (U+{ord(char):04X})"
    return f"{what} at position {found.start()}"


def clean_json(value: Any) -> Any:
    """A JSON-like value with every string (keys too) cleaned; the same object when nothing changes."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        changed = False
        out: dict[Any, Any] = {}
        for key, item in value.items():
            new_key = clean_text(key) if isinstance(key, str) else key
            new_item = clean_json(item)
            changed = changed or new_key is not key or new_item is not item
            out[new_key] = new_item
        return out if changed else value
    if isinstance(value, list | tuple):
        items = [clean_json(item) for item in value]
        if any(new is not old for new, old in zip(items, value, strict=True)):
            return items if isinstance(value, list) else tuple(items)
        return value
    return value
