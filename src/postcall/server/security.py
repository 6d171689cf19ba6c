"""Security headers on every response, and the one rule for telling that a request came over https.

The console loads only its own static files (no inline script, no CDN), so the
Content-Security-Policy can forbid inline scripts and every foreign origin outright.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

BASE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)

HSTS_HEADER = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


def is_https(scope: Scope, public_base_url: str | None = None) -> bool:
    """Whether the client sees this server over https.

    True when the connection itself is https (uvicorn sets the scheme from X-Forwarded-Proto only
    for trusted proxies) or when the configured public base URL is https (a TLS-terminating proxy
    in front of the server).
    """
    if scope.get("scheme") in ("https", "wss"):
        return True
    return bool(public_base_url and public_base_url.lower().startswith("https://"))


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp, *, public_base_url: str | None = None) -> None:
        self.app = app
        self.public_base_url = public_base_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(BASE_HEADERS)
        if is_https(scope, self.public_base_url):
            extra.append(HSTS_HEADER)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                message["headers"] = _merge(headers, extra)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _merge(
    headers: list[tuple[bytes, bytes]], extra: Iterable[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    present = {name.lower() for name, _ in headers}
    return headers + [(name, value) for name, value in extra if name not in present]
