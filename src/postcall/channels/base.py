"""What every channel shares: a framework-free webhook request, the reply, and what a webhook means.

A channel only translates.  The server turns an HTTP request into a `WebhookRequest`, hands it to
a channel, and gets back a `ChannelInput` (what the webhook means for the runtime) or a
`ChannelError` (400, 403, 404 or 413, naming the field at fault).  After the runtime has run its
turn, the channel renders the agent's outputs into a `ChannelReply`.

Each input carries `event_id`, a key the provider repeats when it repeats a delivery (a retried or
duplicated webhook), so the server can record an event once and ignore it the second time.
`event_id` is None only where the provider gives nothing stable to key on.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from postcall.engine.activity import (
    Activity,
    ActivityType,
    ChannelEvent,
    Initiator,
    TransferOutcome,
)
from postcall.errors import ChannelError
from postcall.safetext import clean_text

__all__ = [
    "ActivityInput",
    "Acknowledge",
    "CallStarted",
    "ChannelError",
    "ChannelInput",
    "ChannelReply",
    "Headers",
    "WebhookRequest",
    "end_of_conversation_activity",
    "error_reply",
    "event_activity",
    "message_activity",
    "transfer_result_activity",
]

# Twilio and the call-events webhook both fit well below this; a larger body is refused with 413.
DEFAULT_MAX_BODY_BYTES = 64 * 1024


class Headers(Mapping[str, str]):
    """HTTP headers, looked up without regard to case.  Repeated headers keep the last value."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        for name, value in (items or {}).items():
            self._items[str(name).lower()] = (str(name), str(value))

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return (original for original, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({sorted(self)!r})"  # names only: values may hold signatures


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """One HTTP request as the server received it, with no web framework attached.

    `url` is the full URL the request came to, query string included (as the server saw it;
    behind a proxy, channels rebuild the public URL from their settings).  `body` is the raw
    body, unparsed, so that signatures are checked over exactly the bytes received.
    """

    method: str
    url: str
    headers: Headers
    body: bytes = b""

    @classmethod
    def build(
        cls,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> WebhookRequest:
        return cls(method.upper(), url, Headers(headers), body)

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, str]:
        """The query string's parameters (the last value of a repeated name wins), NUL replaced
        by U+FFFD (postcall/safetext.py; signatures are checked over the URL itself)."""
        pairs = parse_qsl(urlsplit(self.url).query, keep_blank_values=True)
        return {clean_text(name): clean_text(value) for name, value in pairs}

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def form(self, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> dict[str, list[str]]:
        """The body as `application/x-www-form-urlencoded` fields, every value of each name kept.

        Raises ChannelError 413 above `max_bytes` and 400 when the body is not form data.
        """
        check_body_size(self.body, max_bytes)
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ChannelError(
                f"The request body is not UTF-8 (byte {exc.start}); send form data.",
                status=400,
                field="body",
            ) from None
        fields: dict[str, list[str]] = {}
        try:
            pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
        except ValueError:
            raise ChannelError(
                "The request body is not application/x-www-form-urlencoded data.",
                status=400,
                field="body",
            ) from None
        for name, value in pairs:  # raw: signatures are computed over them as sent
            fields.setdefault(name, []).append(value)
        return fields


def check_body_size(body: bytes, max_bytes: int) -> None:
    if len(body) > max_bytes:
        raise ChannelError(
            f"The request body is {len(body)} bytes; the limit is {max_bytes} bytes.",
            status=413,
            field="body",
        )


@dataclass(frozen=True, slots=True)
class ChannelReply:
    """What the server sends back: status, content type, body bytes and extra headers."""

    status: int
    content_type: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def error_reply(error: ChannelError) -> ChannelReply:
    """A JSON reply for a refused request: {"error": {"status", "message", "field"}}."""
    payload = {"error": {"status": error.status, "message": str(error), "field": error.field}}
    return ChannelReply(
        status=error.status,
        content_type="application/json",
        body=json.dumps(payload).encode("utf-8"),
    )


# ----------------------------------------------------------------------------------------------
# What a webhook means for the runtime.


@dataclass(frozen=True, slots=True)
class CallStarted:
    """A new call: the runtime starts a conversation and answers with the agent's first turn."""

    conversation_id: str
    caller: str | None
    callee: str | None
    raw: Mapping[str, Any]
    event_id: str | None = None
    sequence: int | None = None  # the provider's per-conversation event number, if it numbers events


@dataclass(frozen=True, slots=True)
class ActivityInput:
    """An activity for the engine: the caller spoke or keyed digits, said nothing, a transfer
    was answered or failed, or the channel saw the call end (`endOfConversation`).

    `turn` is the agent turn the webhook answers, when the channel can tell (Twilio action URLs
    carry it); the server may use it to spot a stale callback.  `sequence` is the provider's
    per-conversation event number (call events), so the runtime can tell an event overtook another.
    """

    conversation_id: str
    activity: Activity
    event_id: str | None = None
    turn: int | None = None
    sequence: int | None = None  # the provider's per-conversation event number, if it numbers events


@dataclass(frozen=True, slots=True)
class Acknowledge:
    """A valid, signed webhook that changes nothing (a progress callback such as `ringing`).

    The server answers it with `ack` from the channel and records nothing.
    """

    conversation_id: str
    reason: str
    event_id: str | None = None


ChannelInput = CallStarted | ActivityInput | Acknowledge


# ----------------------------------------------------------------------------------------------
# Activity builders shared by the channels, so both speak the engine's vocabulary the same way.


def message_activity(
    activity_id: str,
    timestamp: dt.datetime,
    *,
    channel_id: str,
    text: str | None = None,
    dtmf: str | None = None,
    confidence: float | None = None,
    from_id: str | None = None,
    channel_data: Mapping[str, Any] | None = None,
) -> Activity:
    return Activity(
        type=ActivityType.MESSAGE,
        id=activity_id,
        timestamp=timestamp,
        text=text,
        dtmf=dtmf,
        confidence=confidence,
        channel_id=channel_id,
        from_id=from_id,
        channel_data=dict(channel_data or {}),
    )


def event_activity(
    activity_id: str,
    timestamp: dt.datetime,
    name: ChannelEvent,
    *,
    channel_id: str,
    value: Any = None,
    from_id: str | None = None,
    channel_data: Mapping[str, Any] | None = None,
) -> Activity:
    return Activity(
        type=ActivityType.EVENT,
        id=activity_id,
        timestamp=timestamp,
        name=str(name),
        value=value,
        channel_id=channel_id,
        from_id=from_id,
        channel_data=dict(channel_data or {}),
    )


def transfer_result_activity(
    activity_id: str,
    timestamp: dt.datetime,
    outcome: TransferOutcome,
    raw: str,
    *,
    channel_id: str,
    channel_data: Mapping[str, Any] | None = None,
) -> Activity:
    return event_activity(
        activity_id,
        timestamp,
        ChannelEvent.TRANSFER_RESULT,
        channel_id=channel_id,
        value={"outcome": str(outcome), "raw": raw},
        channel_data=channel_data,
    )


def end_of_conversation_activity(
    activity_id: str,
    timestamp: dt.datetime,
    initiator: Initiator,
    raw: str,
    *,
    channel_id: str,
    extra: Mapping[str, Any] | None = None,
    channel_data: Mapping[str, Any] | None = None,
) -> Activity:
    value: dict[str, Any] = {"initiator": str(initiator), "raw": raw}
    value.update(extra or {})
    return Activity(
        type=ActivityType.END_OF_CONVERSATION,
        id=activity_id,
        timestamp=timestamp,
        value=value,
        channel_id=channel_id,
        channel_data=dict(channel_data or {}),
    )
