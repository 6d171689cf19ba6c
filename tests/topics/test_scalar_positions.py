"""Exact positions of the characters of escaped, quoted and folded YAML scalars.

For every style PyYAML can write, each character of the parsed value must map to the file
position of the source text that produced it: the same character, or the escape (`\\`, `''`)
that stands for it, or (for a folded line break) the end of the line it was folded from.
"""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postcall.topics.source import YScalar, parse_yaml

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Formula-like text: names, operators, quotes, escapes, non-ASCII, spaces (folding), newlines.
ALPHABET = st.sampled_from(list('abcXYZ019 ."\'\\=(),{}:#-_éü€\t') + ["\n", "  ", "\u00a0"])
VALUES = st.lists(ALPHABET, min_size=1, max_size=60).map("".join)


def value_node(text: str) -> YScalar:
    node, diags = parse_yaml(text, "f.yaml")
    assert not [d for d in diags if d.is_error], diags
    assert node is not None and not isinstance(node, YScalar)
    found = node.get("value")  # type: ignore[union-attr]
    assert isinstance(found, YScalar)
    return found


def check_positions(text: str, scalar: YScalar) -> int:
    """Checks every character; returns how many were checked (0 when the origin is inexact)."""
    origin = scalar.origin
    if not origin.exact:
        return 0
    lines = text.split("\n")
    for offset, ch in enumerate(scalar.value):
        line, column = origin.locate(scalar.value, offset)
        source_line = lines[line - 1]
        at = source_line[column - 1] if column - 1 < len(source_line) else "\n"
        produced_by_escape = at in "\\'" and ch != at
        folded = ch in " \n" and at in " \n\t"
        assert at == ch or produced_by_escape or folded, (offset, ch, line, column, text)
    return len(scalar.value)


@SETTINGS
@given(
    value=VALUES,
    style=st.sampled_from(['"', "'", ">", None]),
    width=st.integers(min_value=8, max_value=80),
)
def test_every_character_maps_to_the_source_that_produced_it(
    value: str, style: str | None, width: int
) -> None:
    text = yaml.dump({"value": value}, default_style=style, width=width, allow_unicode=True)
    scalar = value_node(text)
    assert scalar.value == value
    check_positions(text, scalar)


def test_common_styles_are_exact() -> None:
    cases = {
        "double quoted with escapes": 'value: "=Text(\\"a\\" & \\u00e9 & \\\\)"\n',
        "single quoted with ''": "value: '=If(a = ''x'', 1, 2)'\n",
        "folded": "value: >-\n  =If(a,\n  Len(b), 0)\n",
        "plain over two lines": "value: =If(a,\n  Len(b), 0)\n",
        "double quoted over two lines": 'value: "=If(\\"a\\",\n  Len(b), 0)"\n',
        "single quoted over three lines": "value: '=If(a,\n\n  ''b'')'\n",
    }
    for name, text in cases.items():
        scalar = value_node(text)
        assert scalar.origin.exact, name
        assert check_positions(text, scalar) == len(scalar.value), name
