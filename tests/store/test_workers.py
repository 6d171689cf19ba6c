"""Heartbeats, and the recovery claim that exactly one survivor wins."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from postcall.store import APP_VERSION, Store
from postcall.store.schema import worker_heartbeats
from store.helpers import new_id


def register(store: Store, executor_id: str) -> None:
    store.register_worker(
        executor_id=executor_id, hostname="host-a", pid=4242, process_start="1", agent="agent",
        app_version=APP_VERSION, queue_name="q", concurrency=4,
    )


def age(store: Store, executor_id: str, seconds: float) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            sa.update(worker_heartbeats)
            .where(worker_heartbeats.c.executor_id == executor_id)
            .values(last_seen_epoch=worker_heartbeats.c.last_seen_epoch - seconds)
        )


def test_heartbeat_refreshes_and_reports_the_previous_state(store: Store) -> None:
    wid = new_id("w")
    register(store, wid)
    age(store, wid, 100)
    before = {w.executor_id: w.last_seen_epoch for w in store.workers()}[wid]
    assert store.heartbeat(wid) == "running"
    after = {w.executor_id: w.last_seen_epoch for w in store.workers()}[wid]
    assert after > before + 50
    assert store.heartbeat(new_id("unknown")) is None


def test_a_fresh_worker_cannot_be_claimed(store: Store) -> None:
    wid = new_id("w")
    register(store, wid)
    assert store.claim_recovery(wid, claimer="other", stale_after_s=10, claim_ttl_s=60) is False


def test_exactly_one_of_many_survivors_claims_a_dead_worker(store: Store) -> None:
    dead = new_id("dead")
    register(store, dead)
    age(store, dead, 60)
    wins: list[str] = []
    barrier = threading.Barrier(6)

    def claim(name: str) -> None:
        barrier.wait()
        if store.claim_recovery(dead, claimer=name, stale_after_s=10, claim_ttl_s=60):
            wins.append(name)

    threads = [threading.Thread(target=claim, args=(f"s{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    store.finish_recovery(dead, claimer=wins[0], recovered=3)
    row = {w.executor_id: w for w in store.workers()}[dead]
    assert (row.state, row.recovered_by, row.recovered_count) == ("dead", wins[0], 3)
    _, candidates = store.recovery_candidates("someone")
    assert dead not in {c.executor_id for c in candidates}


def test_an_abandoned_claim_expires(store: Store) -> None:
    dead = new_id("dead")
    register(store, dead)
    age(store, dead, 60)
    assert store.claim_recovery(dead, claimer="first", stale_after_s=10, claim_ttl_s=3600) is True
    assert store.claim_recovery(dead, claimer="second", stale_after_s=10, claim_ttl_s=3600) is False
    with store.engine.begin() as conn:
        conn.execute(
            sa.update(worker_heartbeats)
            .where(worker_heartbeats.c.executor_id == dead)
            .values(recovery_claimed_epoch=worker_heartbeats.c.recovery_claimed_epoch - 7200)
        )
    assert store.claim_recovery(dead, claimer="second", stale_after_s=10, claim_ttl_s=3600) is True
