"""An HTTP endpoint on 127.0.0.1 that never stops answering and never finishes in time.

Used by the total-deadline tests (tests/actions/test_total_deadline.py) and the remote
recognisers' timeout tests (tests/understanding/test_remote.py): a per-read timeout never fires
on it, only a deadline on the whole wait does."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class DripServer:
    """Answers every POST with 200, a Content-Length and a valid body sent one byte at a time,
    a byte every `pace` seconds, until the body is out or `stop` is set: an endpoint that is
    never silent long enough for a read timeout, and takes far longer than the deadline."""

    def __init__(self, body: bytes, pace: float = 0.05) -> None:
        self.body, self.pace = body, pace
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
                self.send_header("Content-Length", str(len(drip.body)))
                self.end_headers()
                try:
                    for byte in drip.body:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        drip.sent += 1
                        if drip.stop.wait(drip.pace):
                            return
                    drip.finished.set()
                except OSError:  # the client hung up: what a deadline does
                    return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slow"

    def __enter__(self) -> DripServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()
