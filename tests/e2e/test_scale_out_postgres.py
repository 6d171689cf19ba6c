"""Two `postcall serve` processes behind one "load balancer", sharing one PostgreSQL database.

Each call's events alternate between the two servers, and every event is also delivered to both
at the same moment (a load balancer retrying on the other node): turns of one conversation never
interleave, each event is handled once, every call ends once, and each post-call run happens once,
whichever process received what.  Both servers start an executor, so two workers share the queue.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from crm.launcher import CrmProcess
from e2e.server import ServeProcess, poll
from postcall.channels.events import signature_headers

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CALLS = 12


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrmProcess]:
    with CrmProcess(Path(tmp_path_factory.mktemp("crm")) / "crm.db", cases=CALLS) as process:
        yield process


def _event(kind: str, cid: str, seq: int, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "conversation_id": cid, "sequence": seq,
            "timestamp": dt.datetime.now(dt.UTC).isoformat(), **fields}


def _post(client: httpx.Client, url: str, secret: str, event: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(event, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json",
               **signature_headers(secret, body, int(dt.datetime.now(dt.UTC).timestamp()))}
    response = client.post(f"{url}/channels/events", content=body, headers=headers)
    assert response.status_code == 200, (response.status_code, response.text)
    reply: dict[str, Any] = response.json()
    return reply


def _says(reply: dict[str, Any]) -> list[str]:
    return [a.get("text", "") for a in reply["actions"] if a["type"] == "say"]


def test_two_servers_share_one_postgres(
    tmp_path: Path, postgres_url: str, crm: CrmProcess
) -> None:
    db = ["--db", postgres_url]
    a = ServeProcess(tmp_path / "a", with_example_crm=False, crm_url=crm.url, extra_args=db)
    b = ServeProcess(tmp_path / "b", with_example_crm=False, crm_url=crm.url, extra_args=db)
    b.twilio_token, b.events_secret, b.admin_token = a.twilio_token, a.events_secret, a.admin_token
    b.api.headers["Authorization"] = f"Bearer {a.admin_token}"
    with a, b:
        servers = [a.url, b.url]
        secret = a.events_secret

        def play(n: int) -> tuple[str, list[dict[str, Any]]]:
            cid = f"lb-{n}-{secrets.token_hex(3)}"
            case = 1001 + n
            events = [
                _event("call.started", cid, 1, caller=f"+1555000{n:04d}"),
                _event("caller.said", cid, 2, text="case status"),
                _event("caller.dtmf", cid, 3, digits=f"{case}#"),
                _event("call.ended", cid, 4, initiator="caller", raw_reason="hangup"),
            ]
            replies: list[dict[str, Any]] = []
            with httpx.Client(timeout=60, trust_env=False) as client, \
                    concurrent.futures.ThreadPoolExecutor(2) as both:
                for i, event in enumerate(events):
                    # the same delivery reaches both nodes at once; then it alternates
                    first = both.submit(_post, client, servers[i % 2], secret, event)
                    second = both.submit(_post, client, servers[(i + 1) % 2], secret, event)
                    one, two = first.result(), second.result()
                    assert one == two, f"{cid}: the two nodes answered event {i + 1} differently: {one} / {two}"
                    replies.append(one)
            return cid, replies

        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            played = list(pool.map(play, range(CALLS)))

        for n, (cid, replies) in enumerate(played):
            assert any(f"Case {1001 + n}" in text for text in _says(replies[2])), (cid, replies[2])
            assert replies[3]["ended"] and replies[3]["end_reason"] == "CUSTOMER_HANGUP", (cid, replies[3])
            detail = a.wait_finished(cid)
            assert detail["end_reason"] == "CUSTOMER_HANGUP"
            callers = [e for e in detail["transcript"] if e["kind"] == "caller"]
            assert len(callers) == 2, f"{cid}: each caller event is handled once: {callers}"
            assert len([e for e in detail["transcript"] if e["kind"] == "end"]) == 1
            runs = {r["topic"]: r["status"] for r in detail["runs"]}
            assert runs == {"Post-call CRM update": "succeeded", "Post-call log": "succeeded"}, (cid, runs)

        def crm_settled() -> dict[str, Any] | None:
            seen = crm.client.get("/requests").json()
            return seen if seen["total"] >= 2 * CALLS else None

        requests = poll("the CRM to receive every post-call request", crm_settled, timeout_s=60)
        keys = requests["keys"]
        assert len(keys) == 2 * CALLS, keys
        for n in range(CALLS):
            case = crm.client.get(f"/cases/{1001 + n}").json()
            assert case["update_count"] == 1 and case["end_reason"] == "CUSTOMER_HANGUP", case
