"""Power Fx grammar (lark, LALR) and the tree builder: text in, syntax tree and diagnostics out.

The tokenizer (lexer.py) feeds lark's interactive LALR parser token by token, so a syntax error
does not stop the parse: the offending token is reported and skipped, and parsing goes on to
find further errors.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedToken
from lark.lexer import Lexer

from postcall.diagnostics import Diagnostic, Severity, TextOrigin
from postcall.powerfx import ast
from postcall.powerfx.codes import (
    PFX_SYNTAX,
    PFX_TOO_DEEP,
    PFX_UNEXPECTED_END,
    PFX_UNEXPECTED_TOKEN,
)
from postcall.powerfx.lexer import Tokenizer

GRAMMAR = r"""
?start: START_RULE

?expr: or_expr

?or_expr: and_expr
    | or_expr (OROR | OR) and_expr            -> binary

?and_expr: in_expr
    | and_expr (ANDAND | AND) in_expr         -> binary

?in_expr: cmp_expr
    | in_expr (IN | EXACTIN) cmp_expr         -> binary

?cmp_expr: concat_expr
    | cmp_expr (EQ | NE | LT | LE | GT | GE) concat_expr  -> binary

?concat_expr: add_expr
    | concat_expr AMP add_expr                -> binary

?add_expr: mul_expr
    | add_expr (PLUS | MINUS) mul_expr        -> binary

?mul_expr: power_expr
    | mul_expr (STAR | SLASH) power_expr      -> binary

?power_expr: unary_expr
    | power_expr CARET unary_expr             -> binary

?unary_expr: postfix_expr
    | (MINUS | PLUS | BANG | NOT) unary_expr  -> unary

?postfix_expr: primary
    | postfix_expr PERCENT                    -> percent
    | postfix_expr DOT field_name             -> member

?primary: NUMBER                              -> number
    | STRING                                  -> text
    | TRUE                                    -> true
    | FALSE                                   -> false
    | NAME                                    -> name
    | QNAME                                   -> qname
    | NAME LPAR [arglist] RPAR                -> call
    | LPAR expr RPAR                          -> paren
    | LBRACE [field (COMMA field)*] RBRACE    -> record
    | LSQB [expr (COMMA expr)*] RSQB          -> table
    | ISTR_START istr_part* ISTR_END          -> interp

istr_part: ISTR_TEXT                          -> istr_text
    | HOLE_START expr HOLE_END                -> istr_hole

arglist: arg (COMMA arg)*
?arg: ARG_RULE
    | expr AS field_name                      -> as_arg

field: field_name COLON expr
field_name: NAME | QNAME | TRUE | FALSE | AND | OR | NOT | IN | EXACTIN | AS

