"""Property tests: whatever text or YAML the loader is given, it answers with the project's own
diagnostics, never with another exception."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postcall.diagnostics import CODES, Diagnostic, render_all
from postcall.topics import load_topic_text
from postcall.topics.schema_data import ENUMS, FIELDS, KINDS

FIXTURE_TOPICS = sorted((Path(__file__).parent / "fixtures" / "agent_folder" / "topics").glob("*"))
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FIELD_NAMES = sorted({f for fields in FIELDS.values() for f in fields})
KIND_NAMES = sorted({k for kinds in KINDS.values() for k in kinds}) + [
    "AdaptiveDialog",
    "Message",
    "SendMessage",
]
ENUM_VALUES = sorted({v for values in ENUMS.values() for v in values})[:200]


def check(text: str) -> None:
    result = load_topic_text(text, "prop.yaml")
    assert result.agent is not None
    for d in result.diagnostics:
        assert isinstance(d, Diagnostic)
        assert d.code in CODES, d.code
        if d.span is not None:
            assert d.span.line >= 1 and d.span.column >= 1
            if d.span.path == "prop.yaml":
                assert d.span.line <= text.count("\n") + 2, (d, text)
    render_all(result.diagnostics, result.sources)  # rendering never fails either


@SETTINGS
@given(st.text(max_size=400))
def test_arbitrary_text(text: str) -> None:
    check(text)


@SETTINGS
@given(st.text(alphabet="kind:AdptveDlgbnOR \n-[]{}@*&!|>'\"#=%`,?\t.0123456789", max_size=300))
def test_yaml_punctuation_soup(text: str) -> None:
    check(text)


scalars = st.one_of(
    st.sampled_from(KIND_NAMES),
    st.sampled_from(ENUM_VALUES),
    st.text(max_size=30),
    st.sampled_from(
        [
            "=Topic.x",
            "={a: 1}",
            "=If(",
            "Topic.x",
            "init:Topic.y",
            "+4916090179359",
            "*/*",
            "{Topic.x}",
            "=Lenght(1)",
        ]
    ),
    st.integers(),
    st.booleans(),
    st.none(),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(FIELD_NAMES), children, max_size=6),
    ),
    max_leaves=40,
)


def topic(trigger: dict[str, Any], actions: list[Any]) -> str:
    return yaml.safe_dump(
        {"kind": "AdaptiveDialog", "beginDialog": {**trigger, "actions": actions}}, sort_keys=False
    )


@SETTINGS
@given(
    st.dictionaries(st.sampled_from(FIELD_NAMES), values, max_size=5),
    st.lists(
        st.builds(
            lambda kind, body: {"kind": kind, **body},
            st.sampled_from(KIND_NAMES),
            st.dictionaries(st.sampled_from(FIELD_NAMES), values, max_size=6),
        ),
        max_size=5,
    ),
)
def test_arbitrary_yaml_structures(trigger: dict[str, Any], actions: list[Any]) -> None:
    check(topic(trigger, actions))


@SETTINGS
@given(values)
def test_arbitrary_yaml_documents(doc: Any) -> None:
    check(yaml.safe_dump(doc))


@SETTINGS
@given(
    st.sampled_from(FIXTURE_TOPICS),
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=5000),
            st.integers(min_value=0, max_value=20),
            st.text(max_size=5),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_mutated_real_topics(path: Path, edits: list[tuple[int, int, str]]) -> None:
    text = path.read_text(encoding="utf-8")
    for at, delete, insert in edits:
        at %= len(text) + 1
        text = text[:at] + insert + text[at + delete :]
    check(text)
