"""ConversationState: everything the engine remembers between turns, as JSON.

The store saves `state.to_json()` after every turn and any process may resume it with
`ConversationState.from_json(...)`.  The dialog stack holds a program counter into each topic's
compiled program (engine/program.py), so a saved conversation resumes exactly where it stopped:
mid-question, mid-loop, or waiting for a backend action or a transfer result.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NotRequired, TypedDict

from postcall.engine.ending import EndRecord, TransferDetail
from postcall.engine.values import decode, encode
from postcall.errors import EngineError
from postcall.powerfx.values import Value
from postcall.vocabulary import WaitingFor

STATE_VERSION = 1


class EndSnapshot(TypedDict):
    """What post-call topics see of a conversation (`ConversationState.end_snapshot()`), as JSON.

    The engine hands it up in the turn result that ends a call; the lifecycle carries it in a
    post-call run's input (`lifecycle/programs.py`, `TopicRunInput`); the durable layer stores
    it as JSON and the engine reads it back (`engine/selection.py`, `state_from_snapshot`).
    """

    conversation_id: str
    agent: str
    channel_id: str
    started_at: str
    """ISO 8601."""
    in_test_mode: bool
    user_id: str | None
    user_name: str | None
    globals: dict[str, Any]
    """Global variables as at the end, each encoded by `engine/values.py`."""
    system: dict[str, Any]
    transfer: dict[str, Any] | None
    """`TransferDetail.to_json()`, when the call was transferred."""
    end: dict[str, Any]
    """`EndRecord.to_json()`."""
    entropy: NotRequired[str]
    """`ConversationState.entropy` (absent from snapshots stored before it existed)."""


def _vars_to_json(variables: Mapping[str, Value]) -> dict[str, Any]:
    return {name: encode(value) for name, value in variables.items()}


def _vars_from_json(data: Mapping[str, Any] | None) -> dict[str, Value]:
    return {name: decode(value) for name, value in (data or {}).items()}


@dataclass
class QuestionWait:
    """A Question node waiting for the caller's answer.

    `tries` counts unrecognised or invalid answers, `silences` counts silence timeouts;
    `interrupted` is True while another topic runs on top (the question re-asks after it).
    """

    node_id: str
    tries: int = 0
    silences: int = 0
    interrupted: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "tries": self.tries,
            "silences": self.silences,
            "interrupted": self.interrupted,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> QuestionWait:
        return cls(
            node_id=data["node_id"],
            tries=int(data.get("tries", 0)),
            silences=int(data.get("silences", 0)),
            interrupted=bool(data.get("interrupted", False)),
        )


@dataclass
class LoopState:
    """A Foreach in progress: its items (evaluated once at the loop's start) and position."""

    items: list[Value]
    index: int = -1

    def to_json(self) -> dict[str, Any]:
        return {"items": [encode(v) for v in self.items], "index": self.index}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LoopState:
        return cls(items=[decode(v) for v in data.get("items", [])], index=int(data.get("index", -1)))


@dataclass
class Frame:
    """One topic on the dialog stack.

    `pc` indexes the topic's compiled program.  `variables` is the Topic scope.  `call` is the id
    of the BeginDialog node of this frame whose callee is running above it (its output bindings
    apply when the callee ends).  `executed` counts node executions of this frame, for loop
    guards.
    """

    topic: str
    pc: int = 0
    variables: dict[str, Value] = field(default_factory=dict)
    loops: dict[str, LoopState] = field(default_factory=dict)
    question: QuestionWait | None = None
    call: str | None = None
    started_by: str = ""
    asked: list[str] = field(default_factory=list)  # Question ids asked at least once

    def to_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "pc": self.pc,
            "variables": _vars_to_json(self.variables),
            "loops": {k: v.to_json() for k, v in self.loops.items()},
            "question": self.question.to_json() if self.question is not None else None,
            "call": self.call,
            "started_by": self.started_by,
            "asked": list(self.asked),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Frame:
        question = data.get("question")
        return cls(
            topic=data["topic"],
            pc=int(data.get("pc", 0)),
            variables=_vars_from_json(data.get("variables")),
            loops={k: LoopState.from_json(v) for k, v in (data.get("loops") or {}).items()},
            question=QuestionWait.from_json(question) if question else None,
            call=data.get("call"),
            started_by=data.get("started_by", ""),
            asked=list(data.get("asked") or []),
        )


def _dt(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


@dataclass
class ConversationState:
    """A conversation between turns (see module docstring).

    `system` holds the stored System variables by dotted name (`FallbackCount`,
    `LastMessage.Text`, `Error.Code`, `Transfer.Outcome`...); the rest of System is derived
    (docs/engine.md has the table).  `activity` is the current/last inbound activity (JSON).
    `pending` is the backend action the conversation waits for (ActionRequest JSON plus where to
    continue).  `ignored` lists activities that arrived when they could change nothing (after the
    end, or while a transfer rang), with why.
    """

    conversation_id: str
    agent: str
    started_at: dt.datetime
    channel_id: str = "test"
    last_caller_at: dt.datetime | None = None
    last_activity_at: dt.datetime | None = None
    in_test_mode: bool = False
    user_id: str | None = None
    user_name: str | None = None
    started: bool = False
    globals: dict[str, Value] = field(default_factory=dict)
    system: dict[str, Value] = field(default_factory=dict)
    stack: list[Frame] = field(default_factory=list)
    pending: dict[str, Any] | None = None
    transfer: TransferDetail | None = None
    end: EndRecord | None = None
    ignored: list[dict[str, Any]] = field(default_factory=list)
    node_runs: dict[str, int] = field(default_factory=dict)
    inactivity_fired: bool = False
    activity: dict[str, Any] | None = None
    turns: int = 0
    seq: int = 0
    entropy: str = ""
    """A secret drawn when the conversation starts, mixed into the seed of Rand() and GUID(): a
    replay draws the same values, an outsider who knows the conversation id and the times cannot."""
    version: int = STATE_VERSION

    @classmethod
    def new(
        cls,
        conversation_id: str,
        *,
        agent: str,
        now: dt.datetime,
        channel_id: str = "test",
        in_test_mode: bool = False,
        user_id: str | None = None,
        user_name: str | None = None,
        globals: Mapping[str, Value] | None = None,
    ) -> ConversationState:
        return cls(
            conversation_id=conversation_id,
            agent=agent,
            started_at=now,
            channel_id=channel_id,
            last_caller_at=now,
            last_activity_at=now,
            in_test_mode=in_test_mode,
            user_id=user_id,
            user_name=user_name,
            globals=dict(globals or {}),
            entropy=secrets.token_hex(16),
        )

    @property
    def ended(self) -> bool:
        return self.end is not None

    @property
    def waiting_for(self) -> WaitingFor:
        """What the conversation waits for: "end" (it is over), "action", "transfer", "caller"."""
        if self.end is not None:
            return "end"
        if self.pending is not None:
            return "action"
        if self.transfer is not None and self.transfer.ringing:
            return "transfer"
        return "caller"

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "conversation_id": self.conversation_id,
            "agent": self.agent,
            "started_at": self.started_at.isoformat(),
            "channel_id": self.channel_id,
            "last_caller_at": self.last_caller_at.isoformat() if self.last_caller_at else None,
            "last_activity_at": self.last_activity_at.isoformat() if self.last_activity_at else None,
            "in_test_mode": self.in_test_mode,
            "user_id": self.user_id,
            "user_name": self.user_name,
            "started": self.started,
            "globals": _vars_to_json(self.globals),
            "system": _vars_to_json(self.system),
            "stack": [f.to_json() for f in self.stack],
            "pending": self.pending,
            "transfer": self.transfer.to_json() if self.transfer is not None else None,
            "end": self.end.to_json() if self.end is not None else None,
            "ignored": list(self.ignored),
            "node_runs": dict(self.node_runs),
            "inactivity_fired": self.inactivity_fired,
            "activity": self.activity,
            "turns": self.turns,
            "seq": self.seq,
            "entropy": self.entropy,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConversationState:
        if not isinstance(data, Mapping) or "conversation_id" not in data:
            raise EngineError("Saved conversation state is not a conversation state object.")
        version = int(data.get("version", STATE_VERSION))
        if version > STATE_VERSION:
            raise EngineError(
                f"Saved conversation state has version {version}; this runtime reads up to "
                f"{STATE_VERSION}. Upgrade postcall.",
                conversation_id=str(data.get("conversation_id")),
            )
        started = _dt(data.get("started_at"))
        if started is None:
            raise EngineError(
                "Saved conversation state has no start time.",
                conversation_id=str(data.get("conversation_id")),
            )
        transfer = data.get("transfer")
        end = data.get("end")
        return cls(
            conversation_id=data["conversation_id"],
            agent=data.get("agent", ""),
            started_at=started,
            channel_id=data.get("channel_id", "test"),
            last_caller_at=_dt(data.get("last_caller_at")),
            last_activity_at=_dt(data.get("last_activity_at")),
            in_test_mode=bool(data.get("in_test_mode", False)),
            user_id=data.get("user_id"),
            user_name=data.get("user_name"),
            started=bool(data.get("started", False)),
            globals=_vars_from_json(data.get("globals")),
            system=_vars_from_json(data.get("system")),
            stack=[Frame.from_json(f) for f in data.get("stack") or []],
            pending=data.get("pending"),
            transfer=TransferDetail.from_json(transfer) if transfer else None,
            end=EndRecord.from_json(end) if end else None,
            ignored=list(data.get("ignored") or []),
            node_runs={k: int(v) for k, v in (data.get("node_runs") or {}).items()},
            inactivity_fired=bool(data.get("inactivity_fired", False)),
            activity=data.get("activity"),
            turns=int(data.get("turns", 0)),
            seq=int(data.get("seq", 0)),
            entropy=str(data.get("entropy") or ""),
            version=version,
        )

    def copy(self) -> ConversationState:
        """A deep copy through JSON (which is also a check that the state stays serialisable)."""
        return ConversationState.from_json(self.to_json())

    def end_snapshot(self) -> EndSnapshot:
        """What post-call topics see: Global and System variables as at the end, and the end.

        JSON; `PostCallProgram` and `select_post_call_topics` take it.
        """
        if self.end is None:
            raise EngineError(
                "The conversation has not ended; there is no end snapshot.",
                conversation_id=self.conversation_id,
            )
        return {
            "conversation_id": self.conversation_id,
            "agent": self.agent,
            "channel_id": self.channel_id,
            "started_at": self.started_at.isoformat(),
            "in_test_mode": self.in_test_mode,
            "user_id": self.user_id,
            "user_name": self.user_name,
            "globals": _vars_to_json(self.globals),
            "system": _vars_to_json(self.system),
            "transfer": self.transfer.to_json() if self.transfer is not None else None,
            "end": self.end.to_json(),
            "entropy": self.entropy,
        }
