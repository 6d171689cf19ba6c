"""A round-robin HTTP load balancer on 127.0.0.1, standing in for Caddy or nginx in the tests.

Each request goes to the next backend in turn (so one call's webhooks alternate between the
servers); a backend that refuses the connection is skipped, as a proxy with passive health
checks does, and the request goes to the next one.  `served` counts requests per backend.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

import httpx

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host", "content-length"}


class Balancer:
    def __init__(self, backends: Sequence[str]) -> None:
        self.backends = list(backends)
        self.served: Counter[str] = Counter()
        self._turn = itertools.cycle(range(len(self.backends)))
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=60, trust_env=False)
        balancer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                response = balancer.forward(self.command, self.path, headers, body)
                self.send_response(response.status_code)
                for name, value in response.headers.items():
                    if name.lower() not in HOP_BY_HOP and name.lower() != "content-encoding":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.content)))
                self.end_headers()
                self.wfile.write(response.content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> httpx.Response:
        last: Exception | None = None
        with self._lock:
            first = next(self._turn)
        for i in range(len(self.backends)):
            backend = self.backends[(first + i) % len(self.backends)]
            try:
                response = self._client.request(method, backend + path, headers=headers, content=body)
            except httpx.TransportError as exc:  # down: the next one
                last = exc
                continue
            with self._lock:
                self.served[backend] += 1
            return response
        raise RuntimeError(f"every backend is down: {last}")

    def __enter__(self) -> Balancer:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()
