"""`/api/runs`: post-call runs step by step (secrets redacted), and the redrive of a failed run."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from postcall.server.api.deps import (
    ERROR_RESPONSES,
    MAX_ID_LENGTH,
    NOT_FOUND_RESPONSE,
    SAFE_TEXT,
    api_auth,
    not_found,
    store_of,
)
from postcall.server.api.models import Problem, RedriveOut, RunDetail, RunPage
from postcall.server.api.summary import run_counts
from postcall.server.api.views import run_detail, run_summary
from postcall.store import RunNotFoundError, RunNotRedrivableError, Store
from postcall.topics import Agent
from postcall.vocabulary import RunStatus

router = APIRouter(prefix="/api", tags=["runs"], dependencies=[Depends(api_auth)])

MAX_PAGE = 500
RunId = Annotated[str, Path(max_length=MAX_ID_LENGTH, pattern=SAFE_TEXT,
                            description="postcall:<conversation id>:<topic>")]


def list_page(
    store: Store, *, status: str | None, conversation_id: str | None, topic: str | None,
    limit: int, offset: int,
) -> RunPage:
    found = store.list_runs(
        status=status, conversation_id=conversation_id, topic=topic, limit=limit + 1, offset=offset
    )
    more = len(found) > limit
    return RunPage(
        items=[run_summary(r) for r in found[:limit]],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if more else None,
        counts=run_counts(store.count_runs()),
    )


@router.get("/runs", response_model=RunPage, responses=ERROR_RESPONSES,
            summary="List post-call runs, newest first")
async def list_runs(
    request: Request,
    status: Annotated[RunStatus | None, Query()] = None,
    conversation_id: Annotated[str | None, Query(max_length=MAX_ID_LENGTH, pattern=SAFE_TEXT)] = None,
    topic: Annotated[str | None, Query(max_length=200, pattern=SAFE_TEXT)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> RunPage:
    return await run_in_threadpool(
        list_page, store_of(request), status=status, conversation_id=conversation_id,
        topic=topic, limit=limit, offset=offset,
    )


def _detail(store: Store, run_id: str, agent: Agent | None = None) -> RunDetail | None:
    run = store.get_run(run_id, with_steps=True)
    return None if run is None else run_detail(run, agent)


@router.post("/runs/{run_id:path}/redrive", response_model=RedriveOut, status_code=202,
             responses={**ERROR_RESPONSES, **NOT_FOUND_RESPONSE,
                        409: {"model": Problem, "description": "The run is not failed."}},
             summary="Resume a failed run from its failed step")
async def redrive_run(request: Request, run_id: RunId) -> RedriveOut:
    return await run_in_threadpool(redrive, store_of(request), run_id)


def redrive(store: Store, run_id: str) -> RedriveOut:
    """Redrive `run_id`; 404 if unknown, 409 if it is not failed."""
    try:
        result = store.redrive(run_id)
    except RunNotFoundError:
        raise not_found("post-call run", run_id) from None
    except RunNotRedrivableError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    run = store.get_run(run_id, with_steps=False)
    status = run.status if run is not None else "pending"
    return RedriveOut(
        run_id=result.run_id,
        from_step=result.from_step,
        status=status,
        message=f"Run {run_id!r} resumes from step {result.from_step}; earlier steps are not repeated.",
    )


@router.get("/runs/{run_id:path}", response_model=RunDetail,
            responses={**ERROR_RESPONSES, **NOT_FOUND_RESPONSE},
            summary="One post-call run with each step, attempt, request and response")
async def get_run(request: Request, run_id: RunId) -> RunDetail:
    found = await run_in_threadpool(_detail, store_of(request), run_id, getattr(request.app.state.runtime, "agent", None))
    if found is None:
        raise not_found("post-call run", run_id)
    return found
