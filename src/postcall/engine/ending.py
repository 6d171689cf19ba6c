"""How a conversation ends: the end record and the rules that pick its reason.

The rules (docs/end-of-conversation.md has the table):

* the caller hangs up -> CUSTOMER_HANGUP (initiator caller); if a transfer is still ringing, the
  transfer is marked `abandoned`;
* a transfer the channel reports `answered` -> BLIND_TRANSFER (TransferToPhoneNumber) or
  CCAAS_TRANSFER (TransferToAgent), initiator agent;
* busy / no-answer / failed / canceled transfers do not end the conversation (see engine);
* an EndConversation node -> AGENT_HANGUP (initiator agent);
* silence that runs out a question's retries with HangUp, or the idle watchdog ->
  INACTIVITY_TIMEOUT (initiator system); the duration watchdog -> MAX_DURATION;
* the channel failing or stopping -> CHANNEL_ERROR (initiator system).

Only the first end counts; later end signals are recorded by the engine and ignored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from postcall.engine.activity import Activity, EndSignal
from postcall.errors import EngineError
from postcall.vocabulary import ActivityType, EndReason, Initiator, TransferOutcome

TransferKind = Literal["phone", "agent"]


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _required(value: str | None, what: str) -> dt.datetime:
    parsed = _parse(value)
    if parsed is None:
        raise EngineError(f"Saved end-of-conversation data has no {what}.")
    return parsed


@dataclass(frozen=True, slots=True)
class TransferDetail:
    """One transfer the agent asked for, and what became of it.

    `outcome` is None while the channel has not answered (the transfer is ringing).
    """

    kind: TransferKind
    target: str  # the phone number, or "contact-center" for TransferToAgent
    node_id: str
    topic: str
    requested_at: dt.datetime
    outcome: TransferOutcome | None = None
    raw: str | None = None
    resolved_at: dt.datetime | None = None
    target_detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ringing(self) -> bool:
        return self.outcome is None

    @property
    def end_reason(self) -> EndReason:
        return EndReason.BLIND_TRANSFER if self.kind == "phone" else EndReason.CCAAS_TRANSFER

    def resolve(self, outcome: TransferOutcome, raw: str | None, at: dt.datetime) -> TransferDetail:
        return replace(self, outcome=outcome, raw=raw, resolved_at=at)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "target": self.target,
            "node_id": self.node_id,
            "topic": self.topic,
            "requested_at": _iso(self.requested_at),
            "outcome": str(self.outcome) if self.outcome is not None else None,
            "raw": self.raw,
            "resolved_at": _iso(self.resolved_at),
            "target_detail": dict(self.target_detail),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TransferDetail:
        requested = _required(data.get("requested_at"), "transfer request time")
        return cls(
            kind=data["kind"],
            target=data["target"],
            node_id=data["node_id"],
            topic=data["topic"],
            requested_at=requested,
            outcome=TransferOutcome(data["outcome"]) if data.get("outcome") else None,
            raw=data.get("raw"),
            resolved_at=_parse(data.get("resolved_at")),
            target_detail=dict(data.get("target_detail") or {}),
        )


@dataclass(frozen=True, slots=True)
class EndRecord:
    """The one end of a conversation: why, who, when, and the transfer if there was one.

    `source` says what signalled it: "channel" (an endOfConversation activity), "transfer"
    (a transfer result), "node" (EndConversation), "silence", "watchdog".  `raw` is the channel's
    own status or reason text when it gave one.  `activity_id` is the id of the activity that
    ended the conversation (None when a node did).
    """

    reason: EndReason
    initiator: Initiator
    started_at: dt.datetime
    ended_at: dt.datetime
    source: str
    raw: str | None = None
    transfer: TransferDetail | None = None
    activity_id: str | None = None
    node_id: str | None = None
    topic: str | None = None

    @property
    def duration_seconds(self) -> float:
        return max((self.ended_at - self.started_at).total_seconds(), 0.0)

    def detail(self) -> dict[str, Any]:
        """The detail record as JSON (also what System.Conversation.EndDetail holds)."""
        return {
            "initiator": str(self.initiator),
            "raw": self.raw,
            "source": self.source,
            "started_at": _iso(self.started_at),
            "ended_at": _iso(self.ended_at),
            "duration_seconds": self.duration_seconds,
            "transfer": self.transfer.to_json() if self.transfer is not None else None,
            "activity_id": self.activity_id,
            "node_id": self.node_id,
            "topic": self.topic,
        }

    def to_json(self) -> dict[str, Any]:
        return {"reason": str(self.reason), "initiator": str(self.initiator), "detail": self.detail()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EndRecord:
        detail = data["detail"]
        started = _required(detail.get("started_at"), "start time")
        ended = _required(detail.get("ended_at"), "end time")
        transfer = detail.get("transfer")
        return cls(
            reason=EndReason(data["reason"]),
            initiator=Initiator(data["initiator"]),
            started_at=started,
            ended_at=ended,
            source=detail["source"],
            raw=detail.get("raw"),
            transfer=TransferDetail.from_json(transfer) if transfer else None,
            activity_id=detail.get("activity_id"),
            node_id=detail.get("node_id"),
            topic=detail.get("topic"),
        )

    def activity(self, conversation_id: str, channel_id: str = "postcall") -> Activity:
        """The End of conversation activity: type endOfConversation, value {reason, initiator, detail}."""
        return Activity(
            type=ActivityType.END_OF_CONVERSATION,
            id=f"{conversation_id}:end",
            timestamp=self.ended_at,
            value=self.to_json(),
            channel_id=channel_id,
            name="EndOfConversation",
        )


# ---------------------------------------------------------------------------------------------
# The rules


def end_from_channel(
    signal: EndSignal,
    *,
    transfer: TransferDetail | None,
    started_at: dt.datetime,
    at: dt.datetime,
    activity_id: str | None,
) -> EndRecord:
    """The end an endOfConversation activity from the channel means.

    Without a reason: the caller hanging up, unless the initiator says otherwise (system ->
    CHANNEL_ERROR, agent -> AGENT_HANGUP).  A transfer still ringing is abandoned when the
    caller leaves, or answered when the channel says the transfer took the call.
    """
    raw_text = signal.raw
    reason = signal.reason
    initiator = signal.initiator or Initiator.CALLER
    if reason is None:
        reason = {
            Initiator.CALLER: EndReason.CUSTOMER_HANGUP,
            Initiator.SYSTEM: EndReason.CHANNEL_ERROR,
            Initiator.AGENT: EndReason.AGENT_HANGUP,
        }[initiator]
    if reason in (EndReason.BLIND_TRANSFER, EndReason.CCAAS_TRANSFER):
        if transfer is not None and transfer.ringing:
            return end_from_transfer_answered(
                transfer, raw=raw_text, started_at=started_at, at=at, activity_id=activity_id
            )
        if transfer is None:
            # The channel says a transfer took the call, but the agent never asked for one.
            reason, initiator = EndReason.CHANNEL_ERROR, Initiator.SYSTEM
            raw_text = raw_text or "transfer reported without a transfer request"
        else:
            reason, initiator = transfer.end_reason, Initiator.AGENT
    elif reason is EndReason.CUSTOMER_HANGUP:
        initiator = Initiator.CALLER
    elif reason in (EndReason.CHANNEL_ERROR, EndReason.INACTIVITY_TIMEOUT, EndReason.MAX_DURATION):
        initiator = signal.initiator or Initiator.SYSTEM
    if transfer is not None and transfer.ringing:
        outcome = (
            TransferOutcome.ABANDONED
            if reason is EndReason.CUSTOMER_HANGUP
            else TransferOutcome.CANCELED
        )
        transfer = transfer.resolve(outcome, raw_text, at)
    return EndRecord(
        reason=reason,
        initiator=initiator,
        started_at=started_at,
        ended_at=at,
        source="channel",
        raw=raw_text,
        transfer=transfer,
        activity_id=activity_id,
    )


def end_from_transfer_answered(
    transfer: TransferDetail,
    *,
    raw: str | None,
    started_at: dt.datetime,
    at: dt.datetime,
    activity_id: str | None,
) -> EndRecord:
    """A transfer the channel answered hands the call over: BLIND_TRANSFER or CCAAS_TRANSFER."""
    resolved = transfer.resolve(TransferOutcome.ANSWERED, raw, at)
    return EndRecord(
        reason=transfer.end_reason,
        initiator=Initiator.AGENT,
        started_at=started_at,
        ended_at=at,
        source="transfer",
        raw=raw,
        transfer=resolved,
        activity_id=activity_id,
        node_id=transfer.node_id,
        topic=transfer.topic,
    )


def end_from_agent(
    *,
    node_id: str,
    topic: str,
    started_at: dt.datetime,
    at: dt.datetime,
    transfer: TransferDetail | None,
) -> EndRecord:
    """An EndConversation node hung up: AGENT_HANGUP."""
    return EndRecord(
        reason=EndReason.AGENT_HANGUP,
        initiator=Initiator.AGENT,
        started_at=started_at,
        ended_at=at,
        source="node",
        transfer=transfer,
        node_id=node_id,
        topic=topic,
    )


def end_from_timeout(
    reason: EndReason,
    *,
    source: str,
    raw: str | None,
    started_at: dt.datetime,
    at: dt.datetime,
    transfer: TransferDetail | None,
    activity_id: str | None = None,
    node_id: str | None = None,
    topic: str | None = None,
) -> EndRecord:
    """A timeout (silence, idle or duration watchdog) or a channel failure ended the call."""
    if transfer is not None and transfer.ringing:
        transfer = transfer.resolve(TransferOutcome.CANCELED, raw, at)
    return EndRecord(
        reason=reason,
        initiator=Initiator.SYSTEM,
        started_at=started_at,
        ended_at=at,
        source=source,
        raw=raw,
        transfer=transfer,
        activity_id=activity_id,
        node_id=node_id,
        topic=topic,
    )
