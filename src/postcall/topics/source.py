"""YAML to position-aware nodes: every key and scalar remembers its file, line and column.

Copilot Studio writes YAML that a strict YAML 1.1 parser rejects or misreads, so this module uses
PyYAML's pure-Python composer with two changes and no typing of scalars:

* a scanner that lets `@` and a `*` that does not introduce an alias start plain scalars
  (`@odata.nextLink: ...`, `accept: */*`);
* no implicit resolution: every scalar stays text (`+4916090179359` keeps its `+`, `yes` stays
  "yes"); the topic model converts field by field where the schema says bool or number.

Aliases are refused (Copilot Studio never writes them, and they allow recursive documents).  A
YAML syntax error becomes a YML1xx diagnostic at its position, never an exception.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeAlias

import yaml
from yaml.composer import Composer, ComposerError
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from postcall.diagnostics import (
    Diagnostic,
    Severity,
    SourceSpan,
    TextOrigin,
    register_code,
)
from postcall.topics.scalar_positions import flow_scalar_segments, folded_block_segments

YML_SYNTAX = register_code("YML101", Severity.ERROR, "The file is not valid YAML.")
YML_EMPTY = register_code("YML102", Severity.ERROR, "The file is empty.")
YML_DUPLICATE_KEY = register_code(
    "YML103", Severity.WARNING, "A mapping repeats a key; the last value wins."
)
YML_COMPLEX_KEY = register_code(
    "YML104", Severity.ERROR, "A mapping key is not a plain scalar (a list or a mapping)."
)
YML_TOO_DEEP = register_code(
    "YML105", Severity.ERROR, "The document nests deeper than the loader accepts."
)
YML_ALIAS = register_code(
    "YML106", Severity.ERROR, "A YAML alias (*name) was used; topic files do not support them."
)
YML_ENCODING = register_code(
    "YML107", Severity.ERROR, "The file is not UTF-8 text or holds characters YAML forbids."
)

MAX_DEPTH = 200

# The YAML 1.2 core schema's resolution of plain scalars (https://yaml.org/spec/1.2.2/#1032-tag-resolution);
# quoted and block scalars are never resolved (they stay `str`).
TAG_STR, TAG_BOOL, TAG_NULL = "tag:yaml.org,2002:str", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"
TAG_INT, TAG_FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_CORE_SCHEMA = (
    (TAG_BOOL, r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    (TAG_NULL, r"^(?:~|null|Null|NULL|)$", "~nN"),
    (TAG_INT, r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (TAG_FLOAT, r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$", "-+.0123456789"),
)

_ANCHOR_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_")
_ALIAS_END = "\0 \t\r\n\x85\u2028\u2029?:,]}%@`"


class TopicYamlLoader(Reader, Scanner, Parser, Composer, BaseResolver):
    """PyYAML's pure-Python pipeline with a tolerant scanner, an alias-free composer and no
    implicit typing: every scalar is read as text.  Each scalar's tag is still resolved by the
    YAML 1.2 core schema (a plain `1` is tagged int, `"1"` and `!!str 1` str), kept in
    `YScalar.tag` for the few places that need JSON values (`to_json`)."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        BaseResolver.__init__(self)

    # Scanner: `@...` and `*` without an alias name start plain scalars.

    def check_plain(self) -> bool:
        ch = self.peek()
        if ch == "@" or (ch == "*" and not self._looks_like_alias()):
            return True
        return bool(super().check_plain())

    def _looks_like_alias(self) -> bool:
        length = 1
        while self.peek(length) in _ANCHOR_CHARS:
            length += 1
        return length > 1 and self.peek(length) in _ALIAS_END

    def fetch_alias(self) -> None:
        if not self._looks_like_alias():
            self.fetch_plain()
            return
        super().fetch_alias()

    # Composer: aliases are refused.

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(AliasEvent):
            event = self.get_event()  # type: ignore[no-untyped-call]
            raise ComposerError(
                None,
                None,
                f"found alias *{event.anchor}: topic files do not support YAML aliases",
                event.start_mark,
            )
        return super().compose_node(parent, index)


# ----------------------------------------------------------------------------------------------
# Position-aware nodes


@dataclass(frozen=True, slots=True)
class YScalar:
    """A scalar as text.  `style` is None (plain), `'`, `"`, `|` or `>`.

    `origin` maps offsets of `value` back to the file (exact where the style allows).
    """

    value: str
    span: SourceSpan
    style: str | None
    origin: TextOrigin
    tag: str = TAG_STR
    """The YAML tag the core schema gives it: a plain `1` is int, `"1"` (or `!!str 1`) str."""

    @property
    def is_null(self) -> bool:
        return self.style is None and self.value in ("", "~", "null", "Null", "NULL")

    @property
    def quoted(self) -> bool:
        return self.style is not None

    def origin_after(self, skip: int) -> TextOrigin:
        """Origin of `value[skip:]`, for `skip` characters on the first line (the `=`)."""
        o = self.origin
        if not o.exact:
            return o
        if o.segments:
            return o.shifted(self.value, skip)
        line, column = o.locate(self.value, skip)
        starts = o.line_starts
        if starts is not None and starts:
            starts = ((line, column), *starts[1:])
        return TextOrigin(o.path, line, column, starts, True)


