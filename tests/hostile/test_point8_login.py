"""Point 8 of issue 16: console login throttled, failures logged and counted, logout revokes,
unauthenticated bodies capped and multipart refused.

It used to answer 30 wrong tokens in a row with 401 each, accept the old cookie after logout,
and read a 40 MiB multipart body to `/console/login` before the CSRF check.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from hostile.world import ADMIN_TOKEN, World, world


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def w(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with world(tmp_path, sqlite_url, monkeypatch) as made:
        yield made


def _client(w: World, address: str) -> TestClient:
    return TestClient(w.client.app, client=(address, 40000), follow_redirects=False)


def _csrf(client: TestClient) -> str:
    page = client.get("/console/login")
    return page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def _login(client: TestClient, token: str) -> Any:
    return client.post("/console/login", data={"token": token, "csrf_token": _csrf(client), "next": "/console"})


def test_point8_wrong_tokens_are_throttled_with_retry_after(w: World) -> None:
    clock = Clock()
    w.client.app.state.login_throttle.clock = clock  # type: ignore[attr-defined]
    attacker = _client(w, "203.0.113.7")
    with capture_logs() as logs:
        statuses = [_login(attacker, f"guess-{n:04d}-wrong").status_code for n in range(30)]
    assert statuses[:5] == [401] * 5 and statuses[5:] == [429] * 25
    refused = _login(attacker, ADMIN_TOKEN)  # even the right token waits: the address is throttled
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "try again in" in refused.text
    failed = [e for e in logs if e["event"] == "login_failed"]
    assert len(failed) == 5 and all(e["client"] == "203.0.113.7" for e in failed)
    assert not any("guess" in str(v) for e in logs for v in e.values())  # never the token
    metrics = w.client.get("/metrics").text
    assert 'postcall_login_failures_total{via="console"} 5.0' in metrics
    assert 'postcall_login_throttled_total{via="console"} 26.0' in metrics

    neighbour = _client(w, "198.51.100.2")  # another address is not held up by this one
    assert _login(neighbour, ADMIN_TOKEN).status_code == 303
    clock.t += 61  # the window has passed
    assert _login(attacker, ADMIN_TOKEN).status_code == 303


def test_point8_guesses_sharing_a_token_prefix_are_throttled_across_addresses(w: World) -> None:
    statuses = [_login(_client(w, f"192.0.2.{n}"), f"pc_KNOWN_{n:04d}").status_code
                for n in range(8)]
    assert statuses == [401] * 5 + [429] * 3


def test_point8_logout_revokes_the_session_on_the_server(w: World, tmp_path: Path, sqlite_url: str) -> None:
    browser = _client(w, "192.0.2.50")
    assert _login(browser, ADMIN_TOKEN).status_code == 303
    stolen = dict(browser.cookies)
    assert browser.get("/console").status_code == 200
    page = browser.get("/console").text
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert browser.post("/console/logout", data={"csrf_token": csrf}).status_code == 303
    replay = _client(w, "192.0.2.51")
    replay.cookies.update(stolen)
    answer = replay.get("/console")
    assert answer.status_code == 303 and "/console/login" in answer.headers["location"]


def test_point8_unauthenticated_bodies_are_capped_and_multipart_refused(w: World) -> None:
    anon = _client(w, "192.0.2.60")
    csrf = _csrf(anon)
    multipart = anon.post("/console/login", data={"csrf_token": csrf}, files={"token": ("t.txt", b"x" * 1024)})
    assert multipart.status_code == 415
    declared = anon.post("/console/login", content=b"a=" + b"x" * (40 * 1024 * 1024),
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:
        for _ in range(200):
            yield b"x" * 1024

    streamed = anon.post("/console/login", content=chunks(),
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert streamed.status_code == 413
    assert anon.post("/api/runs/x/redrive", content=b"x" * (100 * 1024)).status_code == 413
