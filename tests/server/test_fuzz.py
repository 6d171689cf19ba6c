"""Property tests: arbitrary methods, paths, headers, cookies and bodies never make the admin side answer 5xx."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from postcall.server.auth import SESSION_COOKIE
from postcall.store import RunSpec, Store
from server.conftest import ADMIN_TOKEN
from server.world import record_call

PATHS = [
    "/api/conversations", "/api/conversations/CA1", "/api/runs", "/api/runs/postcall:CA1:T",
    "/api/runs/postcall:CA1:T/redrive", "/api/topics", "/api/summary", "/metrics", "/healthz", "/readyz",
    "/console", "/console/login", "/console/logout", "/console/conversations", "/console/conversations/CA1",
    "/console/runs", "/console/runs/postcall:CA1:T", "/console/runs/postcall:CA1:T/redrive", "/console/topics",
    "/docs", "/openapi.json", "/console/static/console.css",
]
FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))

header_names = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,24}", fullmatch=True)
header_values = st.binary(max_size=80).map(lambda b: bytes(c for c in b if 32 <= c < 127 or c > 159))
auth_values = st.one_of(
    st.just(f"Bearer {ADMIN_TOKEN}".encode()), header_values,
    st.builds(lambda v: b"Bearer " + v, header_values),
)
segments = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
paths = st.one_of(
    st.sampled_from(PATHS),
    st.builds(lambda base, extra: base.rstrip("/") + "/" + quote(extra, safe=":/"), st.sampled_from(PATHS),
              segments),
)
queries = st.dictionaries(
    st.sampled_from(["status", "end_reason", "caller", "started_after", "started_before", "limit", "offset",
                     "window", "conversation_id", "topic", "next", "range", "flash", "x"]),
    st.one_of(segments, st.integers(-10**12, 10**12).map(str)), max_size=4,
)
bodies = st.one_of(
    st.binary(max_size=300),
    st.dictionaries(st.sampled_from(["token", "csrf_token", "next", "x"]), segments, max_size=3)
    .map(lambda d: "&".join(f"{k}={v}" for k, v in d.items()).encode("utf-8")),
)
content_types = st.sampled_from([None, "application/json", "application/x-www-form-urlencoded",
                                 "multipart/form-data", "multipart/form-data; boundary=x", "text/plain",
                                 "application/x-www-form-urlencoded; charset=bogus"])


def _world(store: Store) -> None:
    record_call(store, "CA1", started=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5),
                runs=[RunSpec(topic="T", program="scripted", input={})])


def test_arbitrary_requests_never_get_a_server_error(app: FastAPI, store: Store) -> None:
    _world(store)
    client = TestClient(app, raise_server_exceptions=True, follow_redirects=False)

    @FUZZ
    @given(method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]),
           path=paths, query=queries, body=bodies, content_type=content_types,
           auth=st.one_of(st.none(), auth_values),
           extra=st.dictionaries(header_names, header_values, max_size=4))
    def request(method: str, path: str, query: dict[str, str], body: bytes, content_type: str | None,
                auth: bytes | None, extra: dict[str, bytes]) -> None:
        headers = {k: v for k, v in extra.items()
                   if k.lower() not in ("content-length", "transfer-encoding", "host", "content-type")}
        if auth is not None:
            headers["Authorization"] = auth
        if content_type is not None:
            headers["Content-Type"] = content_type.encode()
        response = client.request(method, path, params=query, content=body, headers=headers)
        assert response.status_code < 500, (method, path, query, response.status_code, response.text[:300])

    request()


def test_arbitrary_session_cookies_and_forms_never_get_a_server_error(app: FastAPI, store: Store) -> None:
    _world(store)
    client = TestClient(app, raise_server_exceptions=True, follow_redirects=False)

    @FUZZ
    @given(cookie=st.text(st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters=";,\\\""),
                          max_size=200),
           path=st.sampled_from([p for p in PATHS if p.startswith("/console")]),
           form=st.dictionaries(st.sampled_from(["token", "csrf_token", "next"]), segments, max_size=3),
           post=st.booleans())
    def request(cookie: str, path: str, form: dict[str, str], post: bool) -> None:
        client.cookies.clear()
        client.cookies.set(SESSION_COOKIE, cookie, path="/console")
        response = client.post(path, data=form) if post else client.get(path)
        assert response.status_code < 500, (path, cookie, form, response.status_code, response.text[:300])

    request()
