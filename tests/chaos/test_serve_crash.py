"""Crash test (a) against `postcall serve` itself: SIGKILLed five times while 300 calls end, restarted on the same SQLite file.

The example agent is served as users serve it (`postcall serve`, in its own session, so that a
SIGKILL of the process group also takes its executor child down, as a machine crash would).
Calls arrive through the signed call-events webhook as a provider sends them: call.started, the
caller says "case status", keys the case number and pound, and hangs up (call.ended, initiator
caller).  A delivery that fails with a connection error or a 5xx is delivered again once /healthz
answers (chaos/provider.py).  The example CRM runs in its own process and is never killed.

Kill moments are random (seeded; POSTCALL_CRASH_SEED replays a run's choice) but chosen by
progress: each waits for a random number of CRM deliveries inside its own fifth of the run, so
every kill lands while post-call runs are in flight, the first ones also while calls come in.

Afterwards every call has ended once, with CUSTOMER_HANGUP; both post-call runs of each call
succeeded; each case was updated once and each idempotency key applied once.  The test prints
how many requests the CRM received more than once (at-least-once delivery, exactly-once effects).
"""

from __future__ import annotations

import functools
import os
import random
import secrets
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from chaos.provider import Delivery, RetryingProvider
from crm.launcher import CrmProcess
from e2e.server import ServeProcess

CONVERSATIONS = 300
KILLS = 5
FIRST_CASE = 1001
CLIENT_THREADS = 8
CRM_UPDATE = "Post-call CRM update"
POST_CALL_LOG = "Post-call log"
TOPICS = (CRM_UPDATE, POST_CALL_LOG)
CRM_UPDATE_NODE = "httpRequest_CrmUpd"
OUTCOME_FLOW_NODE = "invokeFlowAction_Oc0m31"
EXPECTED_RUNS = 2 * CONVERSATIONS  # each run makes one CRM request with its own key
T = TypeVar("T")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

# What the agent says in reply to each event of a call (substrings of the reply's say actions).
EXPECTED_SAYS = {
    "call.started": ("Thank you for calling Contoso Support",),
    "caller.said": ("Please say or key in your case number",),
    "caller.dtmf": ("Case {case}: the status is", "Is there anything else"),
    "call.ended": (),
}


def wait_for(
    what: str, check: Callable[[], T | None], *, timeout_s: float, every_s: float = 0.02
) -> T:
    """Poll `check` until it returns something other than None; fail after the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value is not None:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"Timed out after {timeout_s} s waiting for {what}.")
        time.sleep(every_s)


def query(path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of `sql` on the server's SQLite file (read-only, short-lived); [] before the tables exist."""
    if not path.exists():
        return []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return list(conn.execute(sql, params).fetchall())
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise
    finally:
        conn.close()


def kill_group(serve: ServeProcess) -> None:
    """SIGKILL `postcall serve` and everything in its session (its executor), as a crash would."""
    proc = serve.process
    assert proc is not None and proc.poll() is None, (
        f"postcall serve died on its own:\n{serve.log_tail()}"
    )
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    # SIGKILL reaches the whole group at once; wait until none of it is left running, so that
    # the restart never races a dying executor
    wait_for(
        "the killed process group to be gone",
        lambda: None if _group_alive(proc.pid) else True,
        timeout_s=30,
    )