%declare NUMBER STRING TRUE FALSE NAME QNAME EQ NE LT LE GT GE AMP PLUS MINUS STAR SLASH CARET
%declare PERCENT BANG NOT DOT COMMA SEMI LPAR RPAR LBRACE RBRACE LSQB RSQB COLON AT
%declare ANDAND OROR AND OR IN EXACTIN AS ISTR_START ISTR_TEXT ISTR_END HOLE_START HOLE_END
"""

_TERMINAL_TEXT = {
    "NUMBER": "a number",
    "STRING": "a text literal",
    "NAME": "a name",
    "QNAME": "a quoted name",
    "RPAR": "')'",
    "LPAR": "'('",
    "RBRACE": "'}'",
    "RSQB": "']'",
    "COMMA": "','",
    "COLON": "':'",
    "ISTR_END": "'\"'",
    "HOLE_END": "'}'",
    "$END": "the end of the formula",
}


class _NoLexer(Lexer):
    """Placeholder: tokens are fed to the interactive parser by hand."""

    def __init__(self, lexer_conf: Any) -> None:
        pass

    def lex(self, lexer_state: Any, parser_state: Any) -> Iterator[Token]:
        return iter(())


def _lark(chaining: bool) -> Lark:
    grammar = GRAMMAR.replace("START_RULE", "chain" if chaining else "expr")
    grammar = grammar.replace("ARG_RULE", "chain" if chaining else "expr")
    if chaining:
        # EnableExpressionChaining: `a; b` at the top and in function arguments (not in
        # parentheses, records or tables); a trailing `;` is allowed.
        grammar += "\n?chain: expr\n    | expr (SEMI expr)+ SEMI?                -> chain\n    | expr SEMI -> chain\n"
    return Lark(grammar, parser="lalr", lexer=_NoLexer, propagate_positions=True, maybe_placeholders=True)


_PARSER = _lark(chaining=False)
_CHAIN_PARSER = _lark(chaining=True)


class _Build:
    """Turns lark's parse tree into syntax nodes, bottom-up and without recursion (deep
    formulas must not exhaust Python's stack)."""

    def __init__(self, text: str, origin: TextOrigin) -> None:
        self._src = text
        self._origin = origin

    def transform(self, tree: Tree[Token]) -> Any:
        results: dict[int, Any] = {}
        stack: list[tuple[Tree[Token], bool]] = [(tree, False)]
        while stack:
            node, expanded = stack.pop()
            if not expanded:
                stack.append((node, True))
                stack.extend((c, False) for c in reversed(node.children) if isinstance(c, Tree))
                continue
            children = [results.pop(id(c)) if isinstance(c, Tree) else c for c in node.children]
            method = getattr(self, "rule_" + str(node.data))
            results[id(node)] = method(node.meta, children)
        return results[id(tree)]

    def _span(self, meta: Any) -> tuple[Any, int, int]:
        start = getattr(meta, "start_pos", 0) or 0
        end = getattr(meta, "end_pos", start) or start
        return self._origin.span(self._src, start, end), start, end

    def _tok_span(self, tok: Token) -> tuple[Any, int, int]:
        start = tok.start_pos or 0
        end = tok.end_pos or start
        return self._origin.span(self._src, start, end), start, end

    def rule_number(self, meta: Any, children: list[Token]) -> ast.Node:
        tok = children[0]
        try:
            value = float(tok.value)
        except ValueError:
            value = math.nan
        return ast.NumberLit(*self._tok_span(tok), value=value, text=str(tok.value))

    def rule_text(self, meta: Any, children: list[Token]) -> ast.Node:
        return ast.TextLit(*self._tok_span(children[0]), value=str(children[0].value))

    def rule_true(self, meta: Any, children: list[Token]) -> ast.Node:
        return ast.BoolLit(*self._tok_span(children[0]), value=True)

    def rule_false(self, meta: Any, children: list[Token]) -> ast.Node:
        return ast.BoolLit(*self._tok_span(children[0]), value=False)

    def rule_name(self, meta: Any, children: list[Token]) -> ast.Node:
        return ast.Name(*self._tok_span(children[0]), name=str(children[0].value))

    def rule_qname(self, meta: Any, children: list[Token]) -> ast.Node:
        return ast.Name(*self._tok_span(children[0]), name=str(children[0].value), quoted=True)

    def rule_call(self, meta: Any, children: list[Any]) -> ast.Node:
        name_tok: Token = children[0]
        args = children[2] if children[2] is not None else ()
        _, ns, ne = self._tok_span(name_tok)
        return ast.Call(
            *self._span(meta), name=str(name_tok.value), args=tuple(args), name_start=ns, name_end=ne
        )

    def rule_arglist(self, meta: Any, children: list[Any]) -> tuple[ast.Node, ...]:
        return tuple(c for c in children if isinstance(c, ast.Node))

    def rule_as_arg(self, meta: Any, children: list[Any]) -> ast.Node:
        return ast.AsArg(*self._span(meta), expr=children[0], alias=children[2])

    def rule_field_name(self, meta: Any, children: list[Token]) -> str:
        return str(children[0].value)

    def rule_field(self, meta: Any, children: list[Any]) -> tuple[str, ast.Node]:
        return (children[0], children[2])

    def rule_paren(self, meta: Any, children: list[Any]) -> ast.Node:
        node: ast.Node = children[1]
        return node

    def rule_record(self, meta: Any, children: list[Any]) -> ast.Node:
        fields = tuple(c for c in children if isinstance(c, tuple))
        return ast.RecordLit(*self._span(meta), fields=fields)

    def rule_table(self, meta: Any, children: list[Any]) -> ast.Node:
        items = tuple(c for c in children if isinstance(c, ast.Node))
        return ast.TableLit(*self._span(meta), items=items)

    def rule_istr_text(self, meta: Any, children: list[Token]) -> str:
        return str(children[0].value)

    def rule_istr_hole(self, meta: Any, children: list[Any]) -> ast.Node:
        node: ast.Node = children[1]
        return node

    def rule_interp(self, meta: Any, children: list[Any]) -> ast.Node:
        parts = tuple(
            c for c in children if isinstance(c, ast.Node) or (isinstance(c, str) and not isinstance(c, Token))
        )
        return ast.Interpolation(*self._span(meta), parts=parts)

    def rule_binary(self, meta: Any, children: list[Any]) -> ast.Node:
        left, op, right = children
        spelling = {"And": "&&", "Or": "||"}.get(str(op.value), str(op.value))
        return ast.Binary(*self._span(meta), op=spelling, left=left, right=right)

    def rule_unary(self, meta: Any, children: list[Any]) -> ast.Node:
        op, operand = children
        spelling = "!" if op.type in ("BANG", "NOT") else str(op.value)
        if spelling == "-" and isinstance(operand, ast.NumberLit):
            return ast.NumberLit(*self._span(meta), value=-operand.value, text="-" + operand.text)
        return ast.Unary(*self._span(meta), op=spelling, operand=operand)

    def rule_percent(self, meta: Any, children: list[Any]) -> ast.Node:
        return ast.Unary(*self._span(meta), op="%", operand=children[0])

    def rule_chain(self, meta: Any, children: list[Any]) -> ast.Node:
        items = tuple(c for c in children if isinstance(c, ast.Node))
        return ast.Chain(*self._span(meta), items=items)

    def rule_member(self, meta: Any, children: list[Any]) -> ast.Node:
        return ast.Member(*self._span(meta), obj=children[0], field_name=children[2])


