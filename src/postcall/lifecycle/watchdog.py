"""The watchdog's sweep: end live conversations past their limits, release held ends, cheaply.

A sweep runs every second in `postcall serve`.  Reading and parsing the state of every live
conversation each time would cost more than the calls themselves at a few hundred live calls, so
the sweep reads only (id, version) of the live conversations and keeps, per conversation, the
version it last parsed and the next moment anything can be due (`Engine.next_deadline`, or a held
end's release time).  Only conversations that changed since, or whose moment has come, are read
and looked at again.  Another process changing a conversation changes its version, so the cache
is never stale for long: at most until the next sweep.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
import structlog

from postcall.engine.activity import Activity, ActivityType, ChannelEvent
from postcall.engine.engine import Engine
from postcall.engine.state import ConversationState
from postcall.store import Store
from postcall.store.schema import conversations

log = structlog.get_logger("postcall.lifecycle")

LIFECYCLE_KEY = "_lifecycle"
_BATCH = 500  # conversations read per query


def parse_time(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def held_due(held: dict[str, Any], now: dt.datetime) -> bool:
    until = parse_time(held.get("until"))
    return until is None or until <= now


class Watchdog:
    """Finds what is due among the live conversations of one store; `Sessions` acts on it."""

    def __init__(self, store: Store, engine: Engine) -> None:
        self.store = store
        self.engine = engine
        self._seen: dict[str, tuple[int, dt.datetime | None]] = {}  # id -> (version, next due)

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
        stale = []
        for cid, version in live:
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
            except Exception:  # a state we cannot read is reported, never crashes the sweep
                log.exception("watchdog_unreadable_state", conversation_id=cid)
                self._seen[cid] = (version, None)
                continue
            self._seen[cid] = (version, self.engine.next_deadline(state))
            if self.engine.watchdog_due(state, now) is not None:
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

