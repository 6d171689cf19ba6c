"""Tokenizer for Power Fx: feeds lark's LALR parser, and handles what a regex lexer cannot.

It tracks context that a plain regular lexer cannot: `$"...{expr}..."` interpolation (nested
holes and strings), and the word operators `And`/`Or`/`in`/`exactin`/`As` which are operators
only after an operand (`And(a, b)` is a function call).  Problems are collected as
`LexProblem`s; the offending character is skipped so that parsing can go on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from lark import Token

# Operator spellings, longest first.
_OPERATORS: tuple[tuple[str, str], ...] = (
    ("<>", "NE"),
    ("<=", "LE"),
    (">=", "GE"),
    ("&&", "ANDAND"),
    ("||", "OROR"),
    ("=", "EQ"),
    ("<", "LT"),
    (">", "GT"),
    ("&", "AMP"),
    ("+", "PLUS"),
    ("-", "MINUS"),
    ("*", "STAR"),
    ("/", "SLASH"),
    ("^", "CARET"),
    ("%", "PERCENT"),
    ("!", "BANG"),
    (".", "DOT"),
    (",", "COMMA"),
    (";", "SEMI"),
    ("(", "LPAR"),
    (")", "RPAR"),
    ("{", "LBRACE"),
    ("}", "RBRACE"),
    ("[", "LSQB"),
    ("]", "RSQB"),
    (":", "COLON"),
    ("@", "AT"),
)

# Word operators that only act as operators after an operand.
_INFIX_WORDS = {"And": "AND", "Or": "OR", "in": "IN", "exactin": "EXACTIN", "As": "AS"}

# Tokens after which an operand has ended (so a following word may be infix).
_OPERAND_END = {
    "NAME",
    "QNAME",
    "NUMBER",
    "STRING",
    "TRUE",
    "FALSE",
    "RPAR",
    "RBRACE",
    "RSQB",
    "PERCENT",
    "ISTR_END",
}

_SMART_QUOTES = {"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"}


@dataclass(frozen=True)
class LexProblem:
    message: str
    start: int
    end: int


def _is_ident_start(ch: str) -> bool:
    return ch.isalpha() or ch == "_"


def _is_ident_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


class Tokenizer:
    """Turns formula text into lark Tokens with offsets, lines and columns."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.problems: list[LexProblem] = []
        self._line_starts = [0]
        for i, ch in enumerate(text):
            if ch == "\n":
                self._line_starts.append(i + 1)

    def _token(self, kind: str, value: str, start: int, end: int) -> Token:
        line, col = self._line_col(start)
        end_line, end_col = self._line_col(end)
        return Token(
            kind,
            value,
            start_pos=start,
            line=line,
            column=col,
            end_line=end_line,
            end_column=end_col,
            end_pos=end,
        )

    def _line_col(self, offset: int) -> tuple[int, int]:
        lo, hi = 0, len(self._line_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._line_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1, offset - self._line_starts[lo] + 1

    def tokens(self) -> Iterator[Token]:
        text = self.text
        n = len(text)
        i = 0
        prev: str | None = None
        # Stack of brace depths inside interpolation holes: each entry counts the open
        # `{` of records inside the current hole.
        holes: list[int] = []
        while i < n:
            ch = text[i]
            if ch in " \t\r\n\u00a0\ufeff":
                i += 1
                continue
            if text.startswith("//", i):
                j = text.find("\n", i)
                i = n if j < 0 else j + 1
                continue
            if text.startswith("/*", i):
                j = text.find("*/", i + 2)
                if j < 0:
                    self.problems.append(LexProblem("Unterminated comment.", i, n))
                    i = n
                else:
                    i = j + 2
                continue
            start = i
            if holes and ch == "}" and holes[-1] == 0:
                holes.pop()
                tok = self._token("HOLE_END", "}", i, i + 1)
                yield tok
                i += 1
                i, toks = self._interp_text(i, holes)
                for t in toks:
                    yield t
                prev = toks[-1].type if toks else "ISTR_END"
                continue
            if ch == "$" and i + 1 < n and text[i + 1] in "\"\u201c\u201d":
                yield self._token("ISTR_START", '$"', i, i + 2)
                i, toks = self._interp_text(i + 2, holes)
                for t in toks:
                    yield t
                prev = toks[-1].type if toks else "ISTR_END"
                continue
            if ch in "\"\u201c\u201d":
                i, value, ok = self._string(i)
                if not ok:
                    self.problems.append(LexProblem("Unterminated text literal: a closing \" is missing.", start, n))
                yield self._token("STRING", value, start, i)
                prev = "STRING"
                continue
            if ch in "'\u2018\u2019":
                j = i + 1
                chars: list[str] = []
                closed = False
                while j < n:
                    c = text[j]
                    if c in "'\u2018\u2019":
                        if j + 1 < n and text[j + 1] == "'":
                            chars.append("'")
                            j += 2
                            continue
                        closed = True
                        j += 1
                        break
                    if c == "\n":
                        break
                    chars.append(c)
                    j += 1
                if not closed:
                    self.problems.append(LexProblem("Unterminated quoted name: a closing ' is missing.", start, j))
                i = j
                yield self._token("QNAME", "".join(chars), start, i)
                prev = "QNAME"
                continue
            if ch.isdigit() or (ch == "." and i + 1 < n and text[i + 1].isdigit() and prev not in _OPERAND_END):
                j = i
                while j < n and text[j].isdigit():
                    j += 1
                if j < n and text[j] == "." and (j + 1 >= n or not _is_ident_start(text[j + 1])):
                    j += 1
                    while j < n and text[j].isdigit():
                        j += 1
                if j < n and text[j] in "eE":
                    k = j + 1
                    if k < n and text[k] in "+-":
                        k += 1
                    if k < n and text[k].isdigit():
                        while k < n and text[k].isdigit():
                            k += 1
                        j = k
                i = j
                yield self._token("NUMBER", text[start:i], start, i)
                prev = "NUMBER"
                continue
            if _is_ident_start(ch):
                j = i + 1
                while j < n and _is_ident_char(text[j]):
                    j += 1
                word = text[i:j]
                i = j
                kind = "NAME"
                if word == "true":
                    kind = "TRUE"
                elif word == "false":
                    kind = "FALSE"
                elif word in _INFIX_WORDS and prev in _OPERAND_END:
                    kind = _INFIX_WORDS[word]
                elif word == "Not" and not self._next_is(i, "("):
                    kind = "NOT"
                yield self._token(kind, word, start, i)
                prev = kind
                continue
            for spelling, kind in _OPERATORS:
                if text.startswith(spelling, i):
                    if holes:
                        if kind == "LBRACE":
                            holes[-1] += 1
                        elif kind == "RBRACE":
                            holes[-1] -= 1
                    i += len(spelling)
                    yield self._token(kind, spelling, start, i)
                    prev = kind
                    break
            else:
                self.problems.append(LexProblem(f"Unexpected character {ch!r}.", i, i + 1))
                i += 1
        if holes:
            self.problems.append(LexProblem("Unterminated interpolated text: a closing } or \" is missing.", n, n))

    def _next_is(self, i: int, ch: str) -> bool:
        text = self.text
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        return i < len(text) and text[i] == ch

    def _string(self, i: int) -> tuple[int, str, bool]:
        text = self.text
        n = len(text)
        j = i + 1
        chars: list[str] = []
        while j < n:
            c = text[j]
            if c in "\"\u201c\u201d":
                if j + 1 < n and text[j + 1] in "\"\u201c\u201d":
                    chars.append('"')
                    j += 2
                    continue
                return j + 1, "".join(chars), True
            chars.append(c)
            j += 1
        return n, "".join(chars), False

    def _interp_text(self, i: int, holes: list[int]) -> tuple[int, list[Token]]:
        """Lex literal parts of an interpolated string from offset i up to a hole or its end."""
        text = self.text
        n = len(text)
        chars: list[str] = []
        start = i
        toks: list[Token] = []
        while i < n:
            c = text[i]
            if c in "\"\u201c\u201d":
                if i + 1 < n and text[i + 1] in "\"\u201c\u201d":
                    chars.append('"')
                    i += 2
                    continue
                if chars:
                    toks.append(self._token("ISTR_TEXT", "".join(chars), start, i))
                toks.append(self._token("ISTR_END", '"', i, i + 1))
                return i + 1, toks
            if c == "{":
                if i + 1 < n and text[i + 1] == "{":
                    chars.append("{")
                    i += 2
                    continue
                if chars:
                    toks.append(self._token("ISTR_TEXT", "".join(chars), start, i))
                toks.append(self._token("HOLE_START", "{", i, i + 1))
                holes.append(0)
                return i + 1, toks
            if c == "}":
                if i + 1 < n and text[i + 1] == "}":
                    chars.append("}")
                    i += 2
                    continue
                self.problems.append(LexProblem("Unexpected '}' in interpolated text (write '}}' for a literal brace).", i, i + 1))
            chars.append(c)
            i += 1
        if chars:
            toks.append(self._token("ISTR_TEXT", "".join(chars), start, n))
        self.problems.append(LexProblem("Unterminated interpolated text: a closing \" is missing.", start, n))
        toks.append(self._token("ISTR_END", '"', n, n))
        return n, toks
