"""What every request must be before any route sees it: clean URLs and small, expected bodies.

- A path or query parameter holding a NUL is refused with 400 naming it (PostgreSQL cannot
  compare such text, and no id or filter of ours holds one).  The admin API checks its own
  parameters (a pattern on each, 422 naming it), so `/api/` is left to it.  URLs cannot carry
  a lone surrogate: their percent-escapes are decoded as UTF-8 with replacement.
- Outside the channels' webhooks (which read, cap and check their own bodies against the
  provider's signature), a body is at most `max_body_bytes` (413 beyond it, read no further)
  and never multipart (415): the console posts small url-encoded forms and the API takes no
  uploads, so an unauthenticated client cannot make the server parse 40 MiB before the
  login's CSRF check.

Posted console forms are checked field by field in `console/web.py` (`form_of`).
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 64 * 1024
CHANNEL_PREFIX = "/channels/"
API_PREFIX = "/api/"


class InputGuardMiddleware:
    """Refuses NUL in URLs, oversized bodies and multipart bodies (module docstring)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = None if str(scope.get("path", "")).startswith(API_PREFIX) else url_problem(scope)
        if problem is not None:
            await _refuse(send, 400, problem)
            return
        if str(scope.get("path", "")).startswith(CHANNEL_PREFIX):
            await self.app(scope, receive, send)
            return
        headers = {name.lower(): value for name, value in scope.get("headers", [])}
        content_type = headers.get(b"content-type", b"").decode("latin-1").strip().lower()
        if content_type.startswith("multipart/"):
            await _refuse(send, 415, "Bad request body: multipart bodies are not accepted here; "
                                     "send application/x-www-form-urlencoded.")
            return
        declared = headers.get(b"content-length", b"").decode("latin-1").strip()
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await _refuse(send, 413, f"Bad request body: {declared} bytes; the limit is {self.max_body_bytes}.")
            return
        body, complete = await _read_capped(receive, self.max_body_bytes)
        if not complete:
            await _refuse(send, 413, f"Bad request body: more than {self.max_body_bytes} bytes.")
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: the disconnect message, when it comes

        await self.app(scope, replay, send)


def url_problem(scope: Scope) -> str | None:
    """Why the request's path or query cannot be taken (a NUL in it), or None."""
    if "\x00" in str(scope.get("path", "")):
        return "Bad path: it holds a NUL character (%00)."
    raw = scope.get("query_string", b"")
    if isinstance(raw, bytes) and raw and (b"%00" in raw or b"\x00" in raw):
        for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                shown = name.replace("\x00", "\\0")[:40]
                return f"Bad query parameter {shown!r}: it holds a NUL character (%00)."
    return None


async def _read_capped(receive: Receive, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), True  # the client went away; the app sees an empty body
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", False
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode("utf-8")
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
    ]})
    await send({"type": "http.response.body", "body": body})
