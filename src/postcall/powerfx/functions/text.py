"""Text functions: Concatenate, Len, Left/Mid/Right, Find, Substitute, Split, Trim, EncodeUrl..."""

from __future__ import annotations

import functools
import html
import math
import re
import urllib.parse
import uuid
from collections.abc import Callable, Sequence

from postcall.powerfx.coerce import to_number, to_text
from postcall.powerfx.functions.common import (
    TableText,
    check_rows,
    check_text,
    row_value,
    text_room,
)
from postcall.powerfx.functions.registry import CallSite, Fn, eager, lazy
from postcall.powerfx.runtime import Frame
from postcall.powerfx.values import ErrorKind, ErrorValue, Record, Table, UntypedObject, Value

ScalarImpl = Callable[[Frame, CallSite, list[Value]], Value]


def tabular(impl: ScalarImpl) -> ScalarImpl:
    """Lift a scalar implementation: a single-column table in any argument maps row by row."""

    @functools.wraps(impl)
    def run(frame: Frame, site: CallSite, args: list[Value]) -> Value:
        for a in args:
            if type(a) is Table:
                break
        else:
            if None in args and any(a is None and site.arg_kind(i) == "Table" for i, a in enumerate(args)):
                return None  # a Blank table gives a Blank result, not one row's
            return impl(frame, site, args)
        types = site.arg_types
        if any(a is None and i < len(types) and types[i].kind == "Table" for i, a in enumerate(args)):
            # A Blank where a table was expected: the result is Blank, not a table.
            return None
        tables = [i for i, a in enumerate(args) if type(a) is Table]
        length = None
        for i in tables:
            table = args[i]
            assert isinstance(table, Table)
            if len(table.columns) > 1:
                return site.invalid("expected a one-column table.")
            length = len(table.rows) if length is None else max(length, len(table.rows))
        out: list[Value] = []
        held = TableText(frame, site)
        for r in range(length or 0):
            frame.visit()
            row_args: list[Value] = []
            row_error: ErrorValue | None = None  # a row that is itself an error stays one
            for i, a in enumerate(args):
                if i in tables:
                    assert isinstance(a, Table)
                    if r >= len(a.rows):
                        # A shorter table has no value for this row.
                        row_args.append(ErrorValue(ErrorKind.NotApplicable, "The tables have different numbers of rows."))
                        continue
                    row = a.rows[r]
                    if isinstance(row, ErrorValue) and row_error is None:
                        row_error = row
                    row_args.append(row if isinstance(row, ErrorValue) else row_value(a, row))
                else:
                    row_args.append(a)
            if row_error is not None:
                out.append(row_error)
                continue
            err = next((v for v in row_args if isinstance(v, ErrorValue)), None)
            value = err if err is not None else impl(frame, site, row_args)
            too_much = held.add(value)
            if too_much is not None:
                return too_much
            out.append(Record({"Value": value}))
        return Table(out, ("Value",))

    run.tabular = True  # type: ignore[attr-defined]
    run.scalar = impl  # type: ignore[attr-defined]
    return run


_text_arg: Callable[[Value], str | ErrorValue] = to_text  # the argument as text, or its error


def _int_arg(value: Value) -> int | ErrorValue:
    number = to_number(value)
    if isinstance(number, ErrorValue):
        return number
    if math.isnan(number) or math.isinf(number):
        return ErrorValue(ErrorKind.InvalidArgument, "The number is out of range.")
    if abs(number) > 2**53:
        return int(math.copysign(2**53, number))
    return math.floor(number) if number >= 0 else math.ceil(number)


@lazy("Concatenate", 1, None)
def _concatenate(site: CallSite, args: Sequence[Fn]) -> Fn:
    """Concatenate(text1, text2, ...)"""

    table_args = [i for i in range(len(args)) if site.arg_kind(i) == "Table"]

    def run(frame: Frame) -> Value:
        values = [a(frame) for a in args]
        if table_args and any(values[i] is None for i in table_args):
            return None  # a Blank table gives Blank
        table = errors = False
        for v in values:
            kind = type(v)
            if kind is ErrorValue:
                errors = True
            elif kind is Table:
                table = True
        if not (table or errors):
            return _concat_scalars(frame, site, values)
        if errors:
            # A Blank table gives Blank; an error where a table goes is the result; a scalar's
            # error beside a table goes into each row; scalars' errors are all reported.
            decided = table_argument_error(site, values)
            if decided is not None:
                return decided[0]
            if not table:
                return ErrorValue.merge([v for v in values if type(v) is ErrorValue])
        return tabular(_concat_scalars)(frame, site, values)

    return run


