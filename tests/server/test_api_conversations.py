"""`/api/conversations`: filters, pagination, detail with transcript, variables and end record."""

from __future__ import annotations

import datetime as dt

from starlette.testclient import TestClient

from postcall.store import Store
from server.world import caller, record_call, say, transfer

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def _three_calls(store: Store) -> None:
    record_call(store, "CA-hangup", started=T0, caller_number="+15550001111",
                lines=[say("Hello, Contoso support."), caller("What is the status of my case?"),
                       say("Your case 1001 is open.")],
                end_reason="CUSTOMER_HANGUP")
    record_call(store, "CA-transfer", started=T0 + dt.timedelta(hours=1), caller_number="+15550002222",
                lines=[say("Hello."), caller("Talk to a person"), transfer("+15559990000")],
                end_reason="BLIND_TRANSFER", initiator="agent")
    record_call(store, "CA-live", started=T0 + dt.timedelta(hours=2), caller_number="+15550001111",
                lines=[say("Hello.")], end_reason=None)


def test_list_is_newest_first_and_filters_by_status_reason_caller_and_time(
    client: TestClient, store: Store
) -> None:
    _three_calls(store)
    ids = [c["id"] for c in client.get("/api/conversations").json()["items"]]
    assert ids == ["CA-live", "CA-transfer", "CA-hangup"]

    def ids_for(**params: str) -> list[str]:
        response = client.get("/api/conversations", params=params)
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["items"]]

    assert ids_for(status="live") == ["CA-live"]
    assert ids_for(status="ended") == ["CA-transfer", "CA-hangup"]
    assert ids_for(end_reason="BLIND_TRANSFER") == ["CA-transfer"]
    assert ids_for(caller="+15550001111") == ["CA-live", "CA-hangup"]
    assert ids_for(started_after=(T0 + dt.timedelta(minutes=30)).isoformat()) == ["CA-live", "CA-transfer"]
    assert ids_for(started_before="2026-03-01T09:30:00") == ["CA-hangup"]  # naive = UTC


def test_pagination_hands_out_the_next_offset_until_the_last_page(client: TestClient, store: Store) -> None:
    _three_calls(store)
    first = client.get("/api/conversations", params={"limit": 2}).json()
    assert [c["id"] for c in first["items"]] == ["CA-live", "CA-transfer"]
    assert first["next_offset"] == 2
    second = client.get("/api/conversations", params={"limit": 2, "offset": 2}).json()
    assert [c["id"] for c in second["items"]] == ["CA-hangup"]
    assert second["next_offset"] is None


def test_detail_has_the_timeline_variables_and_end_record(client: TestClient, store: Store) -> None:
    _three_calls(store)
    body = client.get("/api/conversations/CA-transfer").json()
    assert body["status"] == "ended" and body["end_reason"] == "BLIND_TRANSFER"
    assert body["duration_seconds"] == 42.0
    kinds = [(e["kind"], e["text"]) for e in body["transcript"]]
    assert kinds == [
        ("agent", "Hello."),
        ("caller", "Talk to a person"),
        ("transfer", "Transfer to +15559990000"),
        ("end", "Call ended: BLIND_TRANSFER (by the agent)"),
    ]
    assert [a["direction"] for a in body["activities"]] == ["out", "in", "out", "in"]
    end = body["end_record"]
    assert end["reason"] == "BLIND_TRANSFER" and end["initiator"] == "agent" and end["raw"] == "completed"
    variables = body["variables"]
    assert variables["Global"]["CaseNumber"] == "1001"
    assert variables["Global"]["ApiToken"] == "[redacted]"
    assert variables["Topic"]["Case status"] == {"Status": "open", "When": "2026-01-02"}
    assert "sk-live-should-never-show" not in client.get("/api/conversations/CA-transfer").text


def test_a_live_call_has_no_end_record(client: TestClient, store: Store) -> None:
    _three_calls(store)
    body = client.get("/api/conversations/CA-live").json()
    assert body["status"] == "live" and body["end_record"] is None and body["ended_at"] is None


def test_unknown_conversation_is_404_naming_it(client: TestClient) -> None:
    response = client.get("/api/conversations/CA-nope")
    assert response.status_code == 404
    assert response.json() == {"detail": "No conversation 'CA-nope'."}


def test_bad_filters_are_422_naming_the_parameter(client: TestClient) -> None:
    cases = {
        "status=dead": "query parameter 'status'",
        "end_reason=HUNG_UP": "query parameter 'end_reason'",
        "limit=0": "query parameter 'limit'",
        "limit=x": "query parameter 'limit'",
        "offset=-1": "query parameter 'offset'",
        "started_after=yesterday": "query parameter 'started_after'",
        "caller=%00": "query parameter 'caller'",
        "started_after=2026-03-02T00:00:00Z&started_before=2026-03-01T00:00:00Z":
            "query parameter 'started_before'",
    }
    for query, field in cases.items():
        response = client.get(f"/api/conversations?{query}")
        assert response.status_code == 422, (query, response.text)
        assert field in response.json()["detail"], (query, response.json())
