"""`/healthz` (the process answers), `/readyz` (database and executor ready), `/metrics` (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from postcall.server.api.deps import ERROR_RESPONSES, api_auth, store_of
from postcall.server.api.models import HealthOut, ReadyCheck, ReadyOut
from postcall.server.metrics import exposition
from postcall.store import Store, stats

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut, summary="The process is alive")
async def healthz() -> HealthOut:
    return HealthOut(status="ok")


def readiness(store: Store) -> ReadyOut:
    db_ok, db_detail = stats.database_ready(store)
    checks = {"database": ReadyCheck(ok=db_ok, detail=db_detail)}
    if db_ok:
        try:
            workers = stats.live_workers(store)
        except Exception as exc:  # the heartbeat table unreadable: not ready, say why
            checks["executor"] = ReadyCheck(ok=False, detail=f"Heartbeats unreadable ({type(exc).__name__}).")
        else:
            checks["executor"] = ReadyCheck(
                ok=workers > 0,
                detail=f"{workers} executor(s) with a fresh heartbeat." if workers
                else "No executor has sent a heartbeat recently; post-call runs would wait.",
            )
    else:
        checks["executor"] = ReadyCheck(ok=False, detail="Unknown: the database does not answer.")
    ready = all(c.ok for c in checks.values())
    return ReadyOut(status="ready" if ready else "not ready", checks=checks)


@router.get("/readyz", response_model=ReadyOut,
            responses={503: {"model": ReadyOut, "description": "Not ready; `checks` says why."}},
            summary="The database answers and an executor is running")
async def readyz(request: Request) -> Response:
    result = await run_in_threadpool(readiness, store_of(request))
    return JSONResponse(result.model_dump(mode="json"), status_code=200 if result.status == "ready" else 503)


@router.get("/metrics", dependencies=[Depends(api_auth)], responses={
    200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition format."},
    401: ERROR_RESPONSES[401],
}, summary="Prometheus metrics (needs the admin token)")
async def metrics(request: Request) -> Response:
    body, content_type = await run_in_threadpool(exposition, request.app.state.registry)
    return Response(body, media_type=content_type)
