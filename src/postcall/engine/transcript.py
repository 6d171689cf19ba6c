"""System.Conversation.Transcript: what the caller and the agent said, for post-call analysis.

Kept in the conversation's System variables, so it travels in the end snapshot to post-call
topics with nothing else to read: `System.Conversation.Transcript` is a table of
{Speaker ("caller" or "agent"), Text, Time}, `System.Conversation.TranscriptText` the same as
lines "caller: ..." / "agent: ...".  Key presses are noted as "(pressed 123#)".  At most
`MAX_LINES` lines are kept (the latest), each cut at `MAX_CHARS` characters, so a long call
does not grow the saved state without bound.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from postcall.engine.state import ConversationState
from postcall.engine.values import to_plain
from postcall.engine.variables import naive_utc
from postcall.powerfx.values import Record, Table, Value

MAX_LINES = 200
MAX_CHARS = 1000
TABLE = "Conversation.Transcript"
TEXT = "Conversation.TranscriptText"
SOURCES = "Conversation.LastAnswerSources"


@dataclass(frozen=True, slots=True)
class Note:
    """A line of the conversation's history that nobody said: something that went wrong out of
    the caller's hearing (a model call that failed: how, after how many tries, how long), so the
    console, the API and `postcall chat` show it beside the turn it changed.  It carries kinds,
    counts and times, never a key and never the caller's words."""

    text: str
    topic: str | None = None
    node: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "topic": self.topic, "node": self.node, "detail": dict(self.detail)}


def _rows(state: ConversationState) -> list[Record]:
    table = state.system.get(TABLE)
    return [row for row in table.rows if isinstance(row, Record)] if isinstance(table, Table) else []


def note(state: ConversationState, speaker: str, text: str | None, at: dt.datetime) -> None:
    """Append one line (blank text is not a line)."""
    if not text or not text.strip():
        return
    line = " ".join(text.split())[:MAX_CHARS]
    rows = _rows(state)
    fields: dict[str, Value] = {"Speaker": speaker, "Text": line, "Time": naive_utc(at)}
    rows.append(Record(fields))
    rows = rows[-MAX_LINES:]
    state.system[TABLE] = Table(rows)
    previous = state.system.get(TEXT)
    joined = f"{previous}\n{speaker}: {line}" if isinstance(previous, str) and previous else f"{speaker}: {line}"
    if len(rows) == MAX_LINES:
        joined = "\n".join(f"{r.get_field('Speaker')}: {r.get_field('Text')}" for r in rows)
    state.system[TEXT] = joined


def note_sources(state: ConversationState, sources: list[str]) -> None:
    """The sources of the last generative answer (kept with the transcript)."""
    state.system[SOURCES] = ", ".join(dict.fromkeys(s for s in sources if s))


def caller_spoke(state: ConversationState) -> bool:
    return any(r.get_field("Speaker") == "caller" and not str(r.get_field("Text")).startswith("(") for r in _rows(state))


def transcript_text(state: ConversationState) -> str:
    value = state.system.get(TEXT)
    return value if isinstance(value, str) else ""


def transcript_rows(state: ConversationState) -> list[dict[str, object]]:
    plain = to_plain(state.system.get(TABLE))
    return plain if isinstance(plain, list) else []
