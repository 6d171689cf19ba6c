"""`execute_action(total_s=)`: the caller's whole wait is bounded, not only each read.

A real server on 127.0.0.1 answers 200 with a Content-Length and then sends its body a byte at a
time, never silent long enough for a per-read timeout: only a total deadline cuts it off."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from postcall.actions import ActionRequest
from postcall.actions.execute import execute_action
from postcall.actions.inprocess import InProcessActions
from postcall.actions.retry import RetryPolicy
from postcall.actions.settings import ActionSettings
from testing.drip_server import DripServer

BODY = b'{"ok": true}'.ljust(200)
SETTINGS = ActionSettings(retry=RetryPolicy(max_attempts=1), allowed_hosts=("127.0.0.1",), request_timeout_s=5)


@pytest.fixture
def drip() -> Iterator[DripServer]:
    with DripServer(BODY) as server:
        yield server


def post(url: str) -> ActionRequest:
    return ActionRequest(kind="http", node_id="n", topic="t", conversation_id="c", idempotency_key="c:t:n",
                         payload={"method": "POST", "url": url, "body": "{}", "content_type": "application/json"})


def test_execute_action_cuts_off_an_answer_that_trickles_in(drip: DripServer) -> None:
    async def go() -> Any:
        async with httpx.AsyncClient(trust_env=False) as client:
            return await execute_action(post(drip.url), SETTINGS, http_client=client, total_s=0.5)

    result = asyncio.run(go())
    assert (result.ok, result.error_category) == (False, "timeout")
    assert "did not answer within 0.5 s in all" in (result.error or "")
    assert drip.sent > 0 and not drip.finished.is_set()  # cut off while the body was still coming


def test_in_process_actions_pass_the_total_deadline(drip: DripServer) -> None:
    actions = InProcessActions(lambda _topic: SETTINGS, keep_calls=False)
    try:
        result = actions.execute(post(drip.url), total_s=0.5)
    finally:
        actions.close()
    assert (result.ok, result.error_category) == (False, "timeout")
    assert drip.sent > 0 and not drip.finished.is_set()