def table_argument_error(site: CallSite, values: list[Value]) -> tuple[Value] | None:
    """For a function over one-column tables with an error among its arguments, the result the
    table arguments decide: `(None,)` when one is Blank, `(error,)` when one is an error; None
    when only scalars have errors (those go into each row beside a table)."""
    kinds = [site.arg_kind(i) for i in range(len(values))]
    if any(v is None and k == "Table" for v, k in zip(values, kinds, strict=True)):
        return (None,)
    for v, k in zip(values, kinds, strict=True):
        if type(v) is ErrorValue and k == "Table":
            return (v,)
    return None


def _concat_scalars(frame: Frame, site: CallSite, values: list[Value]) -> Value:
    parts: list[str] = []
    for v in values:
        piece = v if type(v) is str else to_text(v)
        if type(piece) is ErrorValue:
            return piece
        parts.append(piece)  # type: ignore[arg-type]
    too_long = text_room(frame, site, sum(map(len, parts)))
    return too_long if too_long is not None else "".join(parts)


@eager("Len", 1, 1)
@tabular
def _len(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Len(text): its length in UTF-16 units, as Power Fx counts (a character beyond U+FFFF is 2)."""
    value = _text_arg(args[0])
    if isinstance(value, ErrorValue):
        return value
    if value.isascii():
        return float(len(value))
    return float(len(value) + sum(1 for ch in value if ord(ch) > 0xFFFF))


@eager("Left", 2, 2)
@tabular
def _left(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Left(text, count)"""
    value = _text_arg(args[0])
    count = _int_arg(args[1])
    if isinstance(value, ErrorValue):
        return value
    if isinstance(count, ErrorValue):
        return count
    if count < 0:
        return site.invalid("the count must not be negative.")
    return value[:count]


@eager("Right", 2, 2)
@tabular
def _right(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Right(text, count)"""
    value = _text_arg(args[0])
    count = _int_arg(args[1])
    if isinstance(value, ErrorValue):
        return value
    if isinstance(count, ErrorValue):
        return count
    if count < 0:
        return site.invalid("the count must not be negative.")
    return value[len(value) - count :] if count else ""


@eager("Mid", 2, 3)
@tabular
def _mid(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Mid(text, start, [count])"""
    value = _text_arg(args[0])
    start = _int_arg(args[1])
    if isinstance(value, ErrorValue):
        return value
    count: int | ErrorValue = len(value) if len(args) < 3 else _int_arg(args[2])
    errors = [e for e in (start, count) if isinstance(e, ErrorValue)]
    if errors:
        return ErrorValue.merge(errors)
    assert isinstance(start, int) and isinstance(count, int)
    if start < 1:
        return site.invalid("the start must be at least 1.")
    if count < 0:
        return site.invalid("the count must not be negative.")
    return value[start - 1 : start - 1 + count]


# The one character whose simple case mapping differs from the first character of Python's full one.
_SIMPLE_LOWER = {"\u0130": "i"}


def _simple_case(text: str, full: Callable[[str], str]) -> str:
    """Upper/Lower as .NET's TextInfo does: character by character, never changing the length.

    Python applies Unicode's full mappings ('ß' -> 'SS', 'ﬁ' -> 'FI', 'İ' -> 'i̇'); .NET keeps a
    character whose mapping is more than one character ('straße' -> 'STRAßE'), so Len agrees.
    """
    mapped = full(text)
    if len(mapped) == len(text):
        return mapped
    out = []
    for ch in text:
        one = full(ch)
        out.append(one if len(one) == 1 else _SIMPLE_LOWER.get(ch, ch) if full is str.lower else ch)
    return "".join(out)


@eager("Lower", 1, 1)
@tabular
def _lower(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Lower(text)"""
    value = _text_arg(args[0])
    return value if isinstance(value, ErrorValue) else check_text(frame, site, _simple_case(value, str.lower))


@eager("Upper", 1, 1)
@tabular
def _upper(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Upper(text)"""
    value = _text_arg(args[0])
    return value if isinstance(value, ErrorValue) else check_text(frame, site, _simple_case(value, str.upper))


@eager("Proper", 1, 1)
@tabular
def _proper(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Proper(text)"""
    value = _text_arg(args[0])
    if isinstance(value, ErrorValue):
        return value
    out = []
    prev_letter = False
    for ch in value:
        out.append(ch.lower() if prev_letter else ch.upper())
        prev_letter = ch.isalpha()
    return check_text(frame, site, "".join(out))


@eager("Trim", 1, 1)
@tabular
def _trim(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Trim(text): spaces at the ends removed, inner runs of spaces collapsed to one."""
    value = _text_arg(args[0])
    if isinstance(value, ErrorValue):
        return value
    return " ".join(filter(None, value.split(" ")))


@eager("TrimEnds", 1, 1)
@tabular
def _trim_ends(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """TrimEnds(text)"""
    value = _text_arg(args[0])
    return value if isinstance(value, ErrorValue) else value.strip(" ")


@eager("Find", 2, 3)
@tabular
def _find(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Find(find, within, [start]): 1-based position or Blank."""
    needle = _text_arg(args[0])
    hay = _text_arg(args[1])
    if isinstance(needle, ErrorValue):
        return needle
    if isinstance(hay, ErrorValue):
        return hay
    start: int | ErrorValue = 1 if len(args) < 3 else _int_arg(args[2])
    if isinstance(start, ErrorValue):
        return start
    if start < 1 or start > len(hay) + 1:
        return site.invalid("the start position is out of range.")
    index = hay.find(needle, start - 1)
    return None if index < 0 else float(index + 1)


@eager("StartsWith", 2, 2)
@tabular
def _starts_with(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """StartsWith(text, start): case-insensitive."""
    value = _text_arg(args[0])
    prefix = _text_arg(args[1])
    if isinstance(value, ErrorValue):
        return value
    if isinstance(prefix, ErrorValue):
        return prefix
    return value.lower().startswith(prefix.lower())


@eager("EndsWith", 2, 2)
@tabular
def _ends_with(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """EndsWith(text, end): case-insensitive."""
    value = _text_arg(args[0])
    suffix = _text_arg(args[1])
    if isinstance(value, ErrorValue):
        return value
    if isinstance(suffix, ErrorValue):
        return suffix
    return value.lower().endswith(suffix.lower())


@eager("Substitute", 3, 4)
@tabular
def _substitute(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Substitute(text, old, new, [instance])"""
    value = _text_arg(args[0])
    old = _text_arg(args[1])
    new = _text_arg(args[2])
    for v in (value, old, new):
        if isinstance(v, ErrorValue):
            return v
    assert isinstance(value, str) and isinstance(old, str) and isinstance(new, str)
    if old == "":
        return value
    if len(args) < 4:
        grows = len(new) - len(old)
        too_long = text_room(frame, site, len(value) + value.count(old) * grows) if grows > 0 else None
        return too_long if too_long is not None else value.replace(old, new)
    instance = _int_arg(args[3])
    if isinstance(instance, ErrorValue):
        return instance
    if instance < 1:
        return site.invalid("the instance number must be at least 1.")
    index = -1
    for _ in range(instance):
        index = value.find(old, index + 1 if index >= 0 else 0)
        if index < 0:
            return value
        if _ != instance - 1:
            index += len(old) - 1
    too_long = text_room(frame, site, len(value) - len(old) + len(new))
    return too_long if too_long is not None else value[:index] + new + value[index + len(old) :]


@eager("Replace", 4, 4)
@tabular
def _replace(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Replace(text, start, count, new)"""
    value = _text_arg(args[0])
    start = _int_arg(args[1])
    count = _int_arg(args[2])
    new = _text_arg(args[3])
    errors = [v for v in (value, start, count, new) if isinstance(v, ErrorValue)]
    if errors:  # every argument's conversion error
        return ErrorValue.merge(errors)
    assert isinstance(value, str) and isinstance(new, str)
    assert isinstance(start, int) and isinstance(count, int)
    if start < 1 or count < 0:
        return site.invalid("the start must be at least 1 and the count not negative.")
    head = min(start - 1, len(value))
    too_long = text_room(frame, site, head + len(new) + max(0, len(value) - (start - 1 + count)))
    return too_long if too_long is not None else value[: start - 1] + new + value[start - 1 + count :]


@eager("Split", 2, 2)
def _split(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Split(text, separator): a one-column table of the pieces."""
    value = _text_arg(args[0])
    sep = _text_arg(args[1])
    if isinstance(value, ErrorValue):
        return value
    if isinstance(sep, ErrorValue):
        return sep
    if value == "":
        return Table((), ("Value",))
    err = check_rows(frame, site, len(value) if sep == "" else value.count(sep) + 1)  # before splitting
    if err is not None:
        return err
    pieces = list(value) if sep == "" else value.split(sep)
    return Table.of_values(pieces)


@eager("Char", 1, 1)
@tabular
def _char(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Char(code): the character with that code (1 to 255)."""
    code = _int_arg(args[0])
    if isinstance(code, ErrorValue):
        return code
    if code < 1 or code > 255:
        return site.invalid("the character code must be between 1 and 255.")
    return chr(code)


@eager("UniChar", 1, 1)
@tabular
def _unichar(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """UniChar(code)"""
    code = _int_arg(args[0])
    if isinstance(code, ErrorValue):
        return code
    if code < 1 or code > 0x10FFFF:
        return site.invalid("the code point is out of range.")
    if 0xD800 <= code <= 0xDFFF:
        return site.error(ErrorKind.NotApplicable, "a surrogate code point is not a character.")
    return chr(code)


@eager("Rept", 2, 2)
@tabular
def _rept(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Rept(text, count)"""
    value = _text_arg(args[0])
    count = _int_arg(args[1])
    if isinstance(value, ErrorValue):
        return value
    if isinstance(count, ErrorValue):
        return count
    if count < 0:
        return site.invalid("the count must not be negative.")
    too_long = text_room(frame, site, len(value) * count)
    return too_long if too_long is not None else value * count


@eager("EncodeUrl", 1, 1)
@tabular
def _encode_url(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """EncodeUrl(text): percent-encodes everything but unreserved characters."""
    value = _text_arg(args[0])
    if isinstance(value, ErrorValue):
        return value
    encoded = value.encode("utf-8", "surrogatepass")  # each byte outside the safe set becomes %XX
    kept = sum(encoded.count(byte) for byte in _URL_SAFE)
    too_long = text_room(frame, site, kept + 3 * (len(encoded) - kept))
    return too_long if too_long is not None else urllib.parse.quote(value, safe="-_.~")


_URL_SAFE = tuple(bytes([b]) for b in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def _html_entity(ch: str) -> str:
    code = ord(ch)
    if ch in _HTML_NAMED:
        return _HTML_NAMED[ch]
    if 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    if 160 <= code <= 255 or code > 0xFFFF:
        return f"&#{code};"
    return ch


_HTML_NAMED = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}


@eager("EncodeHTML", 1, 1)
def _encode_html(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """EncodeHTML(text): & < > " ' as entities, and characters 160-255 and beyond U+FFFF as &#N;."""
    if args[0] is None:
        return ""
    value = _text_arg(args[0])
    if isinstance(value, ErrorValue):
        return value
    out: list[str] = []
    size = 0
    limit = frame.ctx.limits.max_text_length
    for ch in value:
        piece = _html_entity(ch)
        size += len(piece)
        if size > limit:  # stop building at the limit, not after
            return text_room(frame, site, size) or site.invalid("the text would be too long.")
        out.append(piece)
    return "".join(out)


_FLAGS = re.IGNORECASE
_HTML_STEPS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Whole elements whose content is not text.
    (re.compile(r"<\s*(header)[\s\S]*?>[\s\S]*?<\s*/\s*(header)\s*>", _FLAGS), ""),
    (re.compile(r"<\s*(script)[\s\S]*?>[\s\S]*?<\s*/\s*(script)\s*>", _FLAGS), ""),
    (re.compile(r"<\s*(style)[\s\S]*?>[\s\S]*?<\s*/\s*(style)\s*>", _FLAGS), ""),
    (re.compile(r"<!--[\s\S]*?--\s*>", _FLAGS), ""),
    (re.compile(r"<\s*(td)[\s\S]*?/?>", _FLAGS), ""),
    # Line breaks: one for <br> and <li>, two for <div>, <p> and <tr>.
    (re.compile(r"<\s*(br|li)((\s+[\s\S]*?)|(\s*/\s*))?>", _FLAGS), "\r\n"),
    (re.compile(r"<\s*(div|p|tr)((\s+[\s\S]*?)|(\s*/\s*))?>", _FLAGS), "\r\n\r\n"),
    (re.compile(r"<[^>]*>", _FLAGS), ""),
)


@eager("PlainText", 1, 1)
def _plain_text(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """PlainText(html): the text of an HTML fragment (tags removed, breaks kept, entities decoded)."""
    if args[0] is None:
        return ""
    value = _text_arg(args[0])
    if isinstance(value, ErrorValue):
        return value
    text = value.strip()
    for pattern, replacement in _HTML_STEPS:
        text = pattern.sub(replacement, text)  # grows by a third at most (<p> to two line breaks)
    return check_text(frame, site, html.unescape(text).strip())


def guid_from_text(site: CallSite, value: Value) -> Value:
    """GUID(text): the text, checked to be a GUID (Blank stays Blank)."""
    if value is None or (isinstance(value, UntypedObject) and value.raw is None):
        return None
    text = _text_arg(value)
    if isinstance(text, ErrorValue):
        return text
    # .NET's Guid.Parse forms: 32 digits, or 8-4-4-4-12 optionally in {} or ().
    if _GUID_FORMS.fullmatch(text.strip()) is None:
        return site.invalid(f"{text!r} is not a GUID.")
    return str(uuid.UUID(text.strip().strip("{}()")))


_GUID_D = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_GUID_FORMS = re.compile(rf"[0-9a-fA-F]{{32}}|{_GUID_D}|\{{{_GUID_D}\}}|\({_GUID_D}\)")


@eager("Language", 0, 0)
def _language(frame: Frame, site: CallSite, args: list[Value]) -> Value:
    """Language(): the language formulas run in (postcall evaluates in en-US)."""
    return "en-US"


def _record_of(value: Value) -> Record | None:
    return value if isinstance(value, Record) else None
