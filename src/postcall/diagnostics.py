"""Positions in source files and compiler-style diagnostics.

Every authoring problem (YAML, topic structure, Power Fx) is a `Diagnostic` pointing at a
`SourceSpan` in a file.  Diagnostics are collected, never thrown one at a time, and rendered as

    path:line:column: severity CODE: message
        <the offending source line>
        ^^^^^

Codes are stable and registered in `CODES`; docs/diagnostics.md lists them.
"""

from __future__ import annotations

import bisect
import difflib
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class SourceSpan:
    """A region of a file: 1-based line and column (in characters), end exclusive."""

    path: str
    line: int
    column: int
    end_line: int | None = None
    end_column: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class TextOrigin:
    """Where a piece of text (a formula, a template) starts in its file.

    The Power Fx parser receives one so that its spans point into the YAML file, not into
    the formula string.  `line_starts` gives the file position of the start of each line of
    the text for multi-line (block) scalars; without it, line n of the text starts at column 1
    of `line + n`.  `segments`, when set, maps every character exactly: `(offset, line,
    column)` runs, sorted by offset, where character `offset + k` (up to the next run) is at
    `(line, column + k)`; the YAML reader builds them for scalars whose text differs from the
    file (escapes in double quotes, `''` in single quotes, folded lines).  `exact` is False
    where columns are unrecoverable: spans then point at the scalar's start.
    """

    path: str
    line: int
    column: int
    line_starts: tuple[tuple[int, int], ...] | None = None
    exact: bool = True
    segments: tuple[tuple[int, int, int], ...] | None = None

    def locate(self, text: str, offset: int) -> tuple[int, int]:
        """File (line, column) of character `offset` of `text`."""
        if not self.exact:
            return self.line, self.column
        offset = max(0, min(offset, len(text)))
        if self.segments:
            index = bisect.bisect_right(self.segments, (offset, 1 << 62, 0)) - 1
            start, line, column = self.segments[max(index, 0)]
            return line, column + max(offset - start, 0)
        before = text[:offset]
        text_line = before.count("\n")
        col_in_line = offset - (before.rfind("\n") + 1)
        if text_line == 0:
            return self.line, self.column + col_in_line
        if self.line_starts is not None and text_line < len(self.line_starts):
            start_line, start_col = self.line_starts[text_line]
            return start_line, start_col + col_in_line
        return self.line + text_line, 1 + col_in_line

    def span(self, text: str, start: int, end: int | None = None) -> SourceSpan:
        """The file span of characters `start:end` of `text`."""
        line, column = self.locate(text, start)
        if end is None or end <= start:
            return SourceSpan(self.path, line, column)
        if self.segments:
            # Where the next character starts (so an escape such as `\"` is covered whole),
            # unless that is on another line: then just after the last character.
            last_line, last_column = self.locate(text, end - 1)
            end_line, end_column = self.locate(text, end)
            if (end_line, end_column) <= (last_line, last_column) or end_line != last_line:
                end_line, end_column = last_line, last_column + 1
        else:
            end_line, end_column = self.locate(text, end)
        return SourceSpan(self.path, line, column, end_line, end_column)

    def shifted(self, text: str, offset: int, length: int | None = None) -> TextOrigin:
        """The origin of `text[offset:offset + length]` (a formula after its `=`, a `{...}`
        hole of a template): positions stay exact."""
        line, column = self.locate(text, offset)
        if not self.exact:
            return self
        if self.segments:
            end = len(text) if length is None else offset + length
            runs = [(0, line, column)]
            for start, seg_line, seg_column in self.segments:
                if offset < start <= end:
                    runs.append((start - offset, seg_line, seg_column))
            return TextOrigin(self.path, line, column, None, True, tuple(runs))
        piece = text[offset:] if length is None else text[offset : offset + length]
        starts: list[tuple[int, int]] = [(line, column)]
        pos = piece.find("\n")
        while pos >= 0:
            starts.append(self.locate(text, offset + pos + 1))
            pos = piece.find("\n", pos + 1)
        return TextOrigin(self.path, line, column, tuple(starts) if len(starts) > 1 else None, True)


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    span: SourceSpan | None = None
    hint: str | None = None
    mask: SourceSpan | None = None
    """Source text the excerpt must not show (a secret's value): from its start to the end of
    its line it is printed as `[redacted]`."""

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": str(self.severity),
            "message": self.message,
            "path": self.span.path if self.span else None,
            "line": self.span.line if self.span else None,
            "column": self.span.column if self.span else None,
            "end_line": self.span.end_line if self.span else None,
            "end_column": self.span.end_column if self.span else None,
            "hint": self.hint,
        }


