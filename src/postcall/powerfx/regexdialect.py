"""Power Fx's regular expression dialect: what it accepts, what Match returns, how it runs here.

Power Fx (V1, as Copilot Studio runs it) accepts the intersection of .NET and ECMAScript regular
expressions, with opinions (docs: learn.microsoft.com/power-platform/power-fx/regular-expressions):
unnamed groups do not capture unless MatchOptions.NumberedSubMatches, numbered and named captures
do not mix, octal and unknown escapes are refused, `^ - [ ] { } ( ) / |` must be escaped in a
character class, and patterns must be constants so the result's fields (the named captures) are
known before the formula runs.  `check_pattern` applies those rules; `translate` turns an accepted
pattern into one for the `regex` package with Power Fx's meaning of `.`, `^` and `$` (every
Unicode newline, \\r\\n as one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Option characters (MatchOptions values are strings of these).
BEGINS, ENDS, IGNORE_CASE, MULTILINE, FREE_SPACING, DOT_ALL = "^", "$", "i", "m", "x", "s"
NUMBERED, CONTAINS, EXPLICIT = "N", "c", "n"

NEWLINES = "\r\n\x0b\x0c\x85\u2028\u2029"
_NEWLINE_CLASS = r"\r\n\x0b\x0c\x85\u2028\u2029"
MAX_CAPTURE_NAME = 62

UNICODE_CATEGORIES = frozenset(
    "L Lu Ll Lt Lm Lo M Mn Mc Me N Nd Nl No P Pc Pd Ps Pe Pi Pf Po S Sm Sc Sk So Z Zs Zl Zp Cc Cf".split()
)

_ESCAPE = r"""
      (?P<badOctal>\\0\d*)
    | \\k<(?P<backRefName>\w+)>
    | \\(?P<backRefNumber>[1-9]\d*)
    | (?P<goodUSurrPair>\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2})
    | (?P<badUSurr>\\u[dD][89a-fA-F][0-9a-fA-F]{2}|\\u\{0{0,2}[dD][89a-fA-F][0-9a-fA-F]{2}\})
    | (?P<goodEscape>\\(?:[dfnrstw]|[\^\$\\\.\*\+\?\(\)\[\]\{\}\|\/]|[\#\ ]|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}))
    | (?P<goodUSmall>\\u\{0{0,4}[0-9a-fA-F]{1,4})\}
    | (?P<goodULarge>\\u\{0{0,2}(?:0?[1-9a-fA-F]|10)[0-9a-fA-F]{4})\}
    | \\(?P<goodUEscape>[pP])\{(?P<UCategory>[\w=:-]+)\}
    | (?P<goodAnchorOutsideCC>\\[bB])
    | (?P<goodEscapeOutsideAndInsideCCIfPositive>\\[DWS])
    | (?P<goodEscapeInsideCCOnly>\\[&\-!\#%,;:<=>@`~\^])
    | (?P<badEscape>\\.)
"""
_ELSE = r"""
    | (?P<else>.)
"""
_GENERAL = re.compile(
    _ESCAPE
    + r"""
    | \(\?<(?P<goodNamedCapture>[^\W\d]\w*)>
    | (?P<goodLookAhead>\(\?[=!])
    | (?P<goodLookBehind>\(\?<[=!])
    | (?P<badBalancing>\(\?<\w*-\w*>)
    | (?P<badNamedCaptureName>\(\?<[^>]*>)
    | (?P<badSingleQuoteNamedCapture>\(\?'[^']*')
    | (?P<goodNonCapture>\(\?:)
    | ^\(\?(?P<goodInlineOptions>[imnsx]+)\)
    | (?P<goodInlineComment>\(\?\#)
    | (?P<badInlineOptions>\(\?(?:\w+|\w*-\w+)[:\)])
    | (?P<badConditional>\(\?\()
    | (?P<badParen>\([\?\+\*].?)
    | (?P<badQuantifiers>[\*\+\?][\+\*])
    | (?P<goodOneOrMore>\+\??)
    | (?P<goodZeroOrMore>\*\??)
    | (?P<goodZeroOrOne>\?\??)
    | (?P<badExact>\{\d+\}[\+\*\?])
    | \{(?P<goodExact>\d+)\}
    | (?P<badLimited>\{\d+,\d+\}[\+\*])
    | \{(?P<goodLimitedL>\d+),(?P<goodLimitedH>\d+)\}\??
    | (?P<badUnlimited>\{\d+,\}[\+\*])
    | \{(?P<goodUnlimited>\d+),\}\??
    | (?P<badCurly>[{}])
    | (?P<badEmptyCharacterClass>\[\]|\[\^\])
    | \[(?P<characterClass>(?:\\\]|\\\[|[^\]\[])+)\]
    | (?P<badSquareBrackets>[\[\]])
    | (?P<openParen>\()
    | (?P<closeParen>\))
    | (?P<alternation>\|)
    | (?P<anchors>[\^\$])
    | (?P<poundComment>\#)
    | (?P<newline>[\r\n\x0b\x0c\x85\u2028\u2029])
"""
    + _ELSE,
    re.VERBOSE | re.DOTALL,
)
_CLASS = re.compile(
    _ESCAPE
    + r"""
    | (?P<badHyphen>^-|-$)
    | (?P<badInCharClass>/|\||\\|\{|\}|\(|\)|\[|\]|\^)
    | (?P<badDoubleInCharClass><<|==|>>|::|@@|``|~~|%%|&&|;;|,,|!!|\|\||\#\#|\$\$|\*\*|\+\+|\.\.|\?\?|\^\^|--)
    | (?P<goodHyphen>-)
"""
    + _ELSE,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class PatternInfo:
    """An accepted pattern: its named captures and whether unnamed groups capture."""

    names: tuple[str, ...]
    numbered: bool
    free_spacing: bool
    blank_submatches: bool = False  # before Power Fx V1 without NumberedSubMatches: SubMatches is Blank


_LEGACY_NAME = re.compile(r"\(\?(?:<([A-Za-z_]\w*)>|'([A-Za-z_]\w*)')")


def legacy_pattern_info(pattern: str, options: str) -> PatternInfo:
    """Before the V1 rules a pattern is not checked against Power Fx's dialect: it is .NET's
    own, unnamed groups capture and `SubMatches` is always a field (Match.cs), Blank unless
    MatchOptions.NumberedSubMatches was given (the C# interpreter's)."""
    names = tuple(dict.fromkeys(a or b for a, b in _LEGACY_NAME.findall(pattern)))
    return PatternInfo(names, True, False, blank_submatches=NUMBERED not in options)


class PatternError(ValueError):
    """Power Fx does not accept the pattern; the message says why (for the formula's author)."""


def _class_char(token: re.Match[str]) -> int:
    """The code of a single character in a class, or -1 for a class escape (\\d, \\w...)."""
    if token.group("else") is not None:
        return ord(token.group(0)[0])
    text = token.group(0)
    kind = text[1]
    if kind in "dsw":
        return -1
    simple = {"r": 13, "n": 10, "t": 9, "f": 12}
    if kind in simple:
        return simple[kind]
    if token.group("goodUSmall") is not None:
        return int(token.group("goodUSmall")[3:], 16)
    if kind in "xu":
        return int(text[2:], 16)
    return ord(kind)


def _check_class(body: str, negative: bool) -> None:
    hyphen_wait = 0
    hyphen_start = 0
    for token in _CLASS.finditer(body):
        text = token.group(0)
        if token.group("else") is not None and ord(text[0]) > 0xFFFF:
            raise PatternError(
                "Characters beyond U+FFFF (surrogate pairs) are not supported in character classes, "
                f"found {text!r}."
            )
        if any(token.group(g) is not None for g in ("else", "goodEscape", "goodUSmall", "goodEscapeInsideCCOnly")):
            code = _class_char(token)
            if hyphen_wait > 1 and code == -1:
                raise PatternError(f"Character class escapes cannot be a range end, found at {text!r}.")
            if hyphen_wait > 1 and hyphen_start != -1 and code != -1 and code < hyphen_start:
                raise PatternError(f"Character class range is reversed, found at {text!r}.")
            hyphen_start = code
            hyphen_wait -= 1
        elif token.group("goodEscapeOutsideAndInsideCCIfPositive") is not None:
            if hyphen_wait > 1:
                raise PatternError(f"Character class escapes cannot be a range end, found at {text!r}.")
            if negative:
                raise PatternError(f"Escape {text!r} is not allowed in a negative character class.")
            hyphen_start = -1
            hyphen_wait -= 1
        elif token.group("goodUEscape") is not None:
            if hyphen_wait > 1:
                raise PatternError(f"Character class escapes cannot be a range end, found at {text!r}.")
            if token.group("goodUEscape") == "P" and negative:
                raise PatternError(f"Escape {text!r} is not allowed in a negative character class.")
            if token.group("UCategory") not in UNICODE_CATEGORIES:
                raise PatternError(f"Unknown Unicode category in {text!r}.")
            hyphen_start = -1
            hyphen_wait -= 1
        elif token.group("goodHyphen") is not None:
            if hyphen_start == -1:
                raise PatternError("A character class escape cannot start a range.")
            if hyphen_wait > 0:
                raise PatternError("A literal hyphen in a character class must be escaped.")
            hyphen_wait = 2
        elif token.group("badHyphen") is not None:
            raise PatternError("A literal hyphen in a character class must be escaped.")
        elif token.group("badEscape") is not None:
            raise PatternError(f"Invalid escape code {text!r}.")
        elif any(token.group(g) is not None for g in ("goodUSurrPair", "goodULarge")):
            raise PatternError("Surrogate pairs are not allowed in a character class.")
        elif token.group("badUSurr") is not None:
            raise PatternError(f"Malformed surrogate pair {text!r}.")
        elif any(token.group(g) is not None for g in ("goodAnchorOutsideCC", "backRefName", "backRefNumber")):
            raise PatternError(f"Escape {text!r} is not allowed in a character class.")
        elif token.group("badOctal") is not None:
            raise PatternError(f"Octal escapes are not supported, use \\x or \\u instead: {text!r}.")
        elif token.group("badInCharClass") is not None:
            raise PatternError(f"Literal {text!r} must be escaped in a character class.")
        elif token.group("badDoubleInCharClass") is not None:
            raise PatternError(f"Repeated {text!r} is reserved in a character class.")


MAX_GROUP_DEPTH = 64  # two stack entries per nesting level
MAX_LOOKBEHIND_CHARS = 250
_AMBIGUOUS = (
    "Quantifier on a group containing another quantifier or empty alternation that could result "
    "in an ambiguous result"
)


class _Group:
    """A group (or one alternative inside a group) with what is known of its size and captures.

    Engines disagree on what a capture holds when its group can match empty and is repeated,
    or when a back reference names a capture that may not have happened: Power Fx refuses those
    patterns, and these sizes are how it knows."""

    __slots__ = ("non_capture", "lookaround", "is_group", "closed", "error_on_quant", "lookbehind_quant",
                 "zero_quant", "alternation", "contains_capture", "max_size", "min_size", "parent")

    def __init__(self, parent: _Group | None = None, *, is_group: bool = False, non_capture: bool = True,
                 lookaround: bool = False, min_size: int = 0, max_size: int = 0) -> None:
        self.non_capture = non_capture
        self.lookaround = lookaround
        self.is_group = is_group
        self.closed = False
        self.error_on_quant = False
        self.lookbehind_quant = False
        self.zero_quant = False
        self.alternation = False
        self.contains_capture = False
        self.max_size = max_size
        self.min_size = min_size
        self.parent = parent

    def add_atom(self, low: int, high: int) -> _Group:
        self.min_size += low
        self.max_size = -1 if self.max_size == -1 or high == -1 else self.max_size + high
        return _Group(min_size=low, max_size=high)

    def quantify(self, last: _Group, low: int, high: int) -> None:
        if last.is_group:
            if last.lookbehind_quant:
                raise PatternError("Quantifiers are not allowed on look arounds.")
            if last.error_on_quant:
                raise PatternError(_AMBIGUOUS + ".")
            last.zero_quant = low == 0
            if (low == 0 or last.min_size == 0 or last.contains_capture) and (
                not last.non_capture or last.contains_capture
            ):
                self.error_on_quant = True
        if self.max_size != -1 and high != -1 and last.max_size != -1:
            self.max_size += last.max_size * (high - 1)
        else:
            self.max_size = -1
        self.min_size += last.min_size * (low - 1)

    def close_alternative(self) -> None:
        parent = self.parent
        assert parent is not None
        if parent.alternation:
            parent.max_size = -1 if parent.max_size == -1 or self.max_size == -1 else max(parent.max_size, self.max_size)
            parent.min_size = min(parent.min_size, self.min_size)
        else:
            parent.max_size = self.max_size
            parent.min_size = self.min_size
        self.seen_end()
        parent.error_on_quant |= self.error_on_quant
        parent.lookbehind_quant |= self.lookbehind_quant
        parent.contains_capture |= self.contains_capture

    def seen_end(self) -> None:
        if self.min_size == 0:
            self.error_on_quant = True
        if self.alternation:
            self.error_on_quant = self.error_on_quant or self.contains_capture

    def close(self) -> None:
        self.seen_end()
        self.closed = True
        parent = self.parent
        assert parent is not None
        parent.error_on_quant |= self.error_on_quant
        parent.lookbehind_quant |= self.lookbehind_quant
        if not self.non_capture:
            parent.contains_capture = True
        if not self.lookaround:
            parent.max_size = -1 if parent.max_size == -1 or self.max_size == -1 else parent.max_size + self.max_size
            parent.min_size += self.min_size

    def blocked_backref(self, stop: _Group | None = None) -> bool:
        if self.zero_quant or self.min_size == 0:
            return True
        ptr = self.parent
        while ptr is not None and ptr is not stop:
            if ptr.zero_quant or ptr.alternation or ptr.min_size == 0 or ptr.lookaround:
                return True
            ptr = ptr.parent
        return stop is not None and stop is not ptr


class _Tracker:
    """The stack of open groups while scanning a pattern."""

    def __init__(self) -> None:
        self.stack: list[_Group] = []
        self.target: _Group | None = None
        self.lookbehind: _Group | None = None
        self.captures: dict[str, _Group] = {}
        self.backrefs: list[str] = []
        self.open()

    def open(self, name: str | None = None, *, lookbehind: bool = False, lookahead: bool = False) -> None:
        if len(self.stack) >= MAX_GROUP_DEPTH:
            raise PatternError("Groups are nested too deeply.")
        if self.lookbehind is not None and lookbehind:
            raise PatternError("Look behinds cannot be nested.")
        group = _Group(self.stack[-1] if self.stack else None, is_group=True, non_capture=name is None,
                       lookaround=lookbehind or lookahead)
        if name is not None:
            if self.lookbehind is not None:
                raise PatternError("Captures are not allowed in a look behind.")
            if name in self.captures:
                raise PatternError(f"The capture name {name!r} is used twice.")
            self.captures[name] = group
        if lookbehind:
            self.lookbehind = group
        self.stack.append(group)
        self.stack.append(_Group(group))
        self.target = None

    def alternation(self) -> None:
        self.target = None
        closed = self.stack.pop()
        closed.close_alternative()
        assert closed.parent is not None
        self.stack.append(_Group(closed.parent))
        closed.parent.alternation = True

    def atom(self, low: int = 1, high: int = 1) -> None:
        self.target = self.stack[-1].add_atom(low, high)

    def quantifier(self, low: int, high: int) -> None:
        if self.lookbehind is not None and high == -1:
            raise PatternError("Unlimited quantifiers are not allowed in a look behind.")
        if self.target is None:
            raise PatternError("Quantifier without something to repeat.")
        if high != -1 and high < low:
            raise PatternError("Quantifier range is reversed.")
        self.stack[-1].quantify(self.target, low, high)
        self.target = None

    def close(self) -> None:
        if len(self.stack) <= 2:
            raise PatternError("Unopened group, too many closing parentheses.")
        self.stack.pop().close_alternative()
        group = self.stack.pop()
        self.target = group
        if self.lookbehind is group:
            if group.max_size == -1 or group.max_size > MAX_LOOKBEHIND_CHARS:
                raise PatternError("A look behind may match too many characters.")
            self.lookbehind = None
        if group.lookaround:
            group.lookbehind_quant = True
        group.close()

    def backref(self, name: str) -> None:
        group = self.captures.get(name)
        if group is None:
            raise PatternError(f"Back reference to {name!r}, which is not defined.")
        if not group.closed:
            raise PatternError(f"Back reference to {name!r} inside that capture.")
        if self.lookbehind is not None and group.max_size == -1:
            raise PatternError("Unlimited back references are not allowed in a look behind.")
        self.atom(group.min_size, group.max_size)
        if name not in self.backrefs and group.blocked_backref(self.stack[-1]):
            self.backrefs.append(name)

    def complete(self) -> None:
        self.stack.pop().close_alternative()
        self.stack.pop().seen_end()
        if self.stack:
            raise PatternError("Unclosed groups, too few closing parentheses.")
        for name in self.backrefs:
            if self.captures[name].blocked_backref():
                shown = "\\" + name if name[0].isdigit() else f"\\k<{name}>"
                raise PatternError(
                    f"Back reference {shown} to sub match that may not happen due to alternation or zero quantifier."
                )


_BAD_MESSAGES = {
    "badNamedCaptureName": "Invalid capture name",
    "badOctal": "Octal escapes are not supported, use \\x or \\u instead",
    "badBalancing": "Balancing groups are not supported",
    "badSingleQuoteNamedCapture": "Single quoted capture names are not supported, use (?<name>...)",
    "badConditional": "Conditional alternation is not supported",
    "badEscape": "Invalid escape code",
    "goodEscapeInsideCCOnly": "This escape is only allowed inside a character class",
    "badQuantifiers": "Possessive and repeated quantifiers are not supported",
    "badLimited": "Possessive and repeated quantifiers are not supported",
    "badUnlimited": "Possessive and repeated quantifiers are not supported",
    "badExact": "An exact quantifier cannot be lazy or possessive",
    "badCurly": "Literal curly braces must be escaped",
    "badParen": "Unsupported special group",
    "badSquareBrackets": "Literal square brackets must be escaped",
    "badEmptyCharacterClass": "Empty character classes are not supported",
    "badUSurr": "Malformed surrogate pair",
}


_INT_MAX = 2**31 - 1


def _count(text: str | None) -> int:
    value = int(text or "0")
    if value > _INT_MAX:
        raise PatternError("A quantifier's number is too large.")
    return value


def _quantifier_bounds(token: re.Match[str]) -> tuple[int, int] | None:
    kind = token.lastgroup
    if kind == "goodZeroOrMore":
        return 0, -1
    if kind == "goodZeroOrOne":
        return 0, 1
    if kind == "goodOneOrMore":
        return 1, -1
    if kind == "goodExact":
        exact = _count(token.group("goodExact"))
        return exact, exact
    if kind == "goodLimitedH":
        return _count(token.group("goodLimitedL")), _count(token.group("goodLimitedH"))
    if kind == "goodUnlimited":
        return _count(token.group("goodUnlimited")), -1
    return None


def check_pattern(pattern: str, options: str) -> PatternInfo:
    """The pattern's named captures, or PatternError when Power Fx does not accept it."""
    free_spacing = FREE_SPACING in options
    numbered = NUMBERED in options
    names: list[str] = []
    captures = 0
    tracker = _Tracker()
    pound_comment = False
    inline_comment = False
    for token in _GENERAL.finditer(pattern):
        kind = token.lastgroup
        text = token.group(0)
        if pound_comment:
            if kind == "newline":
                pound_comment = False
            continue
        if inline_comment:
            if kind == "closeParen" or text == "\\)":
                inline_comment = False
            continue
        bounds = _quantifier_bounds(token)
        if bounds is not None:
            try:
                tracker.quantifier(*bounds)
            except PatternError as exc:
                raise PatternError(f"{exc} Found at the end of {pattern[max(0, token.end() - 12):token.end()]!r}.") from None
            continue
        if kind in ("anchors", "goodAnchorOutsideCC"):
            continue
        if kind == "else":
            if text == "\\":
                raise PatternError("The pattern ends with a lone backslash.")
            tracker.atom()
            continue
        if kind in ("newline", "goodEscape", "goodUSmall", "goodEscapeOutsideAndInsideCCIfPositive"):
            tracker.atom()
            continue
        if kind in ("goodUSurrPair", "goodULarge"):
            tracker.atom(2, 2)
            continue
        if kind == "characterClass":
            body = token.group("characterClass")
            negative = body.startswith("^")
            _check_class(body[1:] if negative else body, negative)
            tracker.atom()
            continue
        if kind == "goodNamedCapture":
            name = token.group("goodNamedCapture")
            if numbered:
                raise PatternError("Named captures cannot be used with MatchOptions.NumberedSubMatches.")
            if len(name) > MAX_CAPTURE_NAME:
                raise PatternError(f"The capture name {name!r} is too long.")
            tracker.open(name)
            names.append(name)
            continue
        if kind == "goodNonCapture":
            tracker.open()
            continue
        if kind == "goodLookBehind":
            tracker.open(lookbehind=True)
            continue
        if kind == "goodLookAhead":
            tracker.open(lookahead=True)
            continue
        if kind == "openParen":
            if numbered:
                captures += 1
                tracker.open(str(captures))
            else:
                tracker.open()
            continue
        if kind == "closeParen":
            tracker.close()
            continue
        if kind == "alternation":
            tracker.alternation()
            continue
        if kind in ("backRefName", "backRefNumber"):
            if kind == "backRefName":
                if numbered:
                    raise PatternError("Named back references cannot be used with MatchOptions.NumberedSubMatches.")
                ref = token.group("backRefName")
            else:
                if not numbered:
                    raise PatternError(f"Numbered back reference {text!r} needs MatchOptions.NumberedSubMatches.")
                ref = token.group("backRefNumber")
            tracker.backref(ref)
            continue
        if kind == "UCategory":
            if token.group("UCategory") not in UNICODE_CATEGORIES:
                raise PatternError(f"Unknown Unicode category in {text!r}.")
            tracker.atom()
            continue
        if kind == "goodInlineOptions":
            inline = token.group("goodInlineOptions")
            if len(set(inline)) != len(inline):
                raise PatternError("Repeated inline option.")
            if EXPLICIT in inline and numbered:
                raise PatternError("Inline option n conflicts with MatchOptions.NumberedSubMatches.")
            if FREE_SPACING in inline:
                free_spacing = True
            continue
        if kind == "goodInlineComment":
            inline_comment = True
            continue
        if kind == "poundComment":
            if free_spacing:
                pound_comment = True
            else:
                tracker.atom()
            continue
        if kind == "badInlineOptions":
            where = "must be at the start of the pattern" if token.start() > 0 else "are not supported"
            raise PatternError(f"Inline options {where}: {text!r}.")
        message = _BAD_MESSAGES.get(kind or "", "Invalid regular expression")
        raise PatternError(f"{message}, found at {text!r}.")
    tracker.complete()
    if inline_comment:
        raise PatternError("Unclosed inline comment.")
    return PatternInfo(tuple(names), numbered, free_spacing)


# ---------------------------------------------------------------------------------------
# Translation to the `regex` package.

_INLINE = re.compile(r"\A\(\?([imnsx]+)\)")
_BACKREF_NUMBER = re.compile(r"\\([1-9]\d*)")
_CATEGORY = re.compile(r"\\p\{[A-Za-z]+\}")
_U_CURLY = re.compile(r"\\u\{0*([0-9a-fA-F]{1,6})\}")
_U_PAIR = re.compile(r"\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})")


def _start(multiline: bool) -> str:
    if multiline:
        return r"(?:(?<=\A|\r\n|[\n\x0b\x0c\x85\u2028\u2029])|(?<=\r)(?!\n))"
    return r"\A"


def _end(multiline: bool) -> str:
    if multiline:
        return r"(?:(?=\r\n|[\r\x0b\x0c\x85\u2028\u2029]|\Z)|(?<!\r)(?=\n))"
    return r"(?:(?=\r\n\Z|[\r\x0b\x0c\x85\u2028\u2029]?\Z)|(?<!\r)(?=\n\Z))"


def _code_escape(code: int) -> str:
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


# Case-insensitive matching: .NET (Power Fx) takes two characters as equal when their lowercase
# forms are; the `regex` package when their case foldings are.  These characters fold to another
# letter but lowercase to themselves (ſ folds to s, ς to σ, µ to μ...), so in Power Fx they
# match only themselves: guarded out of the letters they share a folding with.
_OWN_CASE = "\u00b5\u017f\u0345\u03c2\u03d0\u03d1\u03d5\u03d6\u03f0\u03f1\u03f5" + "".join(
    chr(c) for c in range(0x1C80, 0x1C89)) + "\u1e9b\u1fbe"
_OWN_CASE_GUARD = "(?-i:(?![" + _OWN_CASE + "]))"  # compared exactly, not ignoring case
_SHARES_FOLDING = frozenset(
    variant for ch in _OWN_CASE for variant in (ch.casefold(), ch.casefold().upper(), ch.casefold().lower())
) - frozenset(_OWN_CASE)


def translate(pattern: str, options: str) -> tuple[str, str]:
    """(pattern for the `regex` package, effective options) with Power Fx's meaning."""
    inline = _INLINE.match(pattern)
    index = 0
    if inline is not None:
        options += inline.group(1)
        index = inline.end()
    free = FREE_SPACING in options
    multiline = MULTILINE in options
    dot_all = DOT_ALL in options
    numbered = NUMBERED in options
    ignore_case = IGNORE_CASE in options
    class_start = 0

    def curly(match: re.Match[str]) -> str:
        code = int(match.group(1), 16)
        return _code_escape(code) if code <= 0x10FFFF else match.group(0)

    def pair(match: re.Match[str]) -> str:
        high, low = int(match.group(1), 16), int(match.group(2), 16)
        return _code_escape(0x10000 + (high - 0xD800) * 0x400 + (low - 0xDC00))

    out: list[str] = []
    in_class = False
    n = len(pattern)
    while index < n:
        ch = pattern[index]
        if free and not in_class and ch.isspace():
            index += 1
            continue
        if ch == "[" and not in_class:
            in_class = True
            class_start = len(out)
            out.append(ch)
        elif ch == "]" and in_class:
            in_class = False
            out.append(ch)
            body = "".join(out[class_start:])
            if ignore_case and not body.startswith("[^") and not any(c in body for c in _OWN_CASE):
                out.insert(class_start, "(?:" + _OWN_CASE_GUARD)
                out.append(")")
        elif ch == "#" and free and not in_class:
            while index < n and pattern[index] not in NEWLINES:
                index += 1
        elif ch == "(" and not in_class and pattern.startswith("(?#", index):
            close = pattern.find(")", index)
            index = n if close < 0 else close
        elif ch == "(" and not in_class and not numbered and not pattern.startswith("(?", index):
            out.append("(?:")
        elif ch == "\\":
            pair_match = _U_PAIR.match(pattern, index)
            curly_match = _U_CURLY.match(pattern, index)
            if pair_match is not None:
                out.append(pair(pair_match))
                index = pair_match.end() - 1
            elif curly_match is not None:
                out.append(curly(curly_match))
                index = curly_match.end() - 1
            elif (number := _BACKREF_NUMBER.match(pattern, index)) is not None and numbered and not in_class:
                # \g<N>: the digits that follow (after a comment or free spacing) stay literal.
                out.append(f"\\g<{number.group(1)}>")
                index = number.end() - 1
            elif not in_class and (category := _CATEGORY.match(pattern, index)) is not None:
                # .NET matches a category one UTF-16 unit at a time: a character beyond U+FFFF
                # (two surrogates) is in no category but Cs.
                out.append(f"(?:(?![\\U00010000-\\U0010ffff]){category.group(0)})")
                index = category.end() - 1
            elif pattern.startswith("\\k<", index) and not in_class and ">" in pattern[index:]:
                close = pattern.index(">", index)
                out.append(f"(?P={pattern[index + 3 : close]})")
                index = close
            elif index + 1 < n and pattern[index + 1] in "# ":
                out.append("\\" + pattern[index + 1])
                index += 1
            else:
                out.append(pattern[index : index + 2])
                index += 1
        elif ch == "." and not in_class:
            out.append(r"(?s:.)" if dot_all else f"[^{_NEWLINE_CLASS}]")
        elif ch == "^" and not in_class:
            out.append(_start(multiline))
        elif ch == "$" and not in_class:
            out.append(_end(multiline))
        elif ignore_case and not in_class and ch in _SHARES_FOLDING:
            out.append(f"(?:{_OWN_CASE_GUARD}{ch})")
        else:
            out.append(ch)
        index += 1
    body = "".join(out)
    if BEGINS in options:
        body = _start(multiline) + body
    if ENDS in options:
        body = body + _end(multiline)
    return body, options


def utf16_index(text: str, index: int) -> int:
    """The UTF-16 offset of a code-point offset (Power Fx positions count UTF-16 units)."""
    if text.isascii():
        return index
    return index + sum(1 for ch in text[:index] if ord(ch) > 0xFFFF)
