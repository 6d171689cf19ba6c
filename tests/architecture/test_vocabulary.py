"""The shared words are defined once, in postcall.vocabulary, and every layer uses that definition."""

from __future__ import annotations

import ast
import typing
from pathlib import Path

from fastapi import FastAPI

from postcall.engine.activity import AgentOutput
from postcall.server.api.conversations import router
from postcall.store.records import RUN_STATUSES
from postcall.vocabulary import (
    KNOWN_END_REASONS,
    ActivityType,
    ChannelEvent,
    EndReason,
    OutputKind,
    RunStatus,
    StoredKind,
)

SRC = Path(__file__).resolve().parents[2] / "src" / "postcall"


def literals(path: Path) -> set[str]:
    return {
        node.value
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def test_only_the_vocabulary_spells_out_the_lists() -> None:
    lists = {
        "end reasons": set(KNOWN_END_REASONS),
        "activity types": {t.value for t in ActivityType},
    }
    spelled = {
        name: sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if words <= literals(p))
        for name, words in lists.items()
    }
    assert spelled == {name: ["vocabulary.py"] for name in lists}


def test_the_api_offers_exactly_the_end_reasons() -> None:
    app = FastAPI()
    app.include_router(router)
    schema = app.openapi()
    (param,) = [p for p in schema["paths"]["/api/conversations"]["get"]["parameters"] if p["name"] == "end_reason"]
    options = [s for s in param["schema"]["anyOf"] if "$ref" in s]
    enum = schema["components"]["schemas"][options[0]["$ref"].rsplit("/", 1)[1]]["enum"]
    assert enum == list(KNOWN_END_REASONS) == [r.value for r in EndReason]


# (word, file) pairs where the same spelling means something else, with the reason.
OTHER_MEANINGS: dict[tuple[str, str], str] = {
    ("Recognition", "topics/schema_data.py"): "a schema kind name in Microsoft's JSON schema (generated)",
    ("Recognition", "engine/__init__.py"): "the exported class's name in postcall.engine's __all__",
    ("Say", "channels/twilio_twiml.py"): "TwiML's <Say> verb",
    ("Say", "devtools/twilio_simulator.py"): "TwiML's <Say> verb, read back by the simulator",
    ("HangUp", "topics/model.py"): "a topic's defaultValueMissingAction value (Copilot Studio's word)",
    ("HangUp", "topics/schema_data.py"): "a schema enum value (generated)",
    ("HangUp", "topics/build_nodes.py"): "a topic's defaultValueMissingAction value",
    ("HangUp", "engine/nodes/question.py"): "a topic's defaultValueMissingAction value",
}


def test_single_words_are_spelled_only_in_the_vocabulary() -> None:
    """Stored kinds, output kinds, channel events and the wire-only activity types, one literal each."""
    words = {*StoredKind, *OutputKind, *ChannelEvent, ActivityType.END_OF_CONVERSATION, ActivityType.CONVERSATION_UPDATE}
    found = {
        (word, str(p.relative_to(SRC)))
        for p in SRC.rglob("*.py")
        if p.name != "vocabulary.py"
        for word in literals(p) & {str(w) for w in words}
    }
    assert found <= set(OTHER_MEANINGS), sorted(found - set(OTHER_MEANINGS))


def test_output_kinds_are_the_output_class_names() -> None:
    assert {k.value for k in OutputKind} == {cls.__name__ for cls in typing.get_args(AgentOutput)}


def test_run_statuses_are_the_vocabulary_s() -> None:
    assert RUN_STATUSES == typing.get_args(RunStatus)
