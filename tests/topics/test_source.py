"""The YAML source layer: positions, text-only scalars, Copilot Studio's non-strict YAML."""

from __future__ import annotations

import pytest

from postcall.topics.source import YMap, YScalar, YSeq, parse_yaml, read_text, to_plain


def scalar(node: object, *path: str | int) -> YScalar:
    for key in path:
        if isinstance(key, int):
            assert isinstance(node, YSeq)
            node = node.items[key]
        else:
            assert isinstance(node, YMap)
            node = node.get(key)
    assert isinstance(node, YScalar)
    return node


def test_every_scalar_stays_text() -> None:
    node, diags = parse_yaml(
        "phone: +4916090179359\nflag: yes\nno_: no\nnum: 0049\nfloat: 1.50\nnull_: ~\ndate: 2024-01-01\n",
        "f.yaml",
    )
    assert diags == []
    assert to_plain(node) == {
        "phone": "+4916090179359",
        "flag": "yes",
        "no_": "no",
        "num": "0049",
        "float": "1.50",
        "null_": None,
        "date": "2024-01-01",
    }


def test_keys_and_scalars_remember_line_and_column() -> None:
    text = "kind: AdaptiveDialog\nbeginDialog:\n  kind: OnActivity\n  type: EndOfConversation\n"
    node, _ = parse_yaml(text, "topics/a.yaml")
    assert isinstance(node, YMap)
    begin = node.get("beginDialog")
    assert isinstance(begin, YMap)
    key = begin.key_node("type")
    assert key is not None and (key.span.line, key.span.column) == (4, 3)
    value = scalar(begin, "type")
    assert (value.span.path, value.span.line, value.span.column) == ("topics/a.yaml", 4, 9)
    assert (value.span.end_line, value.span.end_column) == (4, 26)


def test_at_keys_and_star_values_are_plain_scalars() -> None:
    text = "headers:\n  accept: */*\n  '@quoted': 1\n@odata.nextLink: next\nlist: [*/*, @x]\n"
    node, diags = parse_yaml(text, "f.yaml")
    assert diags == []
    assert to_plain(node) == {
        "headers": {"accept": "*/*", "@quoted": "1"},
        "@odata.nextLink": "next",
        "list": ["*/*", "@x"],
    }


def test_aliases_are_refused_with_a_position() -> None:
    node, diags = parse_yaml("a: &x [1]\nb: *x\n", "f.yaml")
    assert node is None
    assert [d.code for d in diags] == ["YML106"]
    assert diags[0].span is not None and (diags[0].span.line, diags[0].span.column) == (2, 4)


def test_recursive_alias_cannot_loop() -> None:
    node, diags = parse_yaml("a: &x [*x]\n", "f.yaml")
    assert node is None and diags[0].code == "YML106"


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("kind: AdaptiveDialog\nbeginDialog\n  kind: OnRedirect\n", 2, 1),
        ("a: [1, 2\n", 2, 1),
        ("a: 'unterminated\n", 1, 4),  # the opening quote, not the end of the file
        ("a: b\n\tc: d\n", 2, 1),
    ],
)
def test_syntax_errors_are_diagnostics_at_their_position(text: str, line: int, column: int) -> None:
    node, diags = parse_yaml(text, "f.yaml")
    assert node is None
    assert len(diags) == 1 and diags[0].code == "YML101" and diags[0].is_error
    assert diags[0].span is not None
    assert (diags[0].span.line, diags[0].span.column) == (line, column)


def test_empty_file_and_duplicate_keys() -> None:
    assert [d.code for d in parse_yaml("# only a comment\n", "f.yaml")[1]] == ["YML102"]
    node, diags = parse_yaml("a: 1\na: 2\n", "f.yaml")
    assert to_plain(node) == {"a": "2"}
    assert [(d.code, d.span.line if d.span else 0) for d in diags] == [("YML103", 2)]


def test_deep_nesting_is_a_diagnostic() -> None:
    node, diags = parse_yaml("[" * 3000 + "]" * 3000, "f.yaml")
    assert node is None and diags[0].code == "YML105"


def test_block_scalar_origin_maps_every_line() -> None:
    text = "value: |-\n  =If(\n    Topic.x,\n    1)\n"
    value = scalar(parse_yaml(text, "f.yaml")[0], "value")
    assert value.style == "|"
    origin = value.origin_after(1)
    formula = value.value[1:]
    assert origin.locate(formula, 0) == (2, 4)  # the I of If
    assert origin.locate(formula, formula.index("Topic")) == (3, 5)
    assert origin.locate(formula, formula.index("1)")) == (4, 5)


def test_quoted_scalar_origin_is_exact_with_and_without_escapes() -> None:
    node, _ = parse_yaml('a: "={x: 1}"\nb: "=\\"q\\""\n', "f.yaml")
    a, b = scalar(node, "a"), scalar(node, "b")
    assert a.origin.exact and a.origin_after(1).locate(a.value[1:], 0) == (1, 6)
    assert b.value == '="q"' and b.origin.exact
    assert b.origin_after(1).locate(b.value[1:], 1) == (2, 8)  # the q after the escaped quote


def test_non_utf8_bytes_are_a_diagnostic() -> None:
    text, diags = read_text(b"kind: Adaptive\xffDialog\n", "f.yaml")
    assert text is None
    assert diags[0].code == "YML107" and diags[0].span is not None and diags[0].span.column == 15
    assert read_text("é".encode("utf-8-sig"), "f.yaml") == ("é", [])


def test_forbidden_control_characters_are_a_diagnostic() -> None:
    node, diags = parse_yaml("a: \x07\n", "f.yaml")
    assert node is None and diags[0].code == "YML107"
    assert diags[0].span is not None and (diags[0].span.line, diags[0].span.column) == (1, 4)
