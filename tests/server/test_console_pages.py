"""The console's pages rendered by the server: filters, live refresh, runs, topics, bad input."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from postcall.store import RunSpec, Store
from server.conftest import ADMIN_TOKEN
from server.world import caller, record_call, say, transfer


@pytest.fixture
def browser(app: FastAPI) -> Iterator[TestClient]:
    """A client logged in to the console."""
    with TestClient(app, follow_redirects=False) as c:
        page = c.get("/console/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        assert c.post("/console/login", data={"csrf_token": csrf.group(1), "token": ADMIN_TOKEN}).status_code == 303
        yield c


def _calls(store: Store) -> None:
    now = dt.datetime.now(dt.UTC)
    record_call(store, "CA-one", started=now - dt.timedelta(hours=2), caller_number="+15550001111",
                lines=[say("Hello <b>there</b>"), caller("Status of case 1001?")],
                runs=[RunSpec(topic="Post-call CRM update", program="scripted", input={})])
    record_call(store, "CA-two", started=now - dt.timedelta(hours=1), caller_number="+15550002222",
                lines=[say("Transferring"), transfer("+15559990000")], end_reason="BLIND_TRANSFER")


def test_dashboard_shows_the_figures_and_the_chart(browser: TestClient, store: Store) -> None:
    _calls(store)
    html = browser.get("/console").text
    assert 'data-testid="ended-count">2<' in html
    assert html.count('class="er-CUSTOMER_HANGUP"') == 1 and html.count('class="er-BLIND_TRANSFER"') == 1
    assert 'data-testid="queue-depth">1<' in html
    assert "data-refresh" not in html  # no call is live
    assert browser.get("/console?range=7d").status_code == 200
    assert browser.get("/console?range=<script>").status_code == 200  # unknown range: the default


def test_pages_refresh_themselves_only_while_a_call_is_live(browser: TestClient, store: Store) -> None:
    _calls(store)
    record_call(store, "CA-live", end_reason=None)
    assert 'data-refresh="3"' in browser.get("/console").text
    assert 'data-refresh="3"' in browser.get("/console/conversations/CA-live").text
    assert 'data-refresh="3"' in browser.get("/console/conversations/CA-one").text  # its run is pending
    assert "data-refresh" not in browser.get("/console/conversations/CA-two").text
    assert "data-refresh" not in browser.get("/console/topics").text


def test_conversations_filter_and_name_bad_filters(browser: TestClient, store: Store) -> None:
    _calls(store)
    html = browser.get("/console/conversations", params={"end_reason": "BLIND_TRANSFER"}).text
    assert "CA-two" in html and "CA-one" not in html
    html = browser.get("/console/conversations", params={"caller": "+15550001111"}).text
    assert "CA-one" in html and "CA-two" not in html
    response = browser.get("/console/conversations", params={
        "status": "zombie", "end_reason": "NOPE", "started_after": "yesterday", "caller": "x" * 300})
    assert response.status_code == 200
    for named in ("Status &#39;zombie&#39;", "End reason &#39;NOPE&#39;", "From &#39;yesterday&#39;",
                  "caller filter is too long"):
        assert named in response.text
    assert "CA-one" in response.text  # the bad filters were ignored


def test_conversation_page_shows_the_timeline_escaped(browser: TestClient, store: Store) -> None:
    _calls(store)
    html = browser.get("/console/conversations/CA-one").text
    assert "Hello &lt;b&gt;there&lt;/b&gt;" in html
    assert "Status of case 1001?" in html
    assert "Call ended: CUSTOMER_HANGUP (by the caller)" in html
    assert "sk-live-should-never-show" not in html
    assert 'data-run-id="postcall:CA-one:Post-call CRM update"' in html
    html = browser.get("/console/conversations/CA-two").text
    assert "Transfer to +15559990000" in html and "BLIND_TRANSFER" in html


def test_unknown_records_are_404_pages(browser: TestClient) -> None:
    for path in ("/console/conversations/CA-none", "/console/runs/postcall:x:y", "/console/runs/" + "x" * 600):
        response = browser.get(path)
        assert response.status_code == 404, path
        assert "Not found" in response.text


def test_runs_page_lists_by_status(browser: TestClient, store: Store) -> None:
    _calls(store)
    assert "No failed runs" in browser.get("/console/runs").text
    html = browser.get("/console/runs", params={"status": "pending"}).text
    assert "postcall:CA-one:Post-call CRM update" in html
    assert "Redrive" not in html.split("<main>")[1]  # only failed runs have the button
    assert browser.get("/console/runs", params={"status": "bogus"}).status_code == 200
    html = browser.get("/console/runs/postcall:CA-one:Post-call CRM update").text
    assert "No step has run yet." in html


def test_redrive_of_a_run_that_is_not_failed_says_so(browser: TestClient, store: Store) -> None:
    _calls(store)
    page = browser.get("/console/runs?status=pending").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf is not None
    response = browser.post("/console/runs/postcall:CA-one:Post-call CRM update/redrive",
                            data={"csrf_token": csrf.group(1), "next": "/console/runs?status=pending"})
    assert response.status_code == 303
    assert response.headers["location"] == "/console/runs?status=pending&flash=not-failed"
    assert "nothing to redrive" in browser.get(response.headers["location"]).text


def test_topics_page_lists_triggers_and_conditions(browser: TestClient) -> None:
    html = browser.get("/console/topics").text
    assert "Post-call CRM update" in html and "post-call" in html
    assert "OnActivity · EndOfConversation" in html
    assert "OnRecognizedIntent" in html
