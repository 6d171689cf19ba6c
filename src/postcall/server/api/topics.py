"""`/api/topics`: the agent's topics with their triggers, conditions and load diagnostics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from postcall.server.api.deps import ERROR_RESPONSES, api_auth, runtime_of
from postcall.server.api.models import TopicsOut
from postcall.server.api.views import diagnostic_out, topics_of
from postcall.server.runtime import ServerRuntime

router = APIRouter(prefix="/api", tags=["topics"], dependencies=[Depends(api_auth)])


def build_topics(runtime: ServerRuntime) -> TopicsOut:
    agent = runtime.agent
    diagnostics = list(runtime.diagnostics)
    return TopicsOut(
        agent=agent.name if agent is not None else None,
        topics=topics_of(agent, diagnostics),
        diagnostics=[diagnostic_out(d) for d in diagnostics],
    )


@router.get("/topics", response_model=TopicsOut, responses=ERROR_RESPONSES,
            summary="The agent's topics, triggers, conditions and diagnostics")
async def list_topics(request: Request) -> TopicsOut:
    return build_topics(runtime_of(request))
