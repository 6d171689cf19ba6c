"""The example CRM: cases API, Idempotency-Key applied once (even under racing duplicates), fault switch."""

from __future__ import annotations

import threading
import uuid

import httpx

from crm.launcher import CrmProcess


def key() -> str:
    return f"test-{uuid.uuid4().hex}"


def test_seeded_cases_are_listed_and_readable(crm: CrmProcess) -> None:
    cases = crm.all_cases()
    assert [c["number"] for c in cases] == list(range(1001, 1051))
    one = crm.case(1003)
    assert one["number"] == 1003 and one["status"] in ("open", "in_progress", "waiting_on_customer", "resolved")
    assert crm.client.get("/cases/999999").status_code == 404
    assert crm.client.get("/cases/abc").status_code == 400


def test_patch_with_a_repeated_key_applies_once_and_replays_the_first_answer(crm: CrmProcess) -> None:
    k = key()
    body = {"status": "closed", "call_end_time": "2026-01-01T12:00:00Z", "end_reason": "CUSTOMER_HANGUP"}
    first = crm.client.patch("/cases/1010", json=body, headers={"Idempotency-Key": k})
    assert first.status_code == 200
    assert first.json()["update_count"] == 1
    assert first.json()["end_reason"] == "CUSTOMER_HANGUP"
    again = crm.client.patch("/cases/1010", json={"status": "open"}, headers={"Idempotency-Key": k})
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert crm.case(1010)["status"] == "closed"
    assert crm.case(1010)["update_count"] == 1
    other = crm.client.patch("/cases/1010", json={"status": "resolved"}, headers={"Idempotency-Key": key()})
    assert other.json()["update_count"] == 2
    summary = crm.requests()
    assert summary["keys"][k] == 2
    assert k in summary["duplicated_keys"]


def test_a_key_reused_for_another_request_is_refused(crm: CrmProcess) -> None:
    k = key()
    assert crm.client.patch("/cases/1011", json={"status": "closed"}, headers={"Idempotency-Key": k}).status_code == 200
    reused = crm.client.patch("/cases/1012", json={"status": "closed"}, headers={"Idempotency-Key": k})
    assert reused.status_code == 422
    assert "first used for PATCH /cases/1011" in reused.json()["error"]
    assert crm.case(1012)["update_count"] == 0


def test_racing_duplicates_of_one_key_apply_exactly_once(crm: CrmProcess) -> None:
    k = key()
    statuses: list[int] = []
    barrier = threading.Barrier(12)

    def send() -> None:
        with httpx.Client(base_url=crm.url, trust_env=False, timeout=30) as client:
            barrier.wait()
            r = client.patch("/cases/1020", json={"status": "in_progress"}, headers={"Idempotency-Key": k})
            statuses.append(r.status_code)

    threads = [threading.Thread(target=send) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 12
    assert crm.case(1020)["update_count"] == 1
    assert crm.requests()["keys"][k] == 12


def test_call_outcomes_are_recorded_once_per_key(crm: CrmProcess) -> None:
    k = key()
    payload = {"conversation_id": "conv-outcome-1", "case_number": 1030, "end_reason": "AGENT_HANGUP"}
    first = crm.client.post("/call-outcomes", json=payload, headers={"Idempotency-Key": k})
    second = crm.client.post("/call-outcomes", json=payload, headers={"Idempotency-Key": k})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    recorded = [o for o in crm.client.get("/call-outcomes").json() if o["conversation_id"] == "conv-outcome-1"]
    assert len(recorded) == 1
    assert recorded[0]["end_reason"] == "AGENT_HANGUP"
    assert crm.client.post("/call-outcomes", json={"case_number": 3}).status_code == 400


def test_bad_input_gets_a_clear_400(crm: CrmProcess) -> None:
    bad_json = crm.client.patch("/cases/1001", content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and "not valid JSON" in bad_json.json()["error"]
    unknown = crm.client.patch("/cases/1001", json={"colour": "red"})
    assert unknown.status_code == 400 and "colour" in unknown.json()["error"]
    status = crm.client.patch("/cases/1001", json={"status": "exploded"})
    assert status.status_code == 400 and "exploded" in status.json()["error"]
    not_object = crm.client.patch("/cases/1001", json=[1, 2])
    assert not_object.status_code == 400
    assert crm.client.patch("/cases/424242", json={"status": "closed"}).status_code == 404


def test_fault_switch_answers_the_fault_then_recovers(crm: CrmProcess) -> None:
    try:
        crm.set_faults(status=503, count=2, retry_after="7")
        k = key()
        first = crm.client.patch("/cases/1040", json={"status": "closed"}, headers={"Idempotency-Key": k})
        second = crm.client.get("/cases/1040")
        third = crm.client.patch("/cases/1040", json={"status": "closed"}, headers={"Idempotency-Key": k})
        assert (first.status_code, second.status_code, third.status_code) == (503, 503, 200)
        assert first.headers["retry-after"] == "7"
        assert third.json()["update_count"] == 1
        crm.set_faults(status=500, count=None)
        assert crm.client.get("/cases/1040").status_code == 500
        assert crm.client.get("/cases/1040").status_code == 500
        crm.clear_faults()
        assert crm.client.get("/cases/1040").status_code == 200
        assert crm.requests()["faulted"] >= 4
        assert crm.client.post("/admin/faults", json={"status": 42}).status_code == 400
        assert crm.client.post("/admin/faults", json={"status": 503, "count": -1}).status_code == 400
    finally:
        crm.clear_faults()