@dataclass(frozen=True, slots=True)
class YMap:
    entries: tuple[tuple[YScalar, YNode], ...]
    span: SourceSpan

    def get(self, key: str) -> YNode | None:
        for k, v in reversed(self.entries):
            if k.value == key:
                return v
        return None

    def key_node(self, key: str) -> YScalar | None:
        for k, _ in reversed(self.entries):
            if k.value == key:
                return k
        return None

    def keys(self) -> list[str]:
        return [k.value for k, _ in self.entries]

    def __iter__(self) -> Iterator[tuple[YScalar, YNode]]:
        return iter(self.entries)


@dataclass(frozen=True, slots=True)
class YSeq:
    items: tuple[YNode, ...]
    span: SourceSpan

    def __iter__(self) -> Iterator[YNode]:
        return iter(self.items)


YNode: TypeAlias = YScalar | YMap | YSeq


def to_plain(node: YNode | None) -> Any:
    """Plain Python data (str / dict / list / None) for a node: raw values for diagnostics and
    UnsupportedNode.raw.  Scalars stay text; nulls become None."""
    if node is None:
        return None
    if isinstance(node, YScalar):
        return None if node.is_null else node.value
    if isinstance(node, YSeq):
        return [to_plain(i) for i in node.items]
    return {k.value: to_plain(v) for k, v in node.entries}


def to_json(node: YNode | None) -> Any:
    """JSON data for a node (a JSON schema written in YAML), typed by each scalar's YAML tag:
    a plain `true`/`1`/`1.5`/`null` is a boolean/number/null, a quoted `"1"` stays text."""
    if node is None:
        return None
    if isinstance(node, YSeq):
        return [to_json(i) for i in node.items]
    if isinstance(node, YMap):
        return {k.value: to_json(v) for k, v in node.entries}
    value = node.value
    if node.tag == TAG_BOOL:
        return value.lower() == "true"
    if node.tag == TAG_NULL:
        return None
    if node.tag == TAG_INT:
        return int(value, 0) if value[:2] in ("0o", "0x") else int(value)
    if node.tag == TAG_FLOAT:
        return float(value)
    return value


# ----------------------------------------------------------------------------------------------
# Parsing


@dataclass
class _Converter:
    path: str
    text: str
    lines: list[str]
    diagnostics: list[Diagnostic]

    def span(self, node: Node) -> SourceSpan:
        s, e = node.start_mark, node.end_mark
        return SourceSpan(self.path, s.line + 1, s.column + 1, e.line + 1, e.column + 1)

    def convert(self, node: Node, depth: int = 0) -> YNode:
        if depth > MAX_DEPTH:
            raise _TooDeep(node)
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if isinstance(node, SequenceNode):
            return YSeq(tuple(self.convert(n, depth + 1) for n in node.value), self.span(node))
        assert isinstance(node, MappingNode)
        entries: list[tuple[YScalar, YNode]] = []
        seen: dict[str, YScalar] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.diagnostics.append(
                    Diagnostic(
                        YML_COMPLEX_KEY,
                        Severity.ERROR,
                        "A mapping key must be a plain name, not a list or a mapping.",
                        self.span(key_node),
                    )
                )
                continue
            key = self.scalar(key_node)
            if key.value in seen:
                first = seen[key.value].span
                self.diagnostics.append(
                    Diagnostic(
                        YML_DUPLICATE_KEY,
                        Severity.WARNING,
                        f"Key '{key.value}' repeats (first at line {first.line}); the last value wins.",
                        key.span,
                    )
                )
            seen[key.value] = key
            entries.append((key, self.convert(value_node, depth + 1)))
        return YMap(tuple(entries), self.span(node))

    def scalar(self, node: ScalarNode) -> YScalar:
        span = self.span(node)
        style = node.style or None
        value: str = node.value
        origin = self.origin_of(node, style, value)
        return YScalar(value, span, style, origin, node.tag)

    def origin_of(self, node: ScalarNode, style: str | None, value: str) -> TextOrigin:
        s, e = node.start_mark, node.end_mark
        if style == ">":
            segments = folded_block_segments(self.lines, s.line, value)
            if segments is not None:
                line, column = segments[0][1], segments[0][2]
                return TextOrigin(self.path, line, column, None, True, segments)
            return self.block_origin(s.line, value, literal=False)
        if style == "|":
            return self.block_origin(s.line, value, literal=True)
        quoted = style in ('"', "'")
        raw = self.text[s.index + 1 : e.index - 1] if quoted else self.text[s.index : e.index]
        line, column = s.line + 1, s.column + (2 if quoted else 1)
        if raw == value:
            return TextOrigin(self.path, line, column, None, True)
        segments = flow_scalar_segments(raw, line, column, style, value)
        if segments is None:
            return TextOrigin(self.path, line, column, None, False)
        return TextOrigin(self.path, line, column, None, True, segments)

    def block_origin(self, header_line: int, value: str, *, literal: bool) -> TextOrigin:
        # Content starts on the line after the `|` header, at the block's indentation.
        first = header_line + 1
        indent = None
        for raw in self.lines[first:]:
            if raw.strip():
                indent = len(raw) - len(raw.lstrip(" "))
                break
        if indent is None or not literal:
            return TextOrigin(self.path, first + 1, (indent or 0) + 1, None, False)
        count = value.count("\n") + 1
        starts = tuple((first + 1 + i, indent + 1) for i in range(count))
        return TextOrigin(self.path, first + 1, indent + 1, starts, True)


