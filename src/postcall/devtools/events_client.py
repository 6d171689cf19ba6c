"""A small client for the call-events webhook, for bridges written in Python.

    from postcall.devtools.events_client import CallEventsClient

    with CallEventsClient("http://127.0.0.1:8000", secret="s3cret") as client:
        reply = client.call_started("call-42", caller="+15550100", callee="+15550199")
        reply = client.caller_said("call-42", "I want to cancel my order", confidence=0.92)
        for action in reply["actions"]:
            ...  # say / listen / transfer / hangup
        client.call_ended("call-42", "caller", raw_reason="customer-ended-call")

The client numbers events per conversation (`sequence`), stamps them, signs each request at the
moment it is sent, and returns the agent's reply as a dict.  A refused request raises
ChannelError carrying the server's status and the field it named.  Sending the same event dict
twice (same conversation and sequence) is safe: the server treats the second as a replay.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from postcall.channels.events import signature_headers
from postcall.errors import ChannelError, ConfigError

__all__ = ["CallEventsClient"]


class CallEventsClient:
    """Posts signed call events to `{base_url}{path}` and returns the agent's reply."""

    def __init__(
        self,
        base_url: str,
        secret: str,
        *,
        path: str = "/channels/events",
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        if not secret:
            raise ConfigError("CallEventsClient needs the webhook's signing secret.")
        self.url = base_url.rstrip("/") + "/" + path.strip("/")
        self._secret = secret
        self._now = now
        self._sequences: dict[str, int] = {}
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=timeout, transport=transport)

    def __repr__(self) -> str:
        return f"CallEventsClient({self.url!r})"  # never the secret

    def __enter__(self) -> CallEventsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def next_sequence(self, conversation_id: str) -> int:
        with self._lock:
            value = self._sequences.get(conversation_id, 0) + 1
            self._sequences[conversation_id] = value
            return value

    def prepare(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The event with `sequence` and `timestamp` filled in where missing."""
        prepared = dict(event)
        cid = str(prepared.get("conversation_id", ""))
        if "sequence" not in prepared:
            prepared["sequence"] = self.next_sequence(cid)
        else:
            with self._lock:
                seq = prepared["sequence"]
                if isinstance(seq, int) and seq > self._sequences.get(cid, 0):
                    self._sequences[cid] = seq
        if "timestamp" not in prepared:
            prepared["timestamp"] = dt.datetime.fromtimestamp(self._now(), dt.UTC).isoformat()
        return prepared

    def send(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Sign and post one event; return the reply {"actions", "ended", "end_reason"}.

        Raises ChannelError (with the server's status and field) when the server refuses it, and
        httpx.HTTPError when the server cannot be reached.
        """
        body = json.dumps(self.prepare(event), separators=(",", ":"), default=str).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        headers.update(signature_headers(self._secret, body, int(self._now())))
        response = self._http.post(self.url, content=body, headers=headers)
        if response.is_success:
            reply: dict[str, Any] = response.json()
            return reply
        message, field = f"The call-events webhook answered {response.status_code}.", None
        try:
            error = response.json()["error"]
            message, field = str(error["message"]), error.get("field")
        except (ValueError, KeyError, TypeError):
            pass
        raise ChannelError(message, status=response.status_code, field=field)

    # -- one helper per event type -------------------------------------------------------------

    def call_started(
        self,
        conversation_id: str,
        *,
        caller: str | None = None,
        callee: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        return self.send(
            _event("call.started", conversation_id, caller=caller, callee=callee, metadata=metadata)
        )

    def caller_said(
        self, conversation_id: str, text: str, *, confidence: float | None = None
    ) -> dict[str, Any]:
        return self.send(_event("caller.said", conversation_id, text=text, confidence=confidence))

    def caller_dtmf(self, conversation_id: str, digits: str) -> dict[str, Any]:
        return self.send(_event("caller.dtmf", conversation_id, digits=digits))

    def caller_silence(self, conversation_id: str) -> dict[str, Any]:
        return self.send(_event("caller.silence", conversation_id))

    def caller_unrecognized(self, conversation_id: str) -> dict[str, Any]:
        return self.send(_event("caller.unrecognized", conversation_id))

    def transfer_answered(
        self, conversation_id: str, *, raw_reason: str | None = None
    ) -> dict[str, Any]:
        return self.send(_event("transfer.answered", conversation_id, raw_reason=raw_reason))

    def transfer_failed(
        self, conversation_id: str, outcome: str, *, raw_reason: str | None = None
    ) -> dict[str, Any]:
        return self.send(
            _event("transfer.failed", conversation_id, outcome=outcome, raw_reason=raw_reason)
        )

    def call_ended(
        self, conversation_id: str, initiator: str, *, raw_reason: str | None = None
    ) -> dict[str, Any]:
        return self.send(
            _event("call.ended", conversation_id, initiator=initiator, raw_reason=raw_reason)
        )


def _event(kind: str, conversation_id: str, **fields: Any) -> dict[str, Any]:
    event = {"type": kind, "conversation_id": conversation_id}
    event.update({name: value for name, value in fields.items() if value is not None})
    return event
