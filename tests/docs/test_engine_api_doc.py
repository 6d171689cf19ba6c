"""docs/engine.md's "Public API" table names only what `postcall.engine` exports."""

from __future__ import annotations

import re
from pathlib import Path

import postcall.engine

DOC = Path(__file__).resolve().parents[2] / "docs" / "engine.md"


def public_api_names() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Public API", 1)[1].split("\n## ", 1)[0]
    names: list[str] = []
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        first_cell = line.split(" | ", 1)[0]
        # each `Name...` of the first cell, up to its first "(" or "." (a method names its class)
        names += [re.split(r"[(.\s]", code, maxsplit=1)[0] for code in re.findall(r"`([^`]+)`", first_cell)]
    return names


def test_every_name_of_the_public_api_table_imports_from_postcall_engine() -> None:
    names = public_api_names()
    assert {"Engine", "TurnResult", "Recognition", "Recognizer"} <= set(names)
    missing = [name for name in names if not hasattr(postcall.engine, name)]
    assert missing == [], f"docs/engine.md lists {missing} but `from postcall.engine import ...` fails"
    assert all(name in postcall.engine.__all__ for name in names)
