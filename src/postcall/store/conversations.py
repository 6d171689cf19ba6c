"""Queries on conversations and their history, each on a connection the caller's transaction owns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from postcall.safetext import clean_json, clean_text
from postcall.store.errors import ConcurrentTurnError, ConversationNotFoundError
from postcall.store.records import ActivityRecord, Conversation, NewActivity
from postcall.store.schema import conversation_activities, conversations

C = conversations.c
A = conversation_activities.c


def to_conversation(row: sa.Row[Any]) -> Conversation:
    m = row._mapping
    return Conversation(
        id=m["id"],
        agent=m["agent"],
        channel=m["channel"],
        caller=m["caller"],
        status=m["status"],
        started_at=m["started_at"],
        ended_at=m["ended_at"],
        end_reason=m["end_reason"],
        end_record=m["end_record"],
        state=m["state"],
        version=int(m["version"]),
        updated_at=m["updated_at"],
    )


def insert(
    conn: sa.Connection,
    *,
    conversation_id: str,
    agent: str,
    channel: str,
    caller: str | None,
    started_at: dt.datetime,
    state: dict[str, Any] | None,
    now: dt.datetime,
) -> bool:
    """Insert a live conversation; False (and nothing written) if the id exists.

    One statement, INSERT ... ON CONFLICT DO NOTHING, so that two processes starting the same
    conversation at once (a provider's duplicate delivery reaching two servers) never collide.
    """
    values = dict(
        id=conversation_id,
        agent=agent,
        channel=channel,
        caller=None if caller is None else clean_text(caller)[:200],
        status="live",
        started_at=started_at,
        state=state,
        version=0,
        updated_at=now,
    )
    dialect = conn.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement: Any = (
            pg_insert(conversations).values(**values).on_conflict_do_nothing(index_elements=["id"]).returning(C.id)
        )
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = (
            sqlite_insert(conversations).values(**values).on_conflict_do_nothing(index_elements=["id"]).returning(C.id)
        )
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        if conn.execute(sa.select(C.id).where(C.id == conversation_id)).first() is not None:
            return False
        statement = conversations.insert().values(**values).returning(C.id)
    return conn.execute(statement).first() is not None


# Built once (the hot path of every turn and end; building costs more Python than running).
_GET = sa.select(conversations).where(C.id == sa.bindparam("_cid"))
_GET_FOR_UPDATE = _GET.with_for_update()
_LAST_SEQ = sa.select(sa.func.max(A.seq)).where(A.conversation_id == sa.bindparam("_cid"))
_END = sa.update(conversations).where(C.id == sa.bindparam("_cid"), C.status == "live")


def get(conn: sa.Connection, conversation_id: str, *, for_update: bool = False) -> Conversation | None:
    query = _GET_FOR_UPDATE if for_update and conn.dialect.name == "postgresql" else _GET
    row = conn.execute(query, {"_cid": conversation_id}).first()
    return None if row is None else to_conversation(row)


def require(conn: sa.Connection, conversation_id: str, *, for_update: bool = False) -> Conversation:
    found = get(conn, conversation_id, for_update=for_update)
    if found is None:
        raise ConversationNotFoundError(conversation_id)
    return found


def select_many(
    conn: sa.Connection,
    *,
    status: str | None = None,
    end_reason: str | None = None,
    caller: str | None = None,
    agent: str | None = None,
    started_after: dt.datetime | None = None,
    started_before: dt.datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Conversation]:
    query = sa.select(conversations)
    if status is not None:
        query = query.where(C.status == status)
    if end_reason is not None:
        query = query.where(C.end_reason == end_reason)
    if caller is not None:
        query = query.where(C.caller == caller)
    if agent is not None:
        query = query.where(C.agent == agent)
    if started_after is not None:
        query = query.where(C.started_at >= started_after)
    if started_before is not None:
        query = query.where(C.started_at < started_before)
    query = query.order_by(C.started_at.desc(), C.id).limit(limit).offset(offset)
    return [to_conversation(row) for row in conn.execute(query)]


def count(conn: sa.Connection, *, status: str | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(conversations)
    if status is not None:
        query = query.where(C.status == status)
    return int(conn.execute(query).scalar() or 0)


def append_activities(
    conn: sa.Connection, conversation_id: str, activities: Sequence[NewActivity], now: dt.datetime
) -> list[int]:
    """Append to the history with consecutive sequence numbers; the caller holds the conversation's lock."""
    if not activities:
        return []
    last = conn.execute(_LAST_SEQ, {"_cid": conversation_id}).scalar()
    seq = int(last or 0)
    rows: list[dict[str, Any]] = []
    seqs: list[int] = []
    for activity in activities:
        seq += 1
        seqs.append(seq)
        rows.append(
            {
                "conversation_id": conversation_id,
                "seq": seq,
                "direction": activity.direction,
                "type": activity.type,
                "activity": clean_json(activity.activity),  # no NUL or lone surrogate (safetext.py)
                "at": activity.at or now,
            }
        )
    conn.execute(conversation_activities.insert(), rows)
    return seqs


def history(conn: sa.Connection, conversation_id: str, *, after_seq: int = 0) -> list[ActivityRecord]:
    rows = conn.execute(
        sa.select(conversation_activities)
        .where(A.conversation_id == conversation_id, A.seq > after_seq)
        .order_by(A.seq)
    )
    return [
        ActivityRecord(
            conversation_id=r.conversation_id, seq=r.seq, direction=r.direction, type=r.type, activity=r.activity, at=r.at
        )
        for r in rows
    ]


def save_state(
    conn: sa.Connection,
    conversation_id: str,
    state: dict[str, Any],
    *,
    expected_version: int | None,
    now: dt.datetime,
) -> int:
    """Store the state after a turn and bump the version; ConcurrentTurnError if the version moved."""
    query = sa.update(conversations).where(C.id == conversation_id)
    if expected_version is not None:
        query = query.where(C.version == expected_version)
    result = conn.execute(query.values(state=state, version=C.version + 1, updated_at=now).returning(C.version))
    row = result.first()
    if row is None:
        current = conn.execute(sa.select(C.version).where(C.id == conversation_id)).scalar()
        if current is None:
            raise ConversationNotFoundError(conversation_id)
        raise ConcurrentTurnError(conversation_id, expected_version if expected_version is not None else -1, int(current))
    return int(row[0])


def mark_ended(
    conn: sa.Connection,
    conversation_id: str,
    *,
    end_record: dict[str, Any],
    ended_at: dt.datetime,
    end_reason: str | None,
    now: dt.datetime,
) -> bool:
    """Set the end once: True if this call ended it, False if it was already ended."""
    result = conn.execute(
        _END,
        {"_cid": conversation_id, "status": "ended", "ended_at": ended_at, "end_reason": end_reason, "end_record": end_record, "updated_at": now},
    )
    return result.rowcount == 1
