"""The engine's vocabulary: activities in, outputs out, end reasons.

Wire strings are copied verbatim (Bot Framework activity types in camelCase, Copilot Studio end
reasons in UPPER_SNAKE).  Channels translate provider payloads into `Activity` values and
`AgentOutput` values into provider replies; they never look inside the engine.

Channel events that are not Bot Framework activities travel as `event` activities with a
reserved name (see `ChannelEvent`).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class ActivityType(enum.StrEnum):
    MESSAGE = "message"
    EVENT = "event"
    CONVERSATION_UPDATE = "conversationUpdate"
    END_OF_CONVERSATION = "endOfConversation"
    INVOKE = "invoke"
    TYPING = "typing"
    HANDOFF = "handoff"
    TRACE = "trace"


class EndReason(enum.StrEnum):
    """Why a conversation ended: the value of System.Conversation.EndReason."""

    CUSTOMER_HANGUP = "CUSTOMER_HANGUP"
    BLIND_TRANSFER = "BLIND_TRANSFER"
    CCAAS_TRANSFER = "CCAAS_TRANSFER"
    AGENT_HANGUP = "AGENT_HANGUP"
    INACTIVITY_TIMEOUT = "INACTIVITY_TIMEOUT"
    MAX_DURATION = "MAX_DURATION"
    CHANNEL_ERROR = "CHANNEL_ERROR"


KNOWN_END_REASONS: tuple[str, ...] = tuple(r.value for r in EndReason)


class Initiator(enum.StrEnum):
    CALLER = "caller"
    AGENT = "agent"
    SYSTEM = "system"


class TransferOutcome(enum.StrEnum):
    """How the channel answered a transfer.  Only ANSWERED hands the call over."""

    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    CANCELED = "canceled"
    ABANDONED = "abandoned"  # the caller hung up while the transfer still rang


class ChannelEvent(enum.StrEnum):
    """Reserved names of `event` activities that channels send to the engine."""

    SILENCE = "postcall.silence"  # the caller said nothing before the listen timeout
    UNRECOGNIZED_SPEECH = "postcall.unrecognizedSpeech"  # speech heard, nothing recognised
    TRANSFER_RESULT = "postcall.transferResult"  # value: {"outcome": TransferOutcome, "raw": str}
    WATCHDOG = "postcall.watchdog"  # value: {"reason": "INACTIVITY_TIMEOUT" | "MAX_DURATION"}
    INACTIVITY = "postcall.inactivity"  # an OnInactivity trigger's duration has passed (no value)


@dataclass(frozen=True, slots=True)
class Activity:
    """One activity into the engine (Bot Framework shaped).

    `dtmf` holds digits keyed on the dial pad (a `message` may carry text, dtmf or both);
    `confidence` is the speech recogniser's confidence (0..1) when the channel gives one.
    For `endOfConversation` from a channel, `value` is
    {"initiator": Initiator, "raw": the provider's status or reason, ...}.
    """

    type: ActivityType
    id: str
    timestamp: dt.datetime
    text: str | None = None
    dtmf: str | None = None
    confidence: float | None = None
    name: str | None = None
    value: Any = None
    channel_id: str = "test"
    from_id: str | None = None
    from_name: str | None = None
    locale: str | None = None
    channel_data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["type"] = str(self.type)
        data["timestamp"] = self.timestamp.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Activity:
        return cls(
            type=ActivityType(data["type"]),
            id=data["id"],
            timestamp=dt.datetime.fromisoformat(data["timestamp"]),
            text=data.get("text"),
            dtmf=data.get("dtmf"),
            confidence=data.get("confidence"),
            name=data.get("name"),
            value=data.get("value"),
            channel_id=data.get("channel_id", "test"),
            from_id=data.get("from_id"),
            from_name=data.get("from_name"),
            locale=data.get("locale"),
            channel_data=dict(data.get("channel_data") or {}),
        )


# ----------------------------------------------------------------------------------------------
# Outputs: what the agent does.  A turn returns a list of these, in order.


@dataclass(frozen=True, slots=True)
class Say:
    text: str
    speak: str | None = None  # SSML or plain speech override; channels fall back to text
    allow_barge_in: bool = True


@dataclass(frozen=True, slots=True)
class Listen:
    """The agent waits for the caller.  Ends a turn that did not end or transfer the call.

    `dtmf_max_digits` / `dtmf_finish_key` come from a Question's DTMF options;
    timeouts in milliseconds, None meaning the channel's default.
    """

    speech: bool = True
    dtmf: bool = True
    dtmf_max_digits: int | None = None
    dtmf_min_digits: int | None = None
    dtmf_finish_key: str | None = None
    silence_timeout_ms: int | None = None
    speech_end_timeout_ms: int | None = None
    interdigit_timeout_ms: int | None = None
    allow_barge_in: bool = True


@dataclass(frozen=True, slots=True)
class TransferToPhoneNumber:
    phone_number: str
    sip_uui_header: str | None = None
    sipx_headers: dict[str, str] = field(default_factory=dict)
    dtmf_sequence: str | None = None


@dataclass(frozen=True, slots=True)
class TransferToAgent:
    message_to_agent: str | None = None
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Transfer:
    """The agent hands the call over; the channel answers with a TRANSFER_RESULT event."""

    target: TransferToPhoneNumber | TransferToAgent
    node_id: str = ""


@dataclass(frozen=True, slots=True)
class HangUp:
    """The agent ends the call (EndConversation node)."""

    node_id: str = ""


@dataclass(frozen=True, slots=True)
class EmitActivity:
    """A non-message activity the agent sends (SendActivity with an EventActivity, EmitEvent)."""

    type: ActivityType
    name: str | None = None
    value: Any = None


AgentOutput = Say | Listen | Transfer | HangUp | EmitActivity


def output_to_json(output: AgentOutput) -> dict[str, Any]:
    """A JSON form of an output: {"type": <class name>, ...fields}."""
    data = asdict(output)
    if isinstance(output, Transfer):
        data["target"]["type"] = type(output.target).__name__
    if isinstance(output, EmitActivity):
        data["type_"] = str(output.type)
        del data["type"]
    return {"type": type(output).__name__, **data}