def _describe(tok: Token) -> str:
    if tok.type == "$END":
        return "the end of the formula"
    if tok.type == "STRING":
        return f'"{tok.value}"'
    return f"'{tok.value}'"


_OPERAND_STARTS = {"NUMBER", "STRING", "TRUE", "FALSE", "LPAR", "LBRACE", "LSQB", "ISTR_START", "BANG"}
_OPERATORS = {"STAR", "SLASH", "CARET", "AMP", "EQ", "NE", "LT", "LE", "GT", "GE", "ANDAND", "OROR", "IN", "EXACTIN", "PERCENT", "DOT"}
_NAMES = {"NAME", "QNAME"}


def _expected(accepts: set[str]) -> str:
    """What the parser would have accepted, in words."""
    parts: list[str] = []
    if "NAME" in accepts and "NUMBER" not in accepts:
        return "a name"
    if accepts & _OPERAND_STARTS:
        parts.append("an operand")
    elif accepts & _NAMES:
        parts.append("a name")
    if accepts & _OPERATORS:
        parts.append("an operator")
    closers = sorted(
        {
            _TERMINAL_TEXT[a]
            for a in accepts
            if a in _TERMINAL_TEXT and a not in _OPERAND_STARTS and a not in _NAMES and a != "$END"
        }
    )
    parts.extend(closers)
    if "$END" in accepts and not parts:
        parts.append("the end of the formula")
    if not parts:
        return "something else"
    return ", ".join(parts[:-1]) + (" or " if len(parts) > 1 else "") + parts[-1]


MAX_SYNTAX_ERRORS = 20


# Words Power Fx keeps for itself (TexlLexer._reservedKeywords): as bare identifiers they are a
# syntax error unless the host turns the reservation off (DisableReservedKeywords); in single
# quotes they are ordinary names.
RESERVED_WORDS = frozenset(
    {"blank", "null", "empty", "none", "nothing", "undefined", "Is", "This", "Child", "Children", "Siblings"}
)


