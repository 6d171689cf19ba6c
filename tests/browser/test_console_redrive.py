"""The console in a real browser: log in, see how calls ended, redrive a run whose CRM answered 503.

The server is the real app on uvicorn (127.0.0.1), the post-call runs run on the real executor
against the example CRM; calls are written through the store's API as the lifecycle writes them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from browser.conftest import screenshot
from postcall.devtools.scripted import PROGRAM_NAME, ScriptedProgram
from postcall.durable import Executor, ExecutorConfig, ProgramRegistry
from postcall.server.app import create_app
from postcall.server.auth import TOKEN_ENV
from postcall.store import Store, open_store, run_id_for
from postcall.topics import load_agent
from server.world import (
    CONTOSO,
    AssembledRuntime,
    Settings,
    caller,
    crm_case,
    crm_patch_run,
    free_port,
    record_call,
    running_example_crm,
    say,
    serve_in_thread,
    transfer,
)

pytestmark = pytest.mark.browser

TOKEN = "browser-admin-token-0123456789abcdef"
TOPIC = "Post-call CRM update"


@dataclass
class Site:
    url: str
    crm_url: str
    store: Store
    executor: Executor


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("console")
    db = f"sqlite:///{tmp / 'postcall.db'}"
    store = open_store(db)
    mp = pytest.MonkeyPatch()
    mp.setenv(TOKEN_ENV, TOKEN)
    loaded = load_agent(CONTOSO)
    try:
        with running_example_crm(tmp / "crm.db", free_port()) as crm:
            executor = Executor(ExecutorConfig(database_url=db, heartbeat_interval_s=0.5, stale_after_s=5),
                                ProgramRegistry({PROGRAM_NAME: ScriptedProgram}), store=store)
            executor.start()
            try:
                runtime = AssembledRuntime(agent=loaded.agent, diagnostics=list(loaded.diagnostics),
                                           store=store, settings=Settings(data_dir=tmp / "data"),
                                           executor=executor)
                with serve_in_thread(create_app(runtime), free_port()) as served:
                    yield Site(served.url, crm.url, store, executor)
            finally:
                executor.stop(drain=False)
    finally:
        mp.undo()
        store.close()


def _calls(site: Site) -> str:
    """Three finished calls; the last one's CRM update fails with 503.  Returns its run id."""
    now = dt.datetime.now(dt.UTC)
    ok_run = crm_patch_run("CA1001", site.crm_url, "1001")
    record_call(site.store, "CA1001", caller_number="+15550001111", started=now - dt.timedelta(hours=3),
                lines=[say("Hello, this is Contoso support. How can I help?"),
                       caller("What is the status of my case?"),
                       say("Your case 1001 is open. Anything else?"), caller("No, thanks. Bye.")],
                end_reason="CUSTOMER_HANGUP", runs=[ok_run])
    record_call(site.store, "CA1002", caller_number="+15550002222", started=now - dt.timedelta(hours=2),
                lines=[say("Hello, this is Contoso support."), caller("I want to talk to a person"),
                       say("Transferring you now."), transfer("+15559990000")],
                end_reason="BLIND_TRANSFER", initiator="agent")
    site.executor.wait_for_runs([run_id_for("CA1001", TOPIC)], timeout_s=30)
    httpx.post(f"{site.crm_url}/admin/faults", json={"status": 503}, timeout=5).raise_for_status()
    failing = run_id_for("CA1003", TOPIC)
    record_call(site.store, "CA1003", caller_number="+15550003333", started=now - dt.timedelta(minutes=20),
                lines=[say("Hello, this is Contoso support."), caller("Please close my case 1004."),
                       say("Done. Goodbye!")],
                end_reason="AGENT_HANGUP", initiator="agent",
                runs=[crm_patch_run("CA1003", site.crm_url, "1004", reason="AGENT_HANGUP")])
    assert site.executor.wait_for_runs([failing], timeout_s=30)[failing] == "failed"
    return failing


