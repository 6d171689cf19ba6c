"""`execute_action(total_s=)`: the caller's whole wait is bounded, not only each read.

A real server on 127.0.0.1 answers 200 with a Content-Length and then sends its body a byte at a
time, never silent long enough for a per-read timeout: only a total deadline cuts it off."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from postcall.actions import ActionRequest
from postcall.actions.execute import execute_action
from postcall.actions.inprocess import InProcessActions
from postcall.actions.retry import RetryPolicy
from postcall.actions.settings import ActionSettings

BODY = b'{"ok": true}'.ljust(200)
SETTINGS = ActionSettings(retry=RetryPolicy(max_attempts=1), allowed_hosts=("127.0.0.1",), request_timeout_s=5)


class Drip:
    def __init__(self) -> None:
        self.sent = 0
        self.stop = threading.Event()
        self.finished = threading.Event()
        drip = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(BODY)))
                self.end_headers()
                try:
                    for byte in BODY:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        drip.sent += 1
                        if drip.stop.wait(0.05):  # the pace of the drip; the test waits on nothing
                            return
                    drip.finished.set()
                except OSError:
                    return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slow"


@pytest.fixture
def drip() -> Iterator[Drip]:
    server = Drip()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.stop.set()
    server.server.shutdown()
    server.server.server_close()


def post(url: str) -> ActionRequest:
    return ActionRequest(kind="http", node_id="n", topic="t", conversation_id="c", idempotency_key="c:t:n",
                         payload={"method": "POST", "url": url, "body": "{}", "content_type": "application/json"})


def test_execute_action_cuts_off_an_answer_that_trickles_in(drip: Drip) -> None:
    async def go() -> Any:
        async with httpx.AsyncClient(trust_env=False) as client:
            return await execute_action(post(drip.url), SETTINGS, http_client=client, total_s=0.5)

    result = asyncio.run(go())
    assert (result.ok, result.error_category) == (False, "timeout")
    assert "did not answer within 0.5 s in all" in (result.error or "")
    assert drip.sent > 0 and not drip.finished.is_set()  # cut off while the body was still coming


def test_in_process_actions_pass_the_total_deadline(drip: Drip) -> None:
    actions = InProcessActions(lambda _topic: SETTINGS, keep_calls=False)
    try:
        result = actions.execute(post(drip.url), total_s=0.5)
    finally:
        actions.close()
    assert (result.ok, result.error_category) == (False, "timeout")
    assert drip.sent > 0 and not drip.finished.is_set()
