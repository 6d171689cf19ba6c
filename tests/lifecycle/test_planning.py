"""lifecycle/planning.py: what a step does with a delivery, table-driven over event orders, no database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from postcall.lifecycle.planning import (
    SEEN_EVENTS_KEPT,
    Action,
    Bookkeeping,
    Delivery,
    HeldEnd,
    SeenReply,
    Sequence,
    decide,
    hold,
    next_turn,
    release_time,
    replay_of,
)

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
GRACE = 5.0


@dataclass(frozen=True)
class Ev:
    """One delivery in an event order: `kind` is "say", "transfer-result", "end", "release" or "sweep"."""

    kind: str
    event_id: str | None = None
    seq: int | None = None
    at: float = 0.0  # seconds after T0


def drive(events: list[Ev], *, ringing: bool = True) -> list[Action]:
    """Plan each delivery in order as Sessions does, with a conversation whose transfer rings
    until a transfer result (or a released end) is handled; the actions decided."""
    book = Bookkeeping()
    waiting = "transfer" if ringing else "caller"
    decided: list[Action] = []
    for ev in events:
        now = T0 + dt.timedelta(seconds=ev.at)
        delivery = Delivery(
            event_id=ev.event_id,
            inbound=ev.kind not in ("release", "sweep"),
            inbound_end=ev.kind == "end",
            sequence=ev.seq,
            release=ev.kind in ("release", "sweep"),
            release_due_before=now if ev.kind == "sweep" else None,
        )
        replay = replay_of(book, delivery, saved_pending=False, saved_ended=waiting == "end")
        if replay is not None:
            decided.append(replay)
            continue
        action, book = decide(book, delivery, pending=False, waiting_for=waiting)
        decided.append(action)
        if action is Action.HOLD:
            book = hold(book, {"type": "endOfConversation"}, ev.event_id, now, GRACE)
        elif action in (Action.RUN, Action.RELEASE):
            if ev.kind == "transfer-result":
                waiting = "caller"
            if ev.kind == "end" or action is Action.RELEASE:
                waiting = "end"
            book = book.remember(ev.event_id, SeenReply((), book.turn + 1))
    return decided


R, H, P, U, L = Action.RUN, Action.HOLD, Action.REPLAY, Action.UNCHANGED, Action.RELEASE

ORDERS = {
    # Twilio (no numbers): the call's end may overtake <Dial>'s action: always held while ringing.
    "unnumbered end before the transfer result": (
        [Ev("end", "e1"), Ev("transfer-result", "t1"), Ev("release")], [H, R, L]),
    "unnumbered end, nothing else, the sweep after the grace": (
        [Ev("end", "e1"), Ev("sweep", at=1), Ev("sweep", at=GRACE + 1)], [H, U, L]),
    "unnumbered repeated end is a replay, not a second hold": (
        [Ev("end", "e1"), Ev("end", "e1")], [H, P]),
    "a second, different end while one is held runs": (
        [Ev("end", "e1"), Ev("end", "e2")], [H, R]),
    # Call events (numbered): an end is held only when an earlier event is missing.
    "numbered end in order runs at once": (
        [Ev("transfer-result", "t1", seq=1), Ev("end", "e2", seq=2)], [R, R]),
    "numbered end while ringing with nothing missing runs": (
        [Ev("end", "e1", seq=1)], [R]),
    "numbered end past a gap is held, the missing result releases it": (
        [Ev("say", "s1", seq=1), Ev("end", "e3", seq=3), Ev("transfer-result", "t2", seq=2), Ev("release")],
        [R, H, R, L]),
    "repeated deliveries are replays in any order": (
        [Ev("say", "s1", seq=1), Ev("say", "s1", seq=1), Ev("say", "s2", seq=2), Ev("say", "s1", seq=1)],
        [R, P, R, P]),
    "release with nothing held changes nothing": (
        [Ev("say", "s1"), Ev("release")], [R, U]),
}


@pytest.mark.parametrize("name", list(ORDERS))
def test_event_orders(name: str) -> None:
    events, expected = ORDERS[name]
    assert drive(events) == expected


def test_an_end_when_no_transfer_rings_is_never_held() -> None:
    assert drive([Ev("end", "e1")], ringing=False) == [R]


@pytest.mark.parametrize(
    ("suspended", "pending", "ended", "expected"),
    [
        (True, True, False, Action.RESUME_SUSPENDED),
        (True, False, False, Action.REPLAY),  # resumed since: the reply stands
        (True, True, True, Action.REPLAY),  # ended meanwhile: nothing to carry on
        (False, True, False, Action.REPLAY),
    ],
)
def test_a_redelivered_suspended_turn_is_carried_on_only_while_it_waits(
    suspended: bool, pending: bool, ended: bool, expected: Action
) -> None:
    book = Bookkeeping().remember("e1", SeenReply((), 1, suspended=suspended))
    assert replay_of(book, Delivery(event_id="e1", inbound=True), saved_pending=pending, saved_ended=ended) is expected
    # a continuation of the delivery itself is never a replay
    assert replay_of(book, Delivery(event_id="e1", continuation=True), saved_pending=pending, saved_ended=ended) is None


def test_a_continuation_already_resumed_elsewhere_is_answered_from_the_stored_reply() -> None:
    book = Bookkeeping().remember("e1", SeenReply((), 1))
    assert decide(book, Delivery(event_id="e1", continuation=True), pending=False, waiting_for="caller")[0] is Action.REPLAY
    assert decide(book, Delivery(event_id="e1", continuation=True), pending=True, waiting_for="action")[0] is Action.RUN


@pytest.mark.parametrize(
    ("upto", "ahead", "number", "marks", "gap"),
    [
        (0, (), 1, (1, ()), False),
        (1, (), 3, (1, (3,)), True),
        (1, (3,), 2, (3, ()), False),
        (3, (), 2, (3, ()), False),  # an old number: no gap, nothing changes
        (1, (3, 5), 2, (3, (5,)), False),
    ],
)
def test_sequence_marks(upto: int, ahead: tuple[int, ...], number: int, marks: tuple[int, tuple[int, ...]], gap: bool) -> None:
    seq, found = Sequence(upto, ahead).note(number)
    assert ((seq.upto, seq.ahead), found) == (marks, gap)


def test_bookkeeping_round_trips_through_the_saved_json_and_keeps_the_newest_replies() -> None:
    book = hold(Bookkeeping(turn=3, seq=Sequence(2, (4,))), {"type": "endOfConversation"}, "e9", T0, GRACE)
    for n in range(SEEN_EVENTS_KEPT + 3):
        book = book.remember(f"s{n}", SeenReply(({"kind": "Say", "text": str(n)},), n, suspended=n % 2 == 0))
    again = Bookkeeping.from_json(book.to_json())
    assert again == book
    assert len(again.seen) == SEEN_EVENTS_KEPT and "s0" not in again.seen and f"s{SEEN_EVENTS_KEPT + 2}" in again.seen
    assert again.held == HeldEnd({"type": "endOfConversation"}, "e9", T0, T0 + dt.timedelta(seconds=GRACE))


def test_a_held_end_without_times_is_due_at_once() -> None:
    held = Bookkeeping.from_json({"held": {"activity": {}, "event_id": None}}).held
    assert held is not None and held.due(T0)


def test_release_time_and_turn_numbers() -> None:
    held = HeldEnd({}, "e1", T0, T0 + dt.timedelta(seconds=GRACE))
    later = T0 + dt.timedelta(seconds=30)
    assert release_time(held, now=later, by_sweep=True, last_activity=T0 - dt.timedelta(seconds=9)) == T0
    assert release_time(held, now=later, by_sweep=True, last_activity=T0 + dt.timedelta(seconds=2)) == T0 + dt.timedelta(seconds=2)
    assert release_time(held, now=later, by_sweep=False, last_activity=T0) == later
    assert [next_turn(4, continuation=c, ignored=i) for c, i in [(False, False), (True, False), (False, True)]] == [5, 4, 4]
