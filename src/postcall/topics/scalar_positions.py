"""Exact file positions of the characters of YAML scalars whose text differs from the file.

A double-quoted scalar decodes escapes (`\\"`, `\\\\`, `\\u00e9`...), a single-quoted one turns
`''` into `'`, and quoted, plain and folded (`>`) scalars fold their line breaks into spaces.
For Power Fx carets to point at the right column anyway, these functions replay YAML's rules on
the scalar's source text and give each character of the value its (line, column) in the file,
as the run-length `segments` of `TextOrigin`.  Every result is checked against the value
PyYAML produced; when they differ (a construct not replayed here) the caller falls back to an
inexact origin (carets at the scalar's start), never to a wrong position.
"""

from __future__ import annotations

from collections.abc import Sequence

Char = tuple[str, int, int]  # a character of the value and its 1-based file line and column
Segments = tuple[tuple[int, int, int], ...]

_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f",
    "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85",
    "_": "\xa0", "L": "\u2028", "P": "\u2029",
}  # fmt: skip
_HEX_WIDTH = {"x": 2, "u": 4, "U": 8}
_BLANKS = " \t"


def segments_of(chars: Sequence[Char]) -> Segments:
    """Run-length form: a new run wherever a character is not one column after the last."""
    runs: list[tuple[int, int, int]] = []
    previous: tuple[int, int] | None = None
    for offset, (_, line, column) in enumerate(chars):
        if previous is None or (line, column) != (previous[0], previous[1] + 1):
            runs.append((offset, line, column))
        previous = (line, column)
    return tuple(runs)


def flow_scalar_segments(
    raw: str, line: int, column: int, style: str | None, value: str
) -> Segments | None:
    """Segments of a plain (`style` None), single- (`'`) or double-quoted (`"`) scalar whose
    source text between the quotes is `raw`, starting at file (`line`, `column`)."""
    parsed = _flow_lines(raw, line, column, style)
    if parsed is None:
        return None
    lines, escaped_breaks, ends = parsed
    chars = _fold(lines, escaped_breaks, ends)
    if "".join(ch for ch, _, _ in chars) != value or not chars:
        return None
    return segments_of(chars)


def _flow_lines(
    raw: str, line: int, column: int, style: str | None
) -> tuple[list[list[tuple[str, int, int, bool]]], list[bool], list[tuple[int, int]]] | None:
    """The source split into lines of (char, line, column, escaped) tokens, whether each line
    ends with an escaped line break, and where each line break is."""
    lines: list[list[tuple[str, int, int, bool]]] = []
    escaped_breaks: list[bool] = []
    ends: list[tuple[int, int]] = []
    current: list[tuple[str, int, int, bool]] = []
    i, n, ln, col = 0, len(raw), line, column
    while i < n:
        ch = raw[i]
        if ch == "\r" and i + 1 < n and raw[i + 1] == "\n":
            i += 1
            col += 1
            continue
        if ch == "\n":
            lines.append(current)
            escaped_breaks.append(False)
            ends.append((ln, col))
            current, ln, col = [], ln + 1, 1
            i += 1
            continue
        if style == "'" and ch == "'" and i + 1 < n and raw[i + 1] == "'":
            current.append(("'", ln, col, True))
            i, col = i + 2, col + 2
            continue
        if style == '"' and ch == "\\":
            if i + 1 >= n:
                return None
            nxt = raw[i + 1]
            if nxt in "\r\n":
                lines.append(current)
                escaped_breaks.append(True)
                ends.append((ln, col))
                current, ln, col = [], ln + 1, 1
                i += 3 if raw.startswith("\r\n", i + 1) else 2
                continue
            if nxt in _ESCAPES:
                current.append((_ESCAPES[nxt], ln, col, True))
                i, col = i + 2, col + 2
                continue
            width = _HEX_WIDTH.get(nxt)
            if width is None:
                return None
            digits = raw[i + 2 : i + 2 + width]
            try:
                decoded = chr(int(digits, 16))
            except (ValueError, OverflowError):
                return None
            current.append((decoded, ln, col, True))
            i, col = i + 2 + width, col + 2 + width
            continue
        current.append((ch, ln, col, False))
        i, col = i + 1, col + 1
    lines.append(current)
    escaped_breaks.append(False)
    ends.append((ln, col))
    return lines, escaped_breaks, ends


