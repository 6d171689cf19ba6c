"""Point 2 of issue 16: the address that was checked is the address connected to.

The host check resolved the name, then httpx resolved it again to connect: a DNS answer that
changed in between (DNS rebinding) reached an address the check would have refused.  Here the
checked resolution is the only one: the name does not resolve in the system's DNS at all, the
check's resolver says 127.0.0.1, and the request still reaches the real server on 127.0.0.1
with its original Host header.  And when the check refuses, nothing is sent.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from postcall.actions.execute import execute_action
from postcall.actions.retry import RetryPolicy
from postcall.actions.settings import ActionSettings
from postcall.actions.types import ActionRequest, ActionResult
from server.world import free_port, serve_in_thread

NAME = "crm.rebinding.invalid"  # .invalid never resolves (RFC 6761)
SEEN: list[str] = []


async def echo(request: Request) -> JSONResponse:
    SEEN.append(request.headers.get("host", ""))
    return JSONResponse({"host": request.headers.get("host")})


def _run(url: str, allowed: tuple[str, ...], answers: list[list[str]]) -> ActionResult:
    async def resolver(host: str, port: int) -> list[str]:
        return answers.pop(0) if answers else ["203.0.113.9"]  # a later answer would be elsewhere

    async def go() -> ActionResult:
        async with httpx.AsyncClient(trust_env=False, follow_redirects=False) as client:
            request = ActionRequest(kind="http", node_id="n", topic="t", conversation_id="c", idempotency_key="c:t:n",
                                    payload={"method": "GET", "url": url, "timeout_ms": 5000})
            settings = ActionSettings(retry=RetryPolicy(max_attempts=1), allowed_hosts=allowed)
            return await execute_action(request, settings, http_client=client, resolver=resolver)

    return asyncio.run(go())


def test_point2_the_request_goes_to_the_checked_address(tmp_path: Path) -> None:
    port = free_port()
    with serve_in_thread(Starlette(routes=[Route("/cases/1", echo)]), port):
        SEEN.clear()
        result = _run(f"http://{NAME}:{port}/cases/1", (f"{NAME}:{port}",), [["127.0.0.1"]])
        assert result.ok, result.error
        assert result.json == {"host": f"{NAME}:{port}"}  # the name, not the address, as Host
        assert SEEN == [f"{NAME}:{port}"]

        refused = _run(f"http://{NAME}:{port}/cases/1", ("*",), [["127.0.0.1"]])  # loopback needs its entry
        assert not refused.ok and refused.error_category == "refused_host"
        assert SEEN == [f"{NAME}:{port}"]  # nothing more was sent
