"""The end-of-call and delivery planning of one step, as pure functions over typed bookkeeping.

`Sessions._plan` (session.py) asks this module what to do with a delivery before it runs the
engine, and records here what it did; it does the I/O around it (loading, the engine turn,
writing).  Everything here is data in, data out, so the rules are unit-tested over event orders
without a database (tests/lifecycle/test_planning.py).

The bookkeeping (`Bookkeeping`) lives in the saved conversation state under `_lifecycle`:

- `seen`: the reply to each recent provider delivery, by event id: a repeated delivery gets the
  same reply and changes nothing (design decision 10).  A delivery whose turn was suspended on
  an in-call action is marked `suspended`: if its process died, a redelivery carries it on.
- `turn`: the number of the conversation's last counted turn.
- `held`: a channel's end of the call kept back because the transfer's own result may still be
  on its way (see `decide`); released by the next activity or once `until` has passed.
- `seq`: for channels that number their events, the highest number seen without a gap and the
  numbers seen ahead of it.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from postcall.vocabulary import WaitingFor

SEEN_EVENTS_KEPT = 64
"""Recent provider deliveries remembered per conversation (and numbers kept ahead of a gap)."""

LIFECYCLE_KEY = "_lifecycle"
"""Where the bookkeeping sits in the saved conversation state."""


def parse_time(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class SeenReply:
    """The reply given to one delivery: the outputs as JSON, the turn number, whether it suspended."""

    outputs: tuple[dict[str, Any], ...] = ()
    turn: int = 0
    suspended: bool = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"outputs": list(self.outputs), "turn": self.turn}
        if self.suspended:
            data["suspended"] = True
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SeenReply:
        return cls(
            outputs=tuple(data.get("outputs") or ()),
            turn=int(data.get("turn", 0)),
            suspended=bool(data.get("suspended")),
        )


@dataclass(frozen=True, slots=True)
class HeldEnd:
    """A channel's end kept back while a transfer's result may still come (module docstring)."""

    activity: dict[str, Any]
    event_id: str | None
    at: dt.datetime
    until: dt.datetime

    def due(self, now: dt.datetime) -> bool:
        return self.until <= now

    def to_json(self) -> dict[str, Any]:
        return {"activity": self.activity, "event_id": self.event_id, "at": self.at.isoformat(), "until": self.until.isoformat()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HeldEnd:
        at = parse_time(data.get("at"))
        until = parse_time(data.get("until"))
        epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
        return cls(
            activity=dict(data.get("activity") or {}),
            event_id=str(data["event_id"]) if data.get("event_id") else None,
            at=at or epoch,
            until=until or epoch,  # a held end without a time is due at once
        )


@dataclass(frozen=True, slots=True)
class Sequence:
    """Numbered events seen: every number up to `upto`, and `ahead` (numbers past a gap)."""

    upto: int = 0
    ahead: tuple[int, ...] = ()

    def note(self, number: int) -> tuple[Sequence, bool]:
        """Record event `number`; the new marks and whether an earlier number is still missing."""
        ahead = sorted({n for n in self.ahead if n > self.upto} | ({number} if number > self.upto else set()))
        gap = number > self.upto + 1
        upto = self.upto
        while ahead and ahead[0] == upto + 1:
            upto = ahead.pop(0)
        return Sequence(upto, tuple(ahead[-SEEN_EVENTS_KEPT:])), gap

    def to_json(self) -> dict[str, Any]:
        return {"upto": self.upto, "ahead": list(self.ahead)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Sequence:
        return cls(int(data.get("upto", 0)), tuple(int(n) for n in data.get("ahead") or ()))


@dataclass(frozen=True, slots=True)
class Bookkeeping:
    """The lifecycle's own part of a saved conversation (`_lifecycle`)."""

    seen: Mapping[str, SeenReply] = field(default_factory=dict)
    turn: int = 0
    held: HeldEnd | None = None
    seq: Sequence | None = None

    def remember(self, event_id: str | None, reply: SeenReply) -> Bookkeeping:
        """Keep the reply to `event_id` (the oldest ones go beyond SEEN_EVENTS_KEPT)."""
        if event_id is None:
            return self
        seen = dict(self.seen)
        seen.pop(event_id, None)
        seen[event_id] = reply
        while len(seen) > SEEN_EVENTS_KEPT:
            seen.pop(next(iter(seen)))
        return replace(self, seen=seen)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"seen": {k: v.to_json() for k, v in self.seen.items()}, "turn": self.turn}
        if self.held is not None:
            data["held"] = self.held.to_json()
        if self.seq is not None:
            data["seq"] = self.seq.to_json()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Bookkeeping:
        data = data or {}
        held = data.get("held")
        seq = data.get("seq")
        return cls(
            seen={str(k): SeenReply.from_json(v) for k, v in dict(data.get("seen") or {}).items()},
            turn=int(data.get("turn", 0)),
            held=HeldEnd.from_json(held) if held else None,
            seq=Sequence.from_json(seq) if seq else None,
        )