def _login(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/console")
    assert "/console/login" in page.url
    page.get_by_label("Admin token").fill("not the token at all")
    page.get_by_role("button", name="Sign in").click()
    assert "not the admin token" in page.locator(".flash.bad").inner_text()
    page.get_by_label("Admin token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{site.url}/console")


def test_log_in_see_the_end_reason_and_redrive_a_failed_run(page: Any, site: Site) -> None:
    failing = _calls(site)
    _login(page, site)

    # Dashboard: three calls ended, one run failed and waits for a redrive.
    assert page.get_by_test_id("ended-count").inner_text() == "3"
    assert page.get_by_test_id("failed-count").inner_text() == "1"
    assert page.locator("svg rect.er-CUSTOMER_HANGUP").count() == 1
    screenshot(page, "console-dashboard.png")

    # Conversations: the finished call with its end reason.
    page.get_by_role("link", name="Conversations").first.click()
    row = page.locator("tr", has=page.get_by_role("link", name="CA1001"))
    assert "CUSTOMER_HANGUP" in row.inner_text()
    row.get_by_role("link", name="CA1001").click()
    end_bubble = page.locator(".ev-end .bubble").inner_text()
    assert "Call ended: CUSTOMER_HANGUP (by the caller)" in end_bubble
    assert "Twilio's call status: the call was answered and then ended normally." in end_bubble  # the raw status explained
    assert page.locator("[data-run-id] .badge.succeeded").count() >= 1

    # The failed run: its CRM answered 503.
    page.goto(f"{site.url}/console/runs")
    failed_row = page.locator(f"tr[data-run-id='{failing}']")
    assert "failed" in failed_row.inner_text()
    failed_row.get_by_role("link", name="CA1003").click()
    run_panel = page.locator(f"article[data-run-id='{failing}']")
    assert "HTTP 503" in run_panel.inner_text()
    screenshot(page, "console-conversation-failed.png")

    # Bring the CRM back and press Redrive: the page refreshes itself until the run succeeds.
    httpx.delete(f"{site.crm_url}/admin/faults", timeout=5).raise_for_status()
    assert crm_case(site.crm_url, "1004")["update_count"] == 0
    run_panel.get_by_role("button", name="Redrive").click()
    page.wait_for_url(re.compile(r"flash=redriven"))
    page.locator(f"article[data-run-id='{failing}'] .badge.succeeded").first.wait_for(timeout=30_000)
    case = crm_case(site.crm_url, "1004")
    assert case["status"] == "resolved" and case["end_reason"] == "AGENT_HANGUP"
    assert case["update_count"] == 1
    screenshot(page, "console-conversation.png")


def test_a_form_without_its_csrf_token_is_refused(page: Any, site: Site) -> None:
    _login(page, site)
    # Post the redrive form from the page's own origin but without the hidden CSRF field.
    status = page.evaluate(
        """async (url) => {
            const r = await fetch(url, {method: "POST", body: new URLSearchParams({next: "/console/runs"}),
                                        redirect: "manual"});
            return r.status;
        }""",
        f"{site.url}/console/runs/postcall:CA1003:x/redrive",
    )
    assert status in (0, 303)  # an opaque redirect back with flash=csrf, nothing redriven


def test_pages_and_screenshots_need_no_foreign_origin(page: Any, site: Site, tmp_path: Path) -> None:
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    _login(page, site)
    for path, shot in (("/console", None), ("/console/conversations", "console-conversations.png"),
                       ("/console/runs?status=all", "console-runs.png"), ("/console/topics", "console-topics.png"),
                       ("/docs", None)):
        page.goto(site.url + path)
        if shot:
            screenshot(page, shot)
    page.locator("#apidocs details").first.wait_for()
    page.locator("#apidocs details summary").first.click()
    screenshot(page, "api-docs.png")
    assert all(u.startswith(site.url) for u in requested), [u for u in requested if not u.startswith(site.url)]
    assert violations == []