def _group_alive(pgid: int) -> bool:
    """Whether a live (not zombie) process of the process group `pgid` is left (Linux /proc)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process went away while we looked
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


@dataclass
class Call:
    conversation_id: str
    case: int
    deliveries: list[Delivery]


def call_events(conversation_id: str, case: int) -> list[dict[str, Any]]:
    base = {"conversation_id": conversation_id}
    return [
        base | {"type": "call.started", "caller": f"+1555{case:07d}", "callee": "+15550100999"},
        base | {"type": "caller.said", "text": "case status", "confidence": 0.93},
        base | {"type": "caller.dtmf", "digits": f"{case}#"},
        base | {"type": "call.ended", "initiator": "caller", "raw_reason": "customer-ended-call"},
    ]


def play_call(provider: RetryingProvider, conversation_id: str, case: int) -> Call:
    """One call, event after event, each delivered until the server accepts it."""
    with provider.client() as client:
        return Call(
            conversation_id,
            case,
            [provider.deliver(client, event) for event in call_events(conversation_id, case)],
        )


def missing_says(call: Call, delivery: Delivery) -> list[str]:
    """What the agent should have said in reply to `delivery` and did not."""
    said = [a["text"] for a in (delivery.reply or {}).get("actions", []) if a["type"] == "say"]
    expected = [text.format(case=call.case) for text in EXPECTED_SAYS[delivery.type]]
    return [text for text in expected if not any(text in line for line in said)]


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[CrmProcess]:
    with CrmProcess(
        tmp_path / "crm.db", cases=CONVERSATIONS + 20, first_case=FIRST_CASE
    ) as process:
        yield process


@pytest.fixture
def serve(tmp_path: Path, crm: CrmProcess) -> Iterator[ServeProcess]:
    workdir = tmp_path / "serve"
    workdir.mkdir()
    process = ServeProcess(workdir, with_example_crm=False, crm_url=crm.url)
    try:
        yield process.start()
    finally:
        process.stop()  # SIGTERM, then SIGKILL to whatever of the group is left


def test_serve_sigkilled_five_times_while_300_calls_end(
    serve: ServeProcess, crm: CrmProcess
) -> None:
    seed = int(os.environ.get("POSTCALL_CRASH_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    began = time.monotonic()
    db = serve.db_path
    tag = secrets.token_hex(3)
    calls = [(f"chaos-{tag}-{i:03d}", FIRST_CASE + i) for i in range(CONVERSATIONS)]

    def delivered_keys() -> int:
        return len(crm.requests()["keys"])

    def reached(target: int) -> bool | None:
        return True if delivered_keys() >= target else None

    def count(sql: str) -> int:
        rows = query(db, sql)
        return int(rows[0][0] or 0) if rows else 0

    # Each kill waits for a random number of CRM deliveries inside its own fifth of the run.
    band = (EXPECTED_RUNS - 40) // KILLS
    targets = [20 + k * band + rng.randrange(band) for k in range(KILLS)]
    kills: list[dict[str, int]] = []
    provider = RetryingProvider(serve.url, serve.events_secret)
    pool = ThreadPoolExecutor(CLIENT_THREADS, thread_name_prefix="provider")
    try:
        futures = [pool.submit(play_call, provider, cid, case) for cid, case in calls]
        for target in targets:
            wait_for(f"{target} CRM deliveries", functools.partial(reached, target), timeout_s=120)
            in_flight = count(
                "SELECT COUNT(*) FROM post_call_runs WHERE status IN ('pending', 'running')"
            )
            kill_group(serve)
            kills.append(
                {
                    "deliveries": delivered_keys(),
                    "ended": count("SELECT COUNT(*) FROM conversations WHERE status = 'ended'"),
                    "runs_in_flight": in_flight,
                }
            )
            serve.start()
        played = [future.result(timeout=240) for future in futures]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)

    def all_finished() -> dict[str, Any] | None:
        counts: dict[str, Any] = serve.api.get("/api/runs", params={"limit": 1}).json()["counts"]
        assert counts["failed"] == 0, serve.api.get("/api/runs", params={"status": "failed"}).json()
        done = counts["succeeded"] == EXPECTED_RUNS and counts["pending"] + counts["running"] == 0
        return counts if done else None

    counts = wait_for("every post-call run to succeed", all_finished, timeout_s=120, every_s=0.2)
    stale_replies = check_replies(played)
    check_conversations(serve, played)
    check_store(db, calls)
    summary = check_crm(crm, calls)

    executions = count("SELECT SUM(executions) FROM post_call_runs")
    redelivered = sum(1 for call in played for d in call.deliveries if d.sends > 1)
    print(
        f"\ncrash test (a) on postcall serve, seed {seed}: {KILLS} SIGKILLs at {kills}; "
        f"{CONVERSATIONS} calls ended with CUSTOMER_HANGUP, {counts['succeeded']} post-call runs succeeded "
        f"({executions - EXPECTED_RUNS} re-executions after crashes); "
        f"{redelivered} call event(s) redelivered by the provider, {stale_replies} stale replies; "
        f"{summary['duplicates']} CRM request(s) delivered more than once "
        f"({len(summary['duplicated_keys'])} key(s)), each applied once; "
        f"{time.monotonic() - began:.0f} s."
    )


def check_replies(played: list[Call]) -> int:
    """Every reply the provider received says what the agent does next, redeliveries included.

    A redelivery after a crash that hit the turn's in-call action resumes that turn (the action
    runs again with its Idempotency-Key), so its reply carries the agent's answer too.  Returns
    the number of stale replies, which must be 0.
    """
    for call in played:
        final = call.deliveries[-1].reply
        assert final is not None and (final["ended"], final["end_reason"]) == (
            True,
            "CUSTOMER_HANGUP",
        ), (call.conversation_id, final)
        for delivery in call.deliveries:
            missing = missing_says(call, delivery)
            assert not missing, (call.conversation_id, delivery, missing)
    return 0


def check_conversations(serve: ServeProcess, played: list[Call]) -> None:
    """The admin API: every call is a conversation that ended with CUSTOMER_HANGUP."""
    items: dict[str, dict[str, Any]] = {}
    offset: int | None = 0
    while offset is not None:
        page = serve.api.get("/api/conversations", params={"limit": 200, "offset": offset}).json()
        items.update({item["id"]: item for item in page["items"]})
        offset = page["next_offset"]
    assert set(items) == {call.conversation_id for call in played}
    wrong = {
        cid: (item["status"], item["end_reason"])
        for cid, item in items.items()
        if (item["status"], item["end_reason"]) != ("ended", "CUSTOMER_HANGUP")
    }
    assert not wrong, (
        f"{len(wrong)} conversation(s) did not end with CUSTOMER_HANGUP: {dict(list(wrong.items())[:5])}"
    )


def check_store(db: Path, calls: list[tuple[str, int]]) -> None:
    """One end per conversation in its history, exactly its two post-call runs (succeeded), one telemetry event."""
    ends: dict[str, list[str]] = {}
    for cid, activity_id, reason, duplicate in query(
        db,
        "SELECT conversation_id, json_extract(activity, '$.id'), json_extract(activity, '$.reason'), "
        "json_extract(activity, '$.duplicate') FROM conversation_activities "
        "WHERE direction = 'in' AND type = 'endOfConversation' ORDER BY conversation_id, seq",
    ):
        # the provider's call.ended as received, then the end record the runtime emitted
        kind = (
            "duplicate end"
            if duplicate
            else f"end {reason}"
            if reason
            else f"received {activity_id}"
        )
        ends.setdefault(cid, []).append(kind)
    expected_ends = {cid: [f"received events:{cid}:4", "end CUSTOMER_HANGUP"] for cid, _ in calls}
    wrong_ends = {
        cid: ends.get(cid) for cid in expected_ends if ends.get(cid) != expected_ends[cid]
    }
    assert not wrong_ends and set(ends) == set(expected_ends), dict(list(wrong_ends.items())[:5])

    runs: dict[str, dict[str, str]] = {}
    for cid, topic, status in query(
        db, "SELECT conversation_id, topic, status FROM post_call_runs"
    ):
        runs.setdefault(cid, {})[topic] = status
    expected = {cid: {topic: "succeeded" for topic in TOPICS} for cid, _ in calls}
    assert runs == expected, [
        (cid, runs.get(cid)) for cid in expected if runs.get(cid) != expected[cid]
    ][:5]
    assert query(db, "SELECT COUNT(*) FROM post_call_runs") == [(EXPECTED_RUNS,)]
    telemetry = dict(
        query(db, "SELECT conversation_id, COUNT(*) FROM telemetry_events GROUP BY conversation_id")
    )
    assert telemetry == {cid: 1 for cid, _ in calls}


def check_crm(crm: CrmProcess, calls: list[tuple[str, int]]) -> dict[str, Any]:
    """Each case updated once by its own call; each idempotency key applied once; the delivery summary."""
    by_number = {case["number"]: case for case in crm.all_cases()}
    for cid, case in calls:
        got = by_number[case]
        assert (got["update_count"], got["status"], got["end_reason"]) == (
            1,
            "in_progress",
            "CUSTOMER_HANGUP",
        ), (cid, got)
    assert all(c["update_count"] == 0 for n, c in by_number.items() if n >= FIRST_CASE + len(calls))
    outcomes = crm.client.get("/call-outcomes").json()
    assert sorted(o["conversation_id"] for o in outcomes) == sorted(cid for cid, _ in calls)
    assert {o["end_reason"] for o in outcomes} == {"CUSTOMER_HANGUP"}
    summary = crm.requests()
    expected_keys = {f"{cid}:{CRM_UPDATE}:{CRM_UPDATE_NODE}" for cid, _ in calls} | {
        f"{cid}:{POST_CALL_LOG}:{OUTCOME_FLOW_NODE}" for cid, _ in calls
    }
    assert set(summary["keys"]) == expected_keys
    return dict(summary)


def suspended(db: Path, conversation_id: str) -> bool | None:
    """True once the conversation's saved turn waits for an in-call action (else None, to poll)."""
    sql = (
        "SELECT 1 FROM conversations WHERE id = ? AND json_extract(state, '$.pending') IS NOT NULL"
    )
    return True if query(db, sql, conversation_id) else None


