"""The console's login and logout: the admin token in a form, a signed session cookie out.

Wrong tokens are throttled per address and token prefix (server/throttle.py: 429 with
Retry-After); logging out revokes the session on the server (server/auth.py).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from postcall.server.auth import SESSION_COOKIE, AdminAuth
from postcall.server.console.web import (
    base_path,
    codec_of,
    current_session,
    form_of,
    render,
    safe_next,
    set_session_cookie,
)
from postcall.server.throttle import LoginThrottle

router = APIRouter(include_in_schema=False)


@router.get("/console/login")
async def login_page(request: Request) -> Response:
    session, new = current_session(request)
    if session.authenticated:
        return RedirectResponse(base_path(request) + safe_next(request.query_params.get("next")), 303)
    return render(
        request, session, "login.html",
        {"title": "Sign in", "next": safe_next(request.query_params.get("next")), "error": None},
        set_cookie=new,
    )


@router.post("/console/login")
async def login(request: Request) -> Response:
    session, new = current_session(request)
    form = await form_of(request)
    target = safe_next(form.get("next"))
    if new or not session.csrf_matches(form.get("csrf_token")):
        # No session cookie came back (or a forged form): show the form again with a new one.
        return render(
            request, session, "login.html",
            {"title": "Sign in", "next": target,
             "error": "Your sign-in form expired; please enter the token again."},
            status_code=400, set_cookie=True,
        )
    auth: AdminAuth = request.app.state.admin_auth
    throttle: LoginThrottle = request.app.state.login_throttle
    client = request.client.host if request.client else None
    token = form.get("token", "").strip()
    wait = throttle.retry_after(client, token)
    if wait is not None:
        refused = render(
            request, session, "login.html",
            {"title": "Sign in", "next": target,
             "error": f"Too many wrong tokens; try again in {wait} seconds."},
            status_code=429,
        )
        refused.headers["Retry-After"] = str(wait)
        return refused
    if not auth.verify(token):
        throttle.failed(client, token)
        return render(
            request, session, "login.html",
            {"title": "Sign in", "next": target, "error": "That token is not the admin token."},
            status_code=401,
        )
    throttle.succeeded(client)
    codec = codec_of(request)
    response = RedirectResponse(base_path(request) + target, status_code=303)
    set_session_cookie(request, response, session.logged_in(int(codec.now()), auth.fingerprint))
    return response


@router.post("/console/logout")
async def logout(request: Request) -> Response:
    session, _ = current_session(request)
    form = await form_of(request)
    if session.authenticated and not session.csrf_matches(form.get("csrf_token")):
        return RedirectResponse(base_path(request) + "/console?flash=csrf", status_code=303)
    if session.authenticated:
        codec_of(request).revoke(session)  # the cookie is refused from now on, wherever it is kept
    response = RedirectResponse(
        base_path(request) + "/console/login?flash=logged-out", status_code=303
    )
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response