def _fold(
    lines: list[list[tuple[str, int, int, bool]]],
    escaped_breaks: list[bool],
    ends: list[tuple[int, int]],
) -> list[Char]:
    """YAML line folding of flow scalars: blanks around a line break go; a break becomes a
    space, or n newlines when n empty lines follow it; an escaped break joins the lines."""
    last = len(lines) - 1
    trimmed: list[list[tuple[str, int, int, bool]]] = []
    for index, tokens in enumerate(lines):
        start, stop = 0, len(tokens)
        if index > 0:
            while start < stop and tokens[start][0] in _BLANKS and not tokens[start][3]:
                start += 1
        if index < last and not escaped_breaks[index]:
            while stop > start and tokens[stop - 1][0] in _BLANKS and not tokens[stop - 1][3]:
                stop -= 1
        trimmed.append(tokens[start:stop])
    out: list[Char] = [(ch, ln, col) for ch, ln, col, _ in trimmed[0]]
    index = 1
    while index <= last:
        if escaped_breaks[index - 1]:
            out.extend((ch, ln, col) for ch, ln, col, _ in trimmed[index])
            index += 1
            continue
        where = ends[index - 1]
        empties = 0
        while index < last and not trimmed[index]:
            empties += 1
            index += 1
        if empties:
            out.extend(("\n", *where) for _ in range(empties))
        else:
            out.append((" ", *where))
        out.extend((ch, ln, col) for ch, ln, col, _ in trimmed[index])
        index += 1
    return out


def _explicit_indent(header: str) -> int | None:
    """The content indentation a header such as `value: >2-` sets, or None."""
    mark = header.rfind(">")
    digits = [ch for ch in header[mark + 1 :].split("#", 1)[0] if ch.isdigit()]
    if mark < 0 or not digits:
        return None
    stripped = header.lstrip(" ")
    parent = len(header) - len(stripped)
    while stripped.startswith("- "):
        parent += 2
        stripped = stripped[2:]
    return parent + int(digits[0])


def folded_block_segments(
    file_lines: Sequence[str], header_line: int, value: str
) -> Segments | None:
    """Segments of a folded block scalar (`>`, `>-`, `>+`) whose header is on 0-based line
    `header_line` of the file (PyYAML's folding rules, replayed)."""
    lines = [raw.rstrip("\r") for raw in file_lines[header_line + 1 :]]
    indent = _explicit_indent(file_lines[header_line]) or next(
        (len(raw) - len(raw.lstrip(" ")) for raw in lines if raw.strip()), None
    )
    if indent is None or indent == 0:
        return None
    chars: list[Char] = []
    index = 0
    # Leading empty lines are newlines of the value.
    while index < len(lines) and not lines[index][indent:]:
        chars.append(("\n", header_line + 2 + index, 1))
        index += 1
    while index < len(lines):
        text = lines[index]
        if not text[indent:] or len(text) - len(text.lstrip(" ")) < min(indent, len(text)):
            break
        file_line = header_line + 2 + index
        content = text[indent:]
        chars.extend((ch, file_line, indent + 1 + k) for k, ch in enumerate(content))
        end = (file_line, len(text) + 1)
        breaks: list[Char] = []
        index += 1
        while index < len(lines) and not lines[index][indent:] and not lines[index].strip():
            breaks.append(("\n", header_line + 2 + index, 1))
            index += 1
        following = lines[index] if index < len(lines) else ""
        continues = bool(following[indent:]) and following[:indent].strip() == ""
        if continues:
            next_content = following[indent:]
            if content[:1] not in _BLANKS and next_content[:1] not in _BLANKS:
                if not breaks:
                    chars.append((" ", *end))
            else:
                chars.append(("\n", *end))
            chars.extend(breaks)
            continue
        # The end: clip keeps one newline, keep (+) all, strip (-) none; match the value.
        tail = [("\n", *end), *breaks]
        text_so_far = "".join(ch for ch, _, _ in chars)
        extra = len(value) - len(text_so_far)
        if 0 <= extra <= len(tail):
            chars.extend(tail[:extra])
        break
    if "".join(ch for ch, _, _ in chars) != value or not chars:
        return None
    return segments_of(chars)
