"""One HTTP client factory (`actions.http.http_client`) for every caller of the action layer.

A proxy variable in the environment must not reroute action requests: the host check saw the
destination, not a proxy.  The in-process runner (`chat`, `call`, the harness) and the knowledge
sync used to build their own clients that read HTTP(S)_PROXY.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from postcall.actions import ActionRequest
from postcall.actions.http import http_client
from postcall.actions.inprocess import InProcessActions
from postcall.actions.settings import ActionSettings

SRC = Path(__file__).resolve().parents[2] / "src" / "postcall"


@pytest.fixture
def server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_the_factory_ignores_proxy_variables_and_follows_no_redirects(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    client = http_client()
    assert client.follow_redirects is False
    assert client._trust_env is False  # httpx keeps it private; the behaviour is checked below
    assert client.timeout.read is not None


def test_in_process_actions_are_not_rerouted_by_a_proxy_variable(monkeypatch: pytest.MonkeyPatch, server: str) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there: a proxied request fails
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    settings = ActionSettings(allowed_hosts=("127.0.0.1",))
    actions = InProcessActions(lambda _topic: settings)
    try:
        result = actions.execute(ActionRequest(
            kind="http", node_id="n", topic="t", conversation_id="c", idempotency_key="c:t:n",
            payload={"method": "GET", "url": server + "/"},
        ))
    finally:
        actions.close()
    assert (result.ok, result.status_code, result.body) == (True, 200, "ok"), result.error


def test_only_the_factory_builds_an_async_client() -> None:
    builders = sorted(
        str(path.relative_to(SRC)) for path in SRC.rglob("*.py")
        if "httpx.AsyncClient(" in path.read_text(encoding="utf-8")
    )
    assert builders == ["actions/http.py"]
