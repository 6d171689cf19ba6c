"""Side effects as data: what the engine asks for and what comes back.

The engine never performs I/O.  A backend node (HttpRequestAction, InvokeFlowAction,
LogCustomTelemetryEvent) leaves it as an `ActionRequest`; an action runner (in-call) or a durable
step (post-call) carries it out and hands back an `ActionResult`.  Both are plain JSON-able data so
that DBOS can checkpoint them and a replay can feed recorded results back to the engine.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from postcall.vocabulary import ActionKind, ErrorCategory


def idempotency_key(conversation_id: str, topic: str, node_id: str, execution: int = 1) -> str:
    """`<conversation id>:<topic>:<node id>`, plus `#<n>` for the n-th execution (n > 1) of a node.

    The one definition of the key: the engine stamps it on every request, the HTTP layer sends
    it as the `Idempotency-Key` header (replacing any the author set), a receiver applies it once.
    """
    base = f"{conversation_id}:{topic}:{node_id}"
    return base if execution == 1 else f"{base}#{execution}"


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """One side effect requested by a node.

    `kind` is "http" (payload: method, url, headers, body (str | None), content_type,
    timeout_ms), "flow" (payload: flow_id, inputs) or "log" (payload: event_name, properties).
    `idempotency_key` is `<conversation id>:<topic>:<node id>` (plus `#<n>` for the n-th
    execution of the same node in a loop, n > 1); it is stable across retries, crash recovery
    and redrive.
    """

    kind: ActionKind
    node_id: str
    topic: str
    conversation_id: str
    idempotency_key: str
    payload: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ActionRequest:
        return cls(
            kind=data["kind"],
            node_id=data["node_id"],
            topic=data["topic"],
            conversation_id=data["conversation_id"],
            idempotency_key=data["idempotency_key"],
            payload=dict(data.get("payload") or {}),
        )


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What came back.  `ok` False with `error` set when the action failed after its retries.

    For "http": status_code, headers, body (text) and json (parsed body or None).
    For "flow": outputs (a mapping of output names to JSON values).
    For "log": nothing but ok.
    `error_category` is one of: "timeout", "connection", "http_status", "refused_host",
    "bad_request", "internal", and (added by the durable layer) "bad_response" (a flow's
    answer was not a JSON object), "flow_error" (a flow callable raised), "budget" (the
    run's time budget was spent before or during this action).
    """

    ok: bool
    status_code: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    json: Any = None
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    error_category: ErrorCategory | None = None
    attempts: int = 1
    elapsed_ms: float | None = None
    """Wall time of all attempts and the waits between them (None: not measured)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ActionResult:
        return cls(
            ok=bool(data["ok"]),
            status_code=data.get("status_code"),
            headers=dict(data.get("headers") or {}),
            body=data.get("body"),
            json=data.get("json"),
            outputs=dict(data.get("outputs") or {}),
            error=data.get("error"),
            error_category=data.get("error_category"),
            attempts=int(data.get("attempts", 1)),
            elapsed_ms=data.get("elapsed_ms"),
        )


@dataclass(frozen=True, slots=True)
class TelemetryEvent:
    """One LogCustomTelemetryEvent as stored (once per idempotency key) and shown by the API."""

    idempotency_key: str
    conversation_id: str
    run_id: str | None
    topic: str
    node_id: str
    event_name: str
    properties: dict[str, Any]
    at: dt.datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "idempotency_key": self.idempotency_key,
            "conversation_id": self.conversation_id,
            "run_id": self.run_id,
            "topic": self.topic,
            "node_id": self.node_id,
            "event_name": self.event_name,
            "properties": self.properties,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TelemetryEvent:
        """The inverse of `to_json` (a post-call step carries its events in its checkpoint)."""
        at = dt.datetime.fromisoformat(str(data["at"]))
        return cls(
            idempotency_key=str(data["idempotency_key"]),
            conversation_id=str(data["conversation_id"]),
            run_id=data.get("run_id"),
            topic=str(data["topic"]),
            node_id=str(data["node_id"]),
            event_name=str(data["event_name"]),
            properties=dict(data.get("properties") or {}),
            at=at if at.tzinfo else at.replace(tzinfo=dt.UTC),
        )
