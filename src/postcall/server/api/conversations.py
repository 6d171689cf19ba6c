"""`/api/conversations`: calls with their status, end reason, transcript, variables and end record."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from postcall.server.api.deps import (
    ERROR_RESPONSES,
    MAX_ID_LENGTH,
    NOT_FOUND_RESPONSE,
    SAFE_TEXT,
    api_auth,
    as_utc,
    not_found,
    store_of,
)
from postcall.server.api.models import (
    ConversationDetail,
    ConversationPage,
    ConversationStatus,
)
from postcall.server.api.views import conversation_detail, conversation_summary
from postcall.store import Store
from postcall.vocabulary import EndReason

router = APIRouter(prefix="/api", tags=["conversations"], dependencies=[Depends(api_auth)])

MAX_PAGE = 500


def list_page(
    store: Store,
    *,
    status: str | None,
    end_reason: str | None,
    caller: str | None,
    started_after: dt.datetime | None,
    started_before: dt.datetime | None,
    limit: int,
    offset: int,
) -> ConversationPage:
    found = store.list_conversations(
        status=status, end_reason=end_reason, caller=caller,
        started_after=as_utc(started_after), started_before=as_utc(started_before),
        limit=limit + 1, offset=offset,
    )
    more = len(found) > limit
    return ConversationPage(
        items=[conversation_summary(c) for c in found[:limit]],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if more else None,
    )


def check_range(after: dt.datetime | None, before: dt.datetime | None) -> None:
    if after is not None and before is not None and as_utc(after) > as_utc(before):  # type: ignore[operator]
        raise HTTPException(
            status_code=422,
            detail="Bad query parameter 'started_before': it is earlier than 'started_after'.",
        )


@router.get("/conversations", response_model=ConversationPage, responses=ERROR_RESPONSES,
            summary="List conversations, newest first")
async def list_conversations(
    request: Request,
    status: Annotated[ConversationStatus | None, Query(description="live or ended")] = None,
    end_reason: Annotated[EndReason | None, Query(description="System.Conversation.EndReason")] = None,
    caller: Annotated[str | None, Query(max_length=200, pattern=SAFE_TEXT,
                                        description="The caller's number or id, exactly")] = None,
    started_after: Annotated[dt.datetime | None, Query(description="ISO 8601; UTC if no offset")] = None,
    started_before: Annotated[dt.datetime | None, Query(description="ISO 8601; UTC if no offset")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> ConversationPage:
    check_range(started_after, started_before)
    return await run_in_threadpool(
        list_page, store_of(request), status=status, end_reason=end_reason, caller=caller,
        started_after=started_after, started_before=started_before, limit=limit, offset=offset,
    )


def detail(store: Store, conversation_id: str) -> ConversationDetail | None:
    conv = store.get_conversation(conversation_id)
    if conv is None:
        return None
    history = store.history(conversation_id)
    runs = store.list_runs(conversation_id=conversation_id, limit=None)
    return conversation_detail(conv, history, runs)


@router.get("/conversations/{conversation_id:path}", response_model=ConversationDetail,
            responses={**ERROR_RESPONSES, **NOT_FOUND_RESPONSE},
            summary="One conversation: transcript, activities, variables, end record, runs")
async def get_conversation(
    request: Request,
    conversation_id: Annotated[str, Path(max_length=MAX_ID_LENGTH, pattern=SAFE_TEXT)],
) -> ConversationDetail:
    found = await run_in_threadpool(detail, store_of(request), conversation_id)
    if found is None:
        raise not_found("conversation", conversation_id)
    return found
