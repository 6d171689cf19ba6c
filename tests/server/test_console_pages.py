"""The console's pages rendered by the server: filters, live refresh, runs, topics, bad input."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from postcall.engine.recognizer import IntentMatch, Recognition
from postcall.store import NewActivity, RunSpec, Store
from postcall.vocabulary import StoredKind
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


# -- rough edges of daily use (issue 18) ---------------------------------------------------------


def test_the_timeline_shows_what_the_caller_heard_and_marks_events_after_the_end(browser: TestClient, store: Store) -> None:
    from postcall.store import NewActivity

    spoken = NewActivity("out", "Say", {"type": "Say", "text": "Case 1001: open.", "speak": "Case one zero zero one is open.",
                                        "allow_barge_in": True})
    same = NewActivity("out", "Say", {"type": "Say", "text": "Goodbye.", "speak": "Goodbye.", "allow_barge_in": True})
    record_call(store, "CA-heard", lines=[spoken, same, caller("thanks")])
    store.append_activities("CA-heard", [caller("hello? are you there")])
    html = browser.get("/console/conversations/CA-heard").text
    assert "Caller heard: “Case one zero zero one is open.”" in html
    assert html.count('data-testid="heard"') == 1  # not when the speak text is the display text
    entries = re.findall(r'<li class="ev-[a-z]+[^"]*" data-kind="[a-z]+"[^>]*>.*?</li>', html, flags=re.S)
    late = [e for e in entries if "hello? are you there" in e]
    assert len(late) == 1 and 'data-ignored="true"' in late[0] and "ignored: after the end" in late[0]
    early = [e for e in entries if "thanks" in e]
    assert len(early) == 1 and "data-ignored" not in early[0]


def test_provider_statuses_are_explained(browser: TestClient, store: Store) -> None:
    from postcall.store import NewActivity

    answered = NewActivity("in", "event", {"type": "event", "name": "postcall.transferResult",
                                           "value": {"outcome": "answered", "raw": "child-leg:in-progress"}})
    record_call(store, "CA-leg", lines=[transfer("+15559990000"), answered], end_reason="BLIND_TRANSFER")
    html = browser.get("/console/conversations/CA-leg").text
    assert "second leg (the dialled party&#39;s call): the call was answered and is connected." in html
    assert "Twilio&#39;s call status: the call was answered and then ended normally." in html  # the end's raw "completed"


def test_a_retrying_step_is_amber_and_steps_carry_their_display_name(browser: TestClient, store: Store) -> None:
    from postcall.store import RunStepRecord

    record_call(store, "CA-retry", runs=[RunSpec(topic="Post-call CRM update", program="scripted", input={})])
    run_id = "postcall:CA-retry:Post-call CRM update"
    store.record_step(RunStepRecord(
        run_id=run_id, step=1, node_id="httpRequest_CrmUpd", kind="http", idempotency_key="CA-retry:crm:1",
        attempt=1, ok=False, request={"method": "PATCH", "url": "http://127.0.0.1:1/cases/1"}, response={"status_code": 503},
        error="HTTP 503", error_category="http_status", retry_in_s=0.5, duration_ms=3.0, executor_id="w1",
        at=dt.datetime.now(dt.UTC)))
    html = browser.get(f"/console/runs/{run_id}").text
    step = html.split('<ol class="steps">')[1]
    assert '<li class="retrying">' in step and '<span class="badge retrying">retrying</span>' in step
    assert '<span class="badge failed">' not in step
    assert "Update the case in the CRM</span> <span class=\"muted mono\">httpRequest_CrmUpd</span>" in step
    api = browser.get(f"/api/runs/{run_id}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).json()
    assert api["steps"][0]["status"] == "retrying" and api["steps"][0]["display_name"] == "Update the case in the CRM"


def test_redrive_from_the_runs_list_follows_the_run(browser: TestClient, store: Store) -> None:
    from postcall.store import RunStepRecord

    record_call(store, "CA-fail", runs=[RunSpec(topic="Post-call CRM update", program="scripted", input={})])
    run_id = "postcall:CA-fail:Post-call CRM update"
    store.record_step(RunStepRecord(
        run_id=run_id, step=1, node_id="httpRequest_CrmUpd", kind="http", idempotency_key="k", attempt=1, ok=False,
        request=None, response=None, error="down", error_category="connection", retry_in_s=None, duration_ms=1.0,
        executor_id="w1", at=dt.datetime.now(dt.UTC)))
    store.finish_run(run_id, status="failed", error="down", failed_step=1, failed_node="httpRequest_CrmUpd", attempts=1)
    html = browser.get("/console/runs").text
    form = html.split(f'data-run-id="{run_id}"')[1].split("</form>")[0]
    assert 'name="next" value="/console/runs/postcall%3ACA-fail%3APost-call%20CRM%20update"' in form


def test_the_timeline_says_what_the_engine_did_with_a_recognition(browser: TestClient, store: Store) -> None:
    best, other = IntentMatch("Talk to a person", 0.48, "Operator"), IntentMatch("Billing", 0.34, "Refund")
    decided = Recognition("ambiguous", (best, other), (best, other), "2 topics are close", "embedded")
    taken = decided.with_taken("best", "started Talk to a person without asking: one may be offered")
    record_call(store, "CA-why", lines=[caller("speak to someone about my refund"),
                                        NewActivity("out", StoredKind.RECOGNITION, taken.to_json())])
    html = browser.get("/console/conversations/CA-why").text
    assert "ambiguous: 2 topics are close" in html
    assert ('data-testid="recognition-taken">What happened: started Talk to a person without asking: '
            "one may be offered<") in html
    record_call(store, "CA-raw", lines=[caller("hello"), NewActivity("out", StoredKind.RECOGNITION, decided.to_json())])
    assert 'data-testid="recognition-taken"' not in browser.get("/console/conversations/CA-raw").text
