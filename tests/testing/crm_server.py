"""A small real CRM HTTP server on 127.0.0.1 for tests (threaded http.server, in memory).

GET/PATCH /cases/{number}, POST /call-outcomes, GET /requests.  PATCH honours Idempotency-Key:
a repeated key returns the first response and changes nothing.  `fail(path, status, times)`
makes the next requests to a path fail, for error-handling tests.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SEED_CASES = {
    "12345": {"number": "12345", "status": "Open", "subject": "Router keeps rebooting"},
    "4242": {"number": "4242", "status": "Waiting on customer", "subject": "Refund request"},
}


@dataclass
class CrmState:
    cases: dict[str, dict[str, Any]] = field(default_factory=lambda: json.loads(json.dumps(SEED_CASES)))
    requests: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    seen_keys: dict[str, tuple[int, Any]] = field(default_factory=dict)
    failures: dict[str, list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class CrmServer:
    def __init__(self) -> None:
        self.state = CrmState()
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                with state.lock:
                    state.requests.append(
                        {
                            "method": method,
                            "path": self.path,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": raw,
                        }
                    )
                    planned = state.failures.get(self.path)
                    if planned:
                        self._send(planned.pop(0), {"error": "planned failure"})
                        return
                    key = self.headers.get("Idempotency-Key")
                    if method in ("PATCH", "POST") and key and key in state.seen_keys:
                        status, body = state.seen_keys[key]
                        self._send(status, body)
                        return
                    status, body = self._route(method, raw)
                    if method in ("PATCH", "POST") and key and status < 500:
                        state.seen_keys[key] = (status, body)
                self._send(status, body)

            def _route(self, method: str, raw: str) -> tuple[int, Any]:
                parts = [p for p in self.path.split("?")[0].split("/") if p]
                if parts == ["requests"] and method == "GET":
                    return 200, state.requests[:-1]
                if parts == ["call-outcomes"] and method == "POST":
                    try:
                        body = json.loads(raw or "{}")
                    except ValueError:
                        return 400, {"error": "not JSON"}
                    state.outcomes.append(body)
                    return 201, {"outcomeId": f"oc-{len(state.outcomes)}"}
                if len(parts) == 2 and parts[0] == "cases":
                    case = state.cases.get(parts[1])
                    if case is None:
                        return 404, {"error": f"no case {parts[1]}"}
                    if method == "GET":
                        return 200, case
                    if method == "PATCH":
                        try:
                            changes = json.loads(raw or "{}")
                        except ValueError:
                            return 400, {"error": "not JSON"}
                        case.update(changes)
                        case["updates"] = case.get("updates", 0) + 1
                        return 200, case
                return 404, {"error": "no route"}

            def do_GET(self) -> None:
                self._handle("GET")

            def do_PATCH(self) -> None:
                self._handle("PATCH")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_PUT(self) -> None:
                self._handle("PUT")

            def do_DELETE(self) -> None:
                self._handle("DELETE")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def start(self) -> CrmServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()

    def fail(self, path: str, status: int, times: int = 1) -> None:
        with self.state.lock:
            self.state.failures.setdefault(path, []).extend([status] * times)

    def requests(self, method: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        with self.state.lock:
            return [
                r for r in self.state.requests
                if (method is None or r["method"] == method) and (path is None or r["path"] == path)
            ]

    def case(self, number: str) -> dict[str, Any] | None:
        with self.state.lock:
            return self.state.cases.get(number)


@contextmanager
def running_crm() -> Iterator[CrmServer]:
    server = CrmServer().start()
    try:
        yield server
    finally:
        server.stop()
