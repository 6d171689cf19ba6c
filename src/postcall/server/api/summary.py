"""The dashboard's figures: calls by end reason over time, post-call success, failures, the queue."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from postcall.server.api.deps import ERROR_RESPONSES, api_auth, runtime_of
from postcall.server.api.models import EndReasonBucket, RunCounts, SummaryOut
from postcall.server.console.chart import DEFAULT_RANGE, RangeName, bucket_ends, range_window
from postcall.server.runtime import ServerRuntime
from postcall.store import stats

router = APIRouter(prefix="/api", tags=["summary"], dependencies=[Depends(api_auth)])

Window = RangeName


def run_counts(raw: dict[str, int]) -> RunCounts:
    return RunCounts(**{k: v for k, v in raw.items() if k in RunCounts.model_fields})


def build_summary(runtime: ServerRuntime, window: Window, now: dt.datetime) -> SummaryOut:
    store = runtime.store
    start, end = range_window(window, now)
    ends = stats.ends_between(store, start, end)
    buckets = bucket_ends(ends, range_name=window, now=now)
    by_reason: dict[str, int] = {}
    for bucket in buckets:
        for reason, n in bucket.counts.items():
            by_reason[reason] = by_reason.get(reason, 0) + n
    finished = stats.runs_finished_since(store, start)
    ok, failed = finished.get("succeeded", 0), finished.get("failed", 0)
    counts = run_counts(store.count_runs())
    queue = stats.queue_stats(store, now)
    return SummaryOut(
        window=window,
        window_start=start,
        window_end=end,
        live_conversations=runtime.live_conversations(),
        ended_in_window=sum(by_reason.values()),
        ends_by_reason=by_reason,
        buckets=[EndReasonBucket(start=b.start, end=b.end, counts=dict(b.counts)) for b in buckets],
        runs_succeeded_in_window=ok,
        runs_failed_in_window=failed,
        success_rate=round(ok / (ok + failed), 4) if ok + failed else None,
        failed_runs=counts.failed,
        run_counts=counts,
        queue_depth=queue.depth,
        oldest_pending_age_seconds=round(queue.oldest_pending_age_s, 3),
        live_executors=stats.live_workers(store),
    )


@router.get("/summary", response_model=SummaryOut, responses=ERROR_RESPONSES,
            summary="Dashboard figures over a window")
async def summary(
    request: Request,
    window: Annotated[Window, Query(description="How far back: 24h, 7d or 30d.")] = DEFAULT_RANGE,
) -> SummaryOut:
    return await run_in_threadpool(build_summary, runtime_of(request), window, dt.datetime.now(dt.UTC))
