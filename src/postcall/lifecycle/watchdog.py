"""The watchdog's sweep: end live conversations past their limits, release held ends, cheaply.

A sweep runs every second in `postcall serve`.  Reading and parsing the state of every live
conversation each time would cost more than the calls themselves at a few hundred live calls, so
the sweep reads only (id, version) of the live conversations and keeps, per conversation, the
version it last parsed and the next moment anything can be due (`Engine.next_deadline`, or a held
end's release time).  Only conversations that changed since, or whose moment has come, are read
and looked at again.  Another process changing a conversation changes its version, so the cache
is never stale for long: at most until the next sweep.

One conversation never stalls the others: `Sessions.end_idle` acts on each due conversation on
its own, and one that raises is logged (`watchdog_conversation_failed`, with the traceback),
counted (`postcall_watchdog_failures`), shown in the console, and tried again after a backoff
that doubles from one second up to five minutes, while the sweep goes on to the next.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import structlog

from postcall.engine.activity import Activity, ActivityType, ChannelEvent
from postcall.engine.engine import Engine
from postcall.engine.state import ConversationState
from postcall.safetext import clean_text
from postcall.store import Store
from postcall.store.schema import conversations

log = structlog.get_logger("postcall.lifecycle")

LIFECYCLE_KEY = "_lifecycle"
_BATCH = 500  # conversations read per query
BACKOFF_FIRST_S = 1.0  # a failing conversation is tried again after 1, 2, 4 ... seconds
BACKOFF_MAX_S = 300.0  # ... and at least every five minutes
FAILURES_SHOWN = 200  # failing conversations remembered (the oldest are forgotten beyond this)


def parse_time(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def held_due(held: dict[str, Any], now: dt.datetime) -> bool:
    until = parse_time(held.get("until"))
    return until is None or until <= now


@dataclass(frozen=True, slots=True)
class WatchdogFailure:
    """A live conversation the watchdog could not act on: shown in the console and the metrics."""

    conversation_id: str
    attempts: int
    first_at: dt.datetime
    last_at: dt.datetime
    retry_at: dt.datetime
    error: str  # the exception's type and message (first 300 characters)


def backoff_s(attempts: int) -> float:
    """Seconds to wait before trying a conversation that failed `attempts` times in a row."""
    return float(min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** min(attempts - 1, 30)))


class Watchdog:
    """Finds what is due among the live conversations of one store; `Sessions` acts on it."""

    def __init__(self, store: Store, engine: Engine) -> None:
        self.store = store
        self.engine = engine
        self._seen: dict[str, tuple[int, dt.datetime | None]] = {}  # id -> (version, next due)
        self._failures: dict[str, WatchdogFailure] = {}
        self.failure_count = 0  # every failure since the process started (the metric)

    # -- failures ------------------------------------------------------------------------------

    def failed(self, conversation_id: str, error: BaseException, now: dt.datetime) -> WatchdogFailure:
        """Note that acting on a conversation raised: log it, count it, back off before the next try."""
        previous = self._failures.pop(conversation_id, None)
        attempts = 1 if previous is None else previous.attempts + 1
        delay = backoff_s(attempts)
        failure = WatchdogFailure(
            conversation_id=conversation_id,
            attempts=attempts,
            first_at=now if previous is None else previous.first_at,
            last_at=now,
            retry_at=now + dt.timedelta(seconds=delay),
            error=clean_text(f"{type(error).__name__}: {error}")[:300],
        )
        self._failures[conversation_id] = failure
        while len(self._failures) > FAILURES_SHOWN:
            self._failures.pop(next(iter(self._failures)))
        self.failure_count += 1
        self._seen.pop(conversation_id, None)
        log.error(
            "watchdog_conversation_failed", conversation_id=conversation_id, attempts=attempts,
            retry_in_s=delay, error=failure.error, exc_info=error,
        )
        return failure

    def succeeded(self, conversation_id: str) -> None:
        """The conversation was acted on without error: forget its failures."""
        failure = self._failures.pop(conversation_id, None)
        if failure is not None:
            log.info("watchdog_conversation_recovered", conversation_id=conversation_id, attempts=failure.attempts)

    def failures(self) -> list[WatchdogFailure]:
        """The live conversations the watchdog is failing on now, oldest failure first."""
        return sorted(self._failures.values(), key=lambda f: f.first_at)

    def _backing_off(self, conversation_id: str, now: dt.datetime) -> bool:
        failure = self._failures.get(conversation_id)
        return failure is not None and failure.retry_at > now

    # -- what is due ---------------------------------------------------------------------------

    def live_versions(self) -> list[tuple[str, int]]:
        query = sa.select(conversations.c.id, conversations.c.version).where(conversations.c.status == "live")
        with self.store.engine.connect() as conn:
            return [(str(row.id), int(row.version)) for row in conn.execute(query)]

    def states(self, ids: Sequence[str]) -> list[tuple[str, int, dict[str, Any] | None]]:
        out: list[tuple[str, int, dict[str, Any] | None]] = []
        with self.store.engine.connect() as conn:
            for start in range(0, len(ids), _BATCH):
                chunk = list(ids[start : start + _BATCH])
                query = sa.select(conversations.c.id, conversations.c.version, conversations.c.state).where(
                    conversations.c.id.in_(chunk), conversations.c.status == "live"
                )
                out.extend((str(r.id), int(r.version), r.state) for r in conn.execute(query))
        return out

    def due(self, now: dt.datetime) -> list[tuple[str, dict[str, Any] | None, ConversationState | None]]:
        """The live conversations to look at now: (id, held end or None, state or None).

        Runs in a worker thread (it queries the database).
        """
        live = self.live_versions()
        live_ids = {cid for cid, _ in live}
        for cid in [c for c in self._seen if c not in live_ids]:
            del self._seen[cid]
        for cid in [c for c in self._failures if c not in live_ids]:
            del self._failures[cid]  # ended (or removed) meanwhile: nothing is failing any more
        stale = []
        for cid, version in live:
            if self._backing_off(cid, now):
                continue
            cached = self._seen.get(cid)
            if cached is None or cached[0] != version or (cached[1] is not None and cached[1] <= now):
                stale.append(cid)
        found: list[tuple[str, dict[str, Any] | None, ConversationState | None]] = []
        for cid, version, raw in self.states(stale):
            if not raw or "conversation_id" not in raw:
                self._seen[cid] = (version, None)
                continue
            held = (raw.get(LIFECYCLE_KEY) or {}).get("held")
            if held:
                until = parse_time(held.get("until"))
                self._seen[cid] = (version, until)
                if held_due(held, now):
                    found.append((cid, held, None))
                continue
            try:
                state = ConversationState.from_json(raw)
                next_due = self.engine.next_deadline(state)
                is_due = self.engine.watchdog_due(state, now) is not None
            except Exception as exc:  # a state we cannot read is reported, never crashes the sweep
                self.failed(cid, exc, now)
                continue
            self._seen[cid] = (version, next_due)
            if is_due:
                found.append((cid, None, state))
        return found

    def forget(self, conversation_id: str) -> None:
        """Look at this conversation again at the next sweep."""
        self._seen.pop(conversation_id, None)


def watchdog_event(conversation_id: str, state: ConversationState, engine: Engine, now: dt.datetime) -> Activity | None:
    reason = engine.watchdog_due(state, now)
    if reason is None:
        return None
    return Activity(
        type=ActivityType.EVENT,
        id=f"watchdog:{conversation_id}:{reason}",
        timestamp=now,
        name=ChannelEvent.WATCHDOG,
        value={"reason": str(reason)},
        channel_id=state.channel_id,
    )