class Action(enum.Enum):
    """What a step does with a delivery."""

    REPLAY = "replay"
    """A repeated delivery: answer with the stored reply, write nothing."""
    RESUME_SUSPENDED = "resume_suspended"
    """A repeated delivery whose turn was suspended on an in-call action and never resumed (its
    process died): answer with the stored reply and carry the turn on (the action runs again
    with the same Idempotency-Key)."""
    UNCHANGED = "unchanged"
    """A release with nothing (due) to release: answer with what was carried, write nothing."""
    RELEASE = "release"
    """Run the held end now (it leaves the bookkeeping)."""
    HOLD = "hold"
    """Keep this end back: the transfer's result may still be on its way."""
    RUN = "run"
    """Run the engine's turn."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a step is asked to do, as `Sessions` knows it before reading the conversation."""

    event_id: str | None = None
    continuation: bool = False
    """Resuming a turn after its in-call action (no new inbound activity)."""
    inbound_end: bool = False
    """The inbound activity is the channel's endOfConversation."""
    inbound: bool = False
    """There is an inbound activity (False for continuations and releases)."""
    sequence: int | None = None
    release: bool = False
    release_due_before: dt.datetime | None = None
    """With `release`: release only a held end due before this moment (the watchdog's sweep)."""


def replay_of(book: Bookkeeping, delivery: Delivery, *, saved_pending: bool, saved_ended: bool) -> Action | None:
    """Before the state is parsed: REPLAY or RESUME_SUSPENDED for a repeated delivery, else None."""
    if delivery.event_id is None or delivery.continuation or delivery.event_id not in book.seen:
        return None
    if book.seen[delivery.event_id].suspended and saved_pending and not saved_ended:
        return Action.RESUME_SUSPENDED
    return Action.REPLAY


def decide(
    book: Bookkeeping, delivery: Delivery, *, pending: bool, waiting_for: WaitingFor
) -> tuple[Action, Bookkeeping]:
    """What to do with a delivery that is not a plain repeat, and the bookkeeping after deciding.

    `pending` and `waiting_for` describe the parsed state ("transfer" while a transfer rings).

    - A continuation whose turn was already resumed by another delivery of the same event is
      answered with that one's reply (REPLAY).
    - A release runs the held end (RELEASE) if there is one and it is due; else UNCHANGED.
    - A channel's end that arrives while a transfer rings is held (HOLD) when the transfer's
      result may still be on its way: always on a channel without numbers (Twilio posts the
      call's status and `<Dial>`'s action in either order), and on a numbered channel only
      when an earlier event is missing.
    - Anything else runs the engine (RUN).
    """
    if delivery.continuation and not pending and delivery.event_id is not None and delivery.event_id in book.seen:
        return Action.REPLAY, book
    if delivery.release:
        held = book.held
        if held is None or (delivery.release_due_before is not None and not held.due(delivery.release_due_before)):
            return Action.UNCHANGED, book
        return Action.RELEASE, replace(book, held=None)
    gap = False
    if delivery.inbound and not delivery.continuation and delivery.sequence is not None:
        seq, gap = (book.seq or Sequence()).note(delivery.sequence)
        book = replace(book, seq=seq)
    if (
        delivery.inbound
        and not delivery.continuation
        and book.held is None
        and delivery.inbound_end
        and waiting_for == "transfer"
        and (delivery.sequence is None or gap)
    ):
        return Action.HOLD, book
    return Action.RUN, book


def hold(
    book: Bookkeeping, activity: dict[str, Any], event_id: str | None, now: dt.datetime, grace_s: float
) -> Bookkeeping:
    """The bookkeeping with `activity` (an end) held until `now + grace_s`; its delivery answered with nothing."""
    held = HeldEnd(activity=activity, event_id=event_id, at=now, until=now + dt.timedelta(seconds=grace_s))
    return replace(book, held=held).remember(event_id, SeenReply((), book.turn))


def release_time(held: HeldEnd, *, now: dt.datetime, by_sweep: bool, last_activity: dt.datetime) -> dt.datetime:
    """When a released end happened: as of its arrival when nothing came since (the sweep released
    it), else now (the next activity released it after being handled)."""
    if not by_sweep:
        return now
    return max(held.at, last_activity)


def next_turn(turn: int, *, continuation: bool, ignored: bool) -> int:
    """A new inbound activity the engine did not ignore counts as a turn; a continuation does not."""
    return turn if continuation or ignored else turn + 1