class _TooDeep(Exception):
    def __init__(self, node: Node) -> None:
        super().__init__("too deep")
        self.node = node


def _mark_span(path: str, mark: Any) -> SourceSpan:
    if mark is None:
        return SourceSpan(path, 1, 1)
    return SourceSpan(path, int(mark.line) + 1, int(mark.column) + 1)


def _yaml_error(path: str, exc: yaml.YAMLError, text: str) -> Diagnostic:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        if exc.context == "while scanning a simple key" and exc.context_mark is not None:
            # The key without its colon is where the author must look, not the next line.
            mark = exc.context_mark
        if exc.context == "while scanning a quoted scalar" and exc.context_mark is not None:
            # An unterminated quote: the opening quote, not the end of the file.
            mark = exc.context_mark
        context = f" ({exc.context})" if exc.context else ""
        message = f"YAML syntax error: {problem}{context}."
        code = YML_ALIAS if problem.startswith("found alias") else YML_SYNTAX
        hint = None
        if problem == "mapping values are not allowed here" and mark is not None:
            lines = text.split("\n")
            source_line = lines[mark.line] if mark.line < len(lines) else ""
            if re.search(r":\s+=", source_line):
                hint = 'a formula that contains ": " must be quoted, e.g. value: "={a: 1}"'
        return Diagnostic(code, Severity.ERROR, message, _mark_span(path, mark), hint)
    if isinstance(exc, yaml.reader.ReaderError):
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        before = text[: exc.position]
        line = before.count("\n") + 1
        column = exc.position - (before.rfind("\n") + 1) + 1
        message = f"The file holds a character YAML does not allow (U+{ord(char):04X})."
        return Diagnostic(YML_ENCODING, Severity.ERROR, message, SourceSpan(path, line, column))
    return Diagnostic(YML_SYNTAX, Severity.ERROR, f"YAML error: {exc}", SourceSpan(path, 1, 1))


def parse_yaml(text: str, path: str) -> tuple[YNode | None, list[Diagnostic]]:
    """Parse one YAML document into position-aware nodes.

    Returns (None, diagnostics) when the text is not YAML or is empty; never raises.
    """
    diagnostics: list[Diagnostic] = []
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        loader = TopicYamlLoader(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        return None, [_yaml_error(path, exc, text)]
    except RecursionError:
        return None, [
            Diagnostic(
                YML_TOO_DEEP,
                Severity.ERROR,
                "The document nests too deeply to be a topic file.",
                SourceSpan(path, 1, 1),
            )
        ]
    if root is None:
        return None, [
            Diagnostic(YML_EMPTY, Severity.ERROR, "The file is empty.", SourceSpan(path, 1, 1))
        ]
    converter = _Converter(path, text, text.split("\n"), diagnostics)
    try:
        node = converter.convert(root)
    except _TooDeep as exc:
        span = converter.span(exc.node)
        diagnostics.append(
            Diagnostic(
                YML_TOO_DEEP,
                Severity.ERROR,
                f"The document nests more than {MAX_DEPTH} levels deep.",
                SourceSpan(span.path, span.line, span.column),
            )
        )
        return None, diagnostics
    return node, diagnostics


def read_text(data: bytes, path: str) -> tuple[str | None, list[Diagnostic]]:
    """Decode a file's bytes as UTF-8 (with or without BOM); a diagnostic if it is not."""
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        return None, [
            Diagnostic(
                YML_ENCODING,
                Severity.ERROR,
                f"The file is not UTF-8 text (byte 0x{data[exc.start]:02x}).",
                SourceSpan(path, line, column),
            )
        ]


for _tag, _pattern, _first in _CORE_SCHEMA:
    TopicYamlLoader.add_implicit_resolver(_tag, re.compile(_pattern), [*_first, ""] if _tag == TAG_NULL else list(_first))
