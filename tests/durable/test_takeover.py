"""Which workers count as dead: stale heartbeats anywhere, vanished processes on this host."""

from __future__ import annotations

import os
import subprocess
import sys

from postcall.durable.takeover import (
    HOSTNAME,
    TakeoverPolicy,
    dead_workers,
    process_alive,
    process_start_token,
)
from postcall.store import APP_VERSION, WorkerHeartbeat


def beat(executor_id: str, *, host: str = "other-host", pid: int = 1, last_seen: float = 100.0,
         version: str = APP_VERSION, start: str | None = None) -> WorkerHeartbeat:
    return WorkerHeartbeat(
        executor_id=executor_id, hostname=host, pid=pid, process_start=start, agent=None, app_version=version,
        queue_name="q", concurrency=4, state="running", started_epoch=0.0, last_seen_epoch=last_seen,
        recovered_by=None, recovery_claimed_epoch=None, recovered_count=None,
    )


def gone_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_heartbeats_are_dead_fresh_ones_alive() -> None:
    policy = TakeoverPolicy(stale_after_s=10)
    found = dead_workers(200.0, [beat("fresh", last_seen=195.0), beat("stale", last_seen=180.0)], policy)
    assert [(hb.executor_id, here) for hb, here in found] == [("stale", False)]


def test_a_vanished_process_on_this_host_is_dead_at_once() -> None:
    policy = TakeoverPolicy(stale_after_s=10)
    me = os.getpid()
    workers = [
        beat("gone", host=HOSTNAME, pid=gone_pid(), last_seen=199.0),
        beat("alive", host=HOSTNAME, pid=me, start=process_start_token(me), last_seen=199.0),
        beat("reused-pid", host=HOSTNAME, pid=me, start="0", last_seen=199.0),
    ]
    found = {hb.executor_id: here for hb, here in dead_workers(200.0, workers, policy)}
    assert found == {"gone": True, "reused-pid": True}
    assert dead_workers(200.0, workers, TakeoverPolicy(stale_after_s=10, check_local_pids=False)) == []


def test_other_application_versions_are_left_alone() -> None:
    assert dead_workers(1000.0, [beat("old", last_seen=0.0, version="postcall-runs-v0")], TakeoverPolicy()) == []


def test_process_liveness() -> None:
    me = os.getpid()
    assert process_alive(me, process_start_token(me))
    assert not process_alive(gone_pid(), None)
    assert TakeoverPolicy(stale_after_s=5).claim_ttl_s == 30.0
    assert TakeoverPolicy(stale_after_s=60).claim_ttl_s == 240.0