@dataclass
class DiagnosticBag:
    """Collects diagnostics across a whole load; `extend` and `add` never raise."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(
        self,
        code: str,
        message: str,
        span: SourceSpan | None = None,
        *,
        severity: Severity | None = None,
        hint: str | None = None,
    ) -> Diagnostic:
        sev = severity if severity is not None else default_severity(code)
        diag = Diagnostic(code, sev, message, span, hint)
        self.items.append(diag)
        return diag

    def extend(self, diags: Iterable[Diagnostic]) -> None:
        self.items.extend(diags)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.WARNING]

    def has_errors(self) -> bool:
        return any(d.is_error for d in self.items)


@dataclass(frozen=True, slots=True)
class CodeInfo:
    code: str
    severity: Severity
    summary: str


CODES: dict[str, CodeInfo] = {}


def register_code(code: str, severity: Severity, summary: str) -> str:
    """Register a stable diagnostic code (each package registers its own at import)."""
    existing = CODES.get(code)
    if existing is not None and existing.summary != summary:
        raise ValueError(f"Diagnostic code {code!r} is already registered as {existing.summary!r}.")
    CODES[code] = CodeInfo(code, severity, summary)
    return code


def default_severity(code: str) -> Severity:
    info = CODES.get(code)
    return info.severity if info is not None else Severity.ERROR


def did_you_mean(word: str, candidates: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The closest candidate to a misspelt `word`, compared without case, or None."""
    pool = list(dict.fromkeys(candidates))
    lowered = {c.lower(): c for c in pool}
    if word.lower() in lowered and lowered[word.lower()] != word:
        return lowered[word.lower()]
    matches = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=cutoff)
    return lowered[matches[0]] if matches else None


def sort_key(diag: Diagnostic) -> tuple[str, int, int, str]:
    if diag.span is None:
        return ("", 0, 0, diag.code)
    return (diag.span.path, diag.span.line, diag.span.column, diag.code)


def render(
    diag: Diagnostic,
    sources: Mapping[str, str] | None = None,
) -> str:
    """Render one diagnostic compiler-style, with the source line and a caret line."""
    where = f"{diag.span}: " if diag.span is not None else ""
    text = f"{where}{diag.severity} {diag.code}: {diag.message}"
    hint = f"\n    hint: {diag.hint}" if diag.hint else ""
    if diag.span is None or sources is None:
        return text + hint
    source = sources.get(diag.span.path)
    if source is None:
        return text + hint
    lines = source.splitlines()
    if not 1 <= diag.span.line <= len(lines):
        return text + hint
    line_text = lines[diag.span.line - 1].expandtabs(1)
    if diag.mask is not None and diag.mask.line == diag.span.line and diag.mask.column >= 1:
        line_text = line_text[: diag.mask.column - 1] + "[redacted]"
    start = max(diag.span.column - 1, 0)
    if diag.span.end_line == diag.span.line and diag.span.end_column is not None:
        width = max(diag.span.end_column - diag.span.column, 1)
    else:
        width = max(len(line_text.rstrip()) - start, 1)
    caret = " " * start + "^" * width
    return f"{text}\n    {line_text}\n    {caret}{hint}"


def render_all(diags: Sequence[Diagnostic], sources: Mapping[str, str] | None = None) -> str:
    return "\n".join(render(d, sources) for d in sorted(diags, key=sort_key))
