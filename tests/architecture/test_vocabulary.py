"""The shared words are defined once, in postcall.vocabulary, and every layer uses that definition."""

from __future__ import annotations

import ast
from pathlib import Path

from fastapi import FastAPI

from postcall.server.api.conversations import router
from postcall.vocabulary import KNOWN_END_REASONS, ActivityType, EndReason

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
