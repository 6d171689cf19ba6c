"""End to end, as a user runs it: `postcall serve` with the example agent and the example CRM,
a call placed by the Twilio simulator, then the console in Debian's Chromium.

The caller asks for a case status, keys the case number and hangs up; the post-call topic
PATCHes the case, but the CRM answers 503 until its fault is cleared.  In the console: sign in,
see the finished call with its end reason, open the failed run, bring the CRM back, press
Redrive, see the run succeed and the case updated once.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from browser.conftest import screenshot
from server.world import REPO, free_port, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ADMIN_TOKEN = "e2e-admin-token-0123456789abcdef"
TWILIO_TOKEN = "e2e0twilio0auth0token0000000000a"
CASE = "1001"


@dataclass
class Served:
    url: str
    crm_url: str
    log: Path


def _alive(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code < 500
    except httpx.HTTPError:
        return False


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    # A copy of the examples, so that .postcall/ (database, secrets) lands in tmp_path.
    shutil.copytree(REPO / "examples" / "contoso-support", tmp_path / "contoso-support",
                    ignore=shutil.ignore_patterns(".postcall"))
    shutil.copytree(REPO / "examples" / "crm", tmp_path / "crm", ignore=shutil.ignore_patterns("*.db", "*.sqlite*"))
    port, crm_port = free_port(), free_port()
    crm_url = f"http://127.0.0.1:{crm_port}"
    env = {**os.environ, "POSTCALL_ADMIN_TOKEN": ADMIN_TOKEN, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN}
    env.pop("POSTCALL_DATABASE_URL", None)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "postcall.cli.main", "serve", str(tmp_path / "contoso-support"),
             "--port", str(port), "--with-example-crm", "--crm-port", str(crm_port),
             "--env", f"crm_BaseUrl={crm_url}"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: proc.poll() is not None or (_alive(url + "/readyz") and _alive(crm_url + "/cases")),
                   timeout=60, what="postcall serve and the example CRM")
        assert proc.poll() is None, log.read_text()
        wait_until(lambda: httpx.get(url + "/readyz", timeout=2).status_code == 200, timeout=60,
                   what="an executor heartbeat")
        yield Served(url, crm_url, log)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=45)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _place_call(served: Served) -> str:
    from postcall.devtools.twilio_simulator import TwilioSimulator

    sim = TwilioSimulator(served.url, TWILIO_TOKEN, from_="+15550001001")
    try:
        sim.start()
        sim.say("I want to check my case status")
        sim.press(f"{CASE}#")
        # The CRM goes down just before the caller hangs up: the post-call update will fail.
        httpx.post(f"{served.crm_url}/admin/faults", json={"status": 503}, timeout=5).raise_for_status()
        sim.hang_up()
        sim.finish()
    finally:
        sim.close()
    return sim.call_sid


def _api(served: Served, path: str) -> Any:
    response = httpx.get(served.url + path, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10)
    response.raise_for_status()
    return response.json()


def test_a_failed_crm_update_is_redriven_from_the_console(served: Served, page: Any) -> None:
    call_sid = _place_call(served)
    run_id = f"postcall:{call_sid}:Post-call CRM update"
    # Both post-call topics (the CRM update and the call-outcome log) fail against the 503 CRM.
    wait_until(lambda: _api(served, "/api/runs?status=failed")["counts"]["failed"] == 2, timeout=90,
               what="the post-call runs to fail against the 503 CRM")
    assert _api(served, f"/api/runs/{run_id}")["status"] == "failed"

    page.goto(served.url + "/console")
    page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(served.url + "/console")
    assert page.get_by_test_id("failed-count").inner_text() == "2"
    assert page.locator(f"tr[data-run-id='{run_id}']").count() == 1
    screenshot(page, "e2e-dashboard.png")

    # The finished call, with its end reason.
    page.get_by_role("link", name="Conversations").first.click()
    row = page.locator("tr", has=page.get_by_role("link", name=call_sid))
    assert "CUSTOMER_HANGUP" in row.inner_text()
    row.get_by_role("link", name=call_sid).click()
    assert "CUSTOMER_HANGUP" in page.locator(".ev-end .bubble").inner_text()
    assert "Keyed" in page.locator(".timeline").inner_text() or CASE in page.locator(".timeline").inner_text()

    # Its failed run: the CRM answered 503.
    run_panel = page.locator(f"article[data-run-id='{run_id}']")
    assert "failed" in run_panel.inner_text() and "HTTP 503" in run_panel.inner_text()
    screenshot(page, "e2e-conversation-failed.png")

    # The CRM comes back; Redrive; the page follows the run until it succeeds.
    httpx.delete(f"{served.crm_url}/admin/faults", timeout=5).raise_for_status()
    before = httpx.get(f"{served.crm_url}/cases/{CASE}", timeout=5).json()
    run_panel.get_by_role("button", name="Redrive").click()
    page.locator(f"article[data-run-id='{run_id}'] .badge.succeeded").first.wait_for(timeout=60_000)
    case = httpx.get(f"{served.crm_url}/cases/{CASE}", timeout=5).json()
    assert case["end_reason"] == "CUSTOMER_HANGUP"
    assert case["update_count"] == before["update_count"] + 1
    assert httpx.get(f"{served.crm_url}/requests", timeout=5).json()["duplicates"] == 0
    screenshot(page, "e2e-conversation.png")