def test_redelivery_after_crash_mid_in_call_action(serve: ServeProcess, crm: CrmProcess) -> None:
    """The server dies while a turn waits for its in-call CRM lookup; the provider's redelivery gets the answer."""
    cid, case = f"chaos-midaction-{secrets.token_hex(3)}", FIRST_CASE
    provider = RetryingProvider(serve.url, serve.events_secret)
    started, said, keyed, ended = call_events(cid, case)
    with provider.client() as client:
        provider.deliver(client, started)
        provider.deliver(client, said)
        crm.set_faults(delay_ms=20_000)  # the lookup (GET /cases/N) hangs: the turn stays suspended
        result: list[Delivery] = []
        sender = threading.Thread(target=lambda: result.append(provider.deliver(client, keyed)))
        sender.start()
        wait_for(
            "the turn to wait for its in-call lookup",
            lambda: suspended(serve.db_path, cid),
            timeout_s=30,
        )
        kill_group(serve)
        crm.clear_faults()
        serve.start()
        sender.join(120)
        assert result and result[0].sends > 1  # the provider delivered the keyed digits again
        call = Call(cid, case, result)
        assert missing_says(call, result[0]) == [], result[0].reply
        follow_up = provider.deliver(
            client, {"conversation_id": cid, "type": "caller.said", "text": "case status"}
        )
        assert not missing_says(Call(cid, case, [follow_up]), follow_up), follow_up.reply
        provider.deliver(client, ended)
