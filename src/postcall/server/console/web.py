"""The console's plumbing: templates, the session cookie, login checks and CSRF checks."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from postcall.safetext import bad_character, clean_text
from postcall.server.auth import SESSION_COOKIE, Session, SessionCodec
from postcall.server.security import is_https

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

NAV_ITEMS = (
    ("dashboard", "Dashboard", "/console"),
    ("conversations", "Conversations", "/console/conversations"),
    ("runs", "Post-call runs", "/console/runs"),
    ("topics", "Topics", "/console/topics"),
    ("api", "API", "/docs"),
)

FLASHES: Mapping[str, tuple[str, str]] = {
    "redriven": ("ok", "Redrive started: the run resumes from its failed step."),
    "not-failed": ("info", "That run is not failed, so there is nothing to redrive."),
    "csrf": ("bad", "The form expired; please try again."),
    "logged-out": ("info", "You are logged out."),
}

LIVE_REFRESH_SECONDS = 3


def codec_of(request: Request) -> SessionCodec:
    codec: SessionCodec = request.app.state.session_codec
    return codec


def current_session(request: Request) -> tuple[Session, bool]:
    """The request's session, and whether it is new (and so must be set as a cookie)."""
    codec = codec_of(request)
    session = codec.decode(request.cookies.get(SESSION_COOKIE))
    if session is None:
        return codec.new_session(), True
    return session, False


def set_session_cookie(request: Request, response: Response, session: Session) -> None:
    codec = codec_of(request)
    response.set_cookie(
        SESSION_COOKIE,
        codec.encode(session),
        max_age=codec.max_age,
        path="/console",
        httponly=True,
        samesite="lax",
        secure=is_https(request.scope, request.app.state.public_base_url),
    )


def base_path(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def safe_next(target: str | None) -> str:
    """A redirect target after login: only a path inside the console, never another site."""
    if not target:
        return "/console"
    parsed = urllib.parse.urlsplit(target)
    if parsed.scheme or parsed.netloc or not parsed.path.startswith("/console"):
        return "/console"
    if target.startswith("//") or "\\" in target:
        return "/console"
    return target


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    query = urllib.parse.urlencode({"next": target})
    return RedirectResponse(f"{base_path(request)}/console/login?{query}", status_code=303)


def render(
    request: Request,
    session: Session,
    template: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
    set_cookie: bool = False,
) -> HTMLResponse:
    """A page of the console, with the layout's shared context."""
    runtime = request.app.state.runtime
    agent = runtime.agent
    flash_key = request.query_params.get("flash", "")
    flashes = [FLASHES[flash_key]] if flash_key in FLASHES else []
    full = {
        "base": base_path(request),
        "nav_items": NAV_ITEMS,
        "active": "",
        "csrf_token": session.csrf,
        "agent_name": agent.name if agent is not None else None,
        "live_count": 0,
        "refresh": 0,
        "flashes": flashes,
        **context,
    }
    if session.authenticated and "live_count" not in context:
        full["live_count"] = runtime.live_conversations()
    response = templates.TemplateResponse(request, template, full, status_code=status_code)
    response.headers["cache-control"] = "no-store"
    if set_cookie:
        set_session_cookie(request, response, session)
    return response


async def form_of(request: Request) -> dict[str, str]:
    """The posted form's text fields (repeated keys ignored).

    A field holding a NUL is refused with 400 naming it (safetext.py: what an operator typed
    is refused, not altered).  Multipart bodies never get here (server/edges.py).
    """
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    for name, value in fields.items():
        problem = bad_character(name) or bad_character(value)
        if problem is not None:
            raise HTTPException(status_code=400, detail=f"Bad form field {clean_text(name)[:40]!r}: it holds {problem}.")
    return fields