def parse_syntax(
    text: str, origin: TextOrigin, *, chaining: bool = False, reserved_words: bool = True
) -> tuple[ast.Node | None, list[Diagnostic]]:
    """Parse formula text into a tree; syntax problems come back as PFX1xx diagnostics.
    `chaining` accepts `a; b` (Features.expression_chaining); `reserved_words` refuses the
    RESERVED_WORDS as bare names (Features.reserved_keywords)."""
    diags: list[Diagnostic] = []
    tokenizer = Tokenizer(text)
    tokens = list(tokenizer.tokens())
    for problem in tokenizer.problems:
        diags.append(
            Diagnostic(PFX_SYNTAX, Severity.ERROR, problem.message, origin.span(text, problem.start, problem.end))
        )
    for tok, following in zip(tokens, tokens[1:], strict=False):
        if tok.type == "NAME" and tok.value == "As" and following.type == "COLON":
            # `As` is a keyword (TexlLexer): a record field of that name must be quoted.
            diags.append(
                Diagnostic(
                    PFX_SYNTAX, Severity.ERROR, "'As' is a keyword; write 'As' in single quotes to use it as a field name.",
                    origin.span(text, tok.start_pos or 0, tok.end_pos or 0),
                )
            )
    if reserved_words:
        for tok in tokens:
            if tok.type == "NAME" and tok.value in RESERVED_WORDS:
                diags.append(
                    Diagnostic(
                        PFX_SYNTAX,
                        Severity.ERROR,
                        f"'{tok.value}' is a reserved word; write '{tok.value}' in single quotes to use it as a name.",
                        origin.span(text, tok.start_pos or 0, tok.end_pos or 0),
                    )
                )
    interactive = (_CHAIN_PARSER if chaining else _PARSER).parse_interactive("")
    recovering = False
    last: Token | None = None
    for tok in tokens:
        # LALR may reduce on a token before finding it invalid: keep the state to go back to.
        saved = interactive.copy(deepcopy_values=False)  # type: ignore[no-untyped-call]
        try:
            interactive.feed_token(tok)
            recovering = False
            last = tok
            continue
        except UnexpectedToken:
            interactive = saved
        except LarkError as exc:  # pragma: no cover - defensive
            diags.append(Diagnostic(PFX_SYNTAX, Severity.ERROR, f"Syntax error: {exc}", origin.span(text, tok.start_pos or 0)))
            return None, diags
        if len(diags) >= MAX_SYNTAX_ERRORS:
            continue
        accepts = set(interactive.accepts())
        if not recovering:
            diags.append(
                Diagnostic(
                    PFX_UNEXPECTED_TOKEN,
                    Severity.ERROR,
                    f"Unexpected {_describe(tok)}; expected {_expected(accepts)}.",
                    origin.span(text, tok.start_pos or 0, tok.end_pos or 0),
                )
            )
        recovering = True
        if "NUMBER" in accepts:
            # A missing operand (`f(1,,2)`, `{a: }`): pretend it is there and go on, so that
            # later errors are real ones rather than echoes of this one.
            saved = interactive.copy(deepcopy_values=False)
            try:
                interactive.feed_token(Token.new_borrow_pos("NUMBER", "0", tok))
                interactive.feed_token(tok)
                recovering = False
                last = tok
            except UnexpectedToken:
                interactive = saved
    try:
        tree = interactive.feed_eof(last)  # type: ignore[no-untyped-call]
    except UnexpectedToken as exc:
        accepts = set(getattr(exc, "accepts", None) or exc.expected or ())
        end = len(text.rstrip())
        if not tokens:
            message = "The formula is empty; expected an expression."
        else:
            message = f"Unexpected end of formula; expected {_expected(accepts)}."
        diags.append(Diagnostic(PFX_UNEXPECTED_END, Severity.ERROR, message, origin.span(text, end, end)))
        return None, diags
    except LarkError as exc:  # pragma: no cover - defensive
        diags.append(Diagnostic(PFX_SYNTAX, Severity.ERROR, f"Syntax error: {exc}", origin.span(text, 0)))
        return None, diags
    if diags:
        return None, diags
    if not isinstance(tree, Tree | ast.Node):
        return None, diags
    try:
        node = _Build(text, origin).transform(tree) if isinstance(tree, Tree) else tree
    except RecursionError:
        diags.append(Diagnostic(PFX_TOO_DEEP, Severity.ERROR, "The formula nests too deeply to parse.", origin.span(text, 0)))
        return None, diags
    if not isinstance(node, ast.Node):
        return None, diags
    return node, diags
