"""Activities in, outputs out: the values a channel hands the engine and gets back.

The words they use (activity types, end reasons, initiators, transfer outcomes, channel
events) are defined once in `postcall.vocabulary` and imported here.

Wire strings are copied verbatim (Bot Framework activity types in camelCase, Copilot Studio end
reasons in UPPER_SNAKE).  Channels translate provider payloads into `Activity` values and
`AgentOutput` values into provider replies; they never look inside the engine.

Channel events that are not Bot Framework activities travel as `event` activities with a
reserved name (see `ChannelEvent`).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from postcall.vocabulary import ActivityType, EndReason, Initiator, TransferOutcome


@dataclass(frozen=True, slots=True)
class Activity:
    """One activity into the engine (Bot Framework shaped).

    `dtmf` holds digits keyed on the dial pad (a `message` may carry text, dtmf or both);
    `confidence` is the speech recogniser's confidence (0..1) when the channel gives one.
    For `endOfConversation` from a channel, `value` is an `EndSignal` as JSON; for the
    TRANSFER_RESULT and WATCHDOG events, a `TransferReport` and a `WatchdogSignal`.
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


# ---------------------------------------------------------------------------------------------
# What channels put in an activity's `value` for the engine: one typed shape per signal.  The
# value itself stays plain JSON (topics read it as System.Activity.Value, the lifecycle stores
# it); these classes are the one place that writes and reads it.


def _enum_or_none(kind: type[enum.StrEnum], raw: object) -> Any:
    try:
        return kind(str(raw)) if raw is not None else None
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class EndSignal:
    """The value of a channel's endOfConversation: who ended the call, why, the provider's words.

    `initiator` None means the channel did not say (the engine's rules pick one); `reason`
    None means "the end the initiator implies" (caller: CUSTOMER_HANGUP, system:
    CHANNEL_ERROR, agent: AGENT_HANGUP).  `details` are the channel's extra facts (provider,
    call status, duration, sequence), kept for topics and the history.
    """

    initiator: Initiator | None = None
    reason: EndReason | None = None
    raw: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_value(self) -> dict[str, Any]:
        value: dict[str, Any] = {}
        if self.initiator is not None:
            value["initiator"] = str(self.initiator)
        if self.reason is not None:
            value["reason"] = str(self.reason)
        value["raw"] = self.raw
        value.update(self.details)
        return value

    @classmethod
    def from_value(cls, value: object) -> EndSignal:
        """Read leniently: an unknown initiator or reason counts as not given."""
        data: Mapping[str, Any] = value if isinstance(value, Mapping) else {}
        raw = data.get("raw")
        return cls(
            initiator=_enum_or_none(Initiator, data.get("initiator")),
            reason=_enum_or_none(EndReason, data.get("reason")),
            raw=str(raw) if raw is not None else None,
            details={k: v for k, v in data.items() if k not in ("initiator", "reason", "raw")},
        )


_OUTCOME_ALIASES = {
    "noanswer": "no-answer", "no answer": "no-answer", "completed": "answered",
    "in-progress": "answered", "cancelled": "canceled", "error": "failed",
}


@dataclass(frozen=True, slots=True)
class TransferReport:
    """The value of a TRANSFER_RESULT event: how the transfer went (None: not understood) and the raw words."""

    outcome: TransferOutcome | None
    raw: str | None = None

    def to_value(self) -> dict[str, Any]:
        return {"outcome": str(self.outcome) if self.outcome is not None else None, "raw": self.raw}

    @classmethod
    def from_value(cls, value: object) -> TransferReport:
        """{"outcome", "raw"} or a bare outcome text; provider spellings (no_answer, completed) accepted."""
        if isinstance(value, Mapping):
            outcome, raw = value.get("outcome"), value.get("raw")
        else:
            outcome, raw = value, None
        text = str(outcome).strip().lower().replace("_", "-") if outcome is not None else ""
        found = _enum_or_none(TransferOutcome, _OUTCOME_ALIASES.get(text, text))
        if found is None:
            return cls(None, str(raw) if raw is not None else (str(outcome) if outcome is not None else None))
        return cls(found, str(raw) if raw is not None else None)


@dataclass(frozen=True, slots=True)
class WatchdogSignal:
    """The value of a WATCHDOG event: which limit passed (INACTIVITY_TIMEOUT or MAX_DURATION)."""

    reason: EndReason = EndReason.INACTIVITY_TIMEOUT
    raw: str | None = None

    def to_value(self) -> dict[str, Any]:
        value: dict[str, Any] = {"reason": str(self.reason)}
        if self.raw is not None:
            value["raw"] = self.raw
        return value

    @classmethod
    def from_value(cls, value: object) -> WatchdogSignal:
        data: Mapping[str, Any] = value if isinstance(value, Mapping) else {}
        raw = data.get("raw")
        reason = _enum_or_none(EndReason, data.get("reason", EndReason.INACTIVITY_TIMEOUT))
        return cls(reason or EndReason.INACTIVITY_TIMEOUT, str(raw) if raw is not None else None)


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
