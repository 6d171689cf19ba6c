"""Text-first formulas (parser flag TextFirst): the text is a message, `${expr}` are its holes.

Microsoft's TextFirst mode (TextFirst.txt in its tests) reads the whole input as text: `"`, `{`
and `}` need no escaping, `${...}` is a hole holding a formula, a run of two or more `$` before
`{` is one `$` fewer and no hole, and an input starting with `=` is an ordinary formula.  This
module rewrites such text into the equivalent interpolated string `$"..."`, which the ordinary
parser then reads; spans of diagnostics refer to the rewritten text.
"""

from __future__ import annotations

from postcall.powerfx.lexer import Tokenizer


def text_first_source(text: str) -> str:
    """The ordinary formula a text-first input means (`=...` is already one)."""
    if text.startswith("="):
        rest = text[1:]
        if not list(Tokenizer(rest).tokens()) and not Tokenizer(rest).problems:
            return "Blank()"  # `=` alone, or only a comment
        return rest
    out = ['$"']
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "$":
            run = i
            while run < n and text[run] == "$":
                run += 1
            dollars = run - i
            if run < n and text[run] == "{":
                if dollars == 1:
                    end = _hole_end(text, run + 1)
                    # A space keeps a hole starting with a record (`${{a:1}.a}`) from reading as `{{`.
                    out.append("{ " + text[run + 1 : end] + "}")
                    i = end + 1
                    continue
                out.append("$" * (dollars - 1) + "{{")
                i = run + 1
                continue
            out.append("$" * dollars)
            i = run
            continue
        out.append({'"': '""', "{": "{{", "}": "}}"}.get(ch, ch))
        i += 1
    out.append('"')
    return "".join(out)


def _hole_end(text: str, start: int) -> int:
    """The offset of the `}` closing a hole whose formula starts at `start` (the text's end
    when it is never closed: the formula is then cut short and fails to parse)."""
    depth = 0
    for tok in Tokenizer(text[start:]).tokens():
        if tok.type in ("LBRACE", "HOLE_START"):
            depth += 1
        elif tok.type in ("RBRACE", "HOLE_END"):
            if depth == 0:
                return start + (tok.start_pos or 0)
            depth -= 1
    return len(text)
