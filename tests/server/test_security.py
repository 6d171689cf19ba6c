"""Authentication on every admin route, the console's login and CSRF, security headers."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from postcall.server.auth import SESSION_COOKIE
from postcall.store import Store
from server.conftest import ADMIN_TOKEN
from server.world import record_call

PUBLIC = {"/healthz", "/readyz", "/openapi.json", "/docs", "/console/login", "/console/logout"}


def _protected_api_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every operation the OpenAPI document lists, but the public ones, with sample ids."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        if path in PUBLIC:
            continue
        for method in operations:
            found.append((method.upper(), path.replace("{conversation_id}", "CA1")
                          .replace("{run_id}", "postcall:CA1:T")))
    return found


def test_every_api_route_is_covered_by_this_test(app: FastAPI) -> None:
    routes = _protected_api_routes(app)
    assert ("GET", "/api/conversations") in routes
    assert ("POST", "/api/runs/postcall:CA1:T/redrive") in routes
    assert ("GET", "/metrics") in routes
    assert len(routes) == 8


@pytest.mark.parametrize("authorization", [
    None, "", "Bearer", "Bearer ", "Bearer wrong-token", f"Bearer {ADMIN_TOKEN}x", f"Basic {ADMIN_TOKEN}",
    f"bearer  {ADMIN_TOKEN[:-1]}", "Bearer \u00e9\u00e9",
])
def test_every_api_route_answers_401_without_the_right_token(
    app: FastAPI, anon: TestClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization.encode("utf-8")}
    for method, path in _protected_api_routes(app):
        response = anon.request(method, path, headers=headers)
        assert response.status_code == 401, (method, path, authorization, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "token" in response.json()["detail"]


def test_the_right_token_opens_every_api_route(app: FastAPI, client: TestClient) -> None:
    for method, path in _protected_api_routes(app):
        response = client.request(method, path)
        assert response.status_code in (200, 202, 404), (method, path, response.text)


def test_health_and_openapi_need_no_token(anon: TestClient) -> None:
    assert anon.get("/healthz").json() == {"status": "ok"}
    assert anon.get("/openapi.json").status_code == 200
    assert anon.get("/docs").status_code == 200


@pytest.mark.parametrize("path", ["/api/conversations", "/console", "/console/login", "/healthz", "/nope",
                                  "/console/static/console.css"])
def test_security_headers_on_every_response(anon: TestClient, path: str) -> None:
    response = anon.get(path)
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "strict-transport-security" not in response.headers  # plain http here


def test_hsts_and_secure_cookies_when_served_over_https(app: FastAPI) -> None:
    with TestClient(app, base_url="https://admin.example", follow_redirects=False) as https:
        response = https.get("/console/login")
        assert response.headers["strict-transport-security"].startswith("max-age=")
        cookie = response.headers["set-cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def _login(anon: TestClient, token: str = ADMIN_TOKEN, next_url: str = "/console") -> object:
    page = anon.get("/console/login", params={"next": next_url})
    return anon.post("/console/login", data={"csrf_token": _csrf(page.text), "token": token, "next": next_url})


def test_the_console_redirects_to_login_and_back(anon: TestClient) -> None:
    response = anon.get("/console/runs?status=failed")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=%2Fconsole%2Fruns%3Fstatus%3Dfailed"
    for path in ("/console", "/console/conversations", "/console/conversations/x", "/console/runs/x",
                 "/console/topics"):
        assert anon.get(path).status_code == 303, path
    assert anon.post("/console/runs/x/redrive").status_code == 303

    done = _login(anon, next_url="/console/runs?status=failed")
    assert done.status_code == 303 and done.headers["location"] == "/console/runs?status=failed"  # type: ignore[attr-defined]
    cookie = done.headers["set-cookie"]  # type: ignore[attr-defined]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie
    assert anon.get("/console/runs").status_code == 200


def test_a_wrong_token_is_refused_and_sets_no_session(anon: TestClient) -> None:
    response = _login(anon, token="wrong")
    assert response.status_code == 401  # type: ignore[attr-defined]
    assert "not the admin token" in response.text  # type: ignore[attr-defined]
    assert anon.get("/console").status_code == 303


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x", "/api/runs", "javascript:x",
                                      "/console\\@evil"])
def test_login_never_redirects_off_the_console(anon: TestClient, next_url: str) -> None:
    response = _login(anon, next_url=next_url)
    assert response.headers["location"] == "/console"  # type: ignore[attr-defined]


def test_login_without_the_csrf_token_is_refused(anon: TestClient) -> None:
    anon.get("/console/login")
    response = anon.post("/console/login", data={"token": ADMIN_TOKEN, "csrf_token": "forged"})
    assert response.status_code == 400
    assert anon.get("/console").status_code == 303
    # No session cookie at all (a cross-site form): refused as well.
    anon.cookies.clear()
    response = anon.post("/console/login", data={"token": ADMIN_TOKEN, "csrf_token": "x"})
    assert response.status_code == 400


def test_a_forged_or_tampered_session_cookie_is_not_a_login(anon: TestClient) -> None:
    anon.cookies.set(SESSION_COOKIE, "eyJjIjoieCIsImEiOnRydWUsInQiOjk5OTk5OTk5OTl9.AAAA", path="/console")
    assert anon.get("/console").status_code == 303


def test_redrive_from_the_console_needs_the_csrf_token(anon: TestClient, store: Store) -> None:
    record_call(store, "CA-csrf")
    _login(anon)
    response = anon.post("/console/runs/postcall:CA-csrf:T/redrive", data={"next": "/console/runs"})
    assert response.status_code == 303
    assert response.headers["location"] == "/console/runs?flash=csrf"
    page = anon.get("/console/runs")
    response = anon.post("/console/runs/postcall:CA-csrf:T/redrive",
                         data={"next": "/console/runs", "csrf_token": _csrf(page.text)})
    assert response.status_code == 404  # the token was right; the run does not exist


def test_logout_ends_the_session(anon: TestClient) -> None:
    _login(anon)
    page = anon.get("/console")
    response = anon.post("/console/logout", data={"csrf_token": _csrf(page.text)})
    assert response.status_code == 303
    assert anon.get("/console").status_code == 303


def test_channel_routes_are_not_behind_the_admin_token(runtime: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi import APIRouter

    from postcall.server.app import create_app
    from postcall.server.auth import TOKEN_ENV

    channels = APIRouter()

    @channels.post("/channels/echo")
    async def echo() -> dict[str, str]:
        return {"ok": "yes"}

    monkeypatch.setenv(TOKEN_ENV, ADMIN_TOKEN)
    runtime.channel_router = channels  # type: ignore[attr-defined]
    with TestClient(create_app(runtime)) as c:  # type: ignore[arg-type]
        assert c.post("/channels/echo").json() == {"ok": "yes"}
