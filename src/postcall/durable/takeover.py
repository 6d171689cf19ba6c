"""Heartbeats and takeover: a worker that dies for good has its in-flight runs recovered by a survivor.

DBOS recovers a dead executor's PENDING workflows only when an executor with the same id
starts again.  Workers here have one id per process, so every worker writes a heartbeat row
every `heartbeat_interval_s`, and on the same beat looks at the others: a worker whose beat is
older than `stale_after_s` (or, on this very host, whose process is gone) is dead.  One
survivor claims it with a conditional UPDATE (exactly one claim succeeds) and asks DBOS to
re-enqueue its PENDING workflows; any live worker then dequeues and replays them.

Bound: a dead worker's runs are back on the queue at most stale_after_s + heartbeat_interval_s
after its last beat (immediately after the next beat when it died on a host a survivor shares).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from postcall.logging import get_logger
from postcall.store import APP_VERSION, Store, WorkerHeartbeat

log = get_logger("postcall.workers")

HOSTNAME = socket.gethostname()


def process_start_token(pid: int) -> str | None:
    """The process's start time in clock ticks (Linux), so a reused pid is not mistaken for the old process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22; the command name (field 2) may hold spaces, so count from its closing ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def process_alive(pid: int, start_token: str | None) -> bool:
    """Whether the process `pid` that wrote the heartbeat (same start time) still runs on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if start_token is None:
        return True
    current = process_start_token(pid)
    return current is None or current == start_token


@dataclass(frozen=True, slots=True)
class TakeoverPolicy:
    stale_after_s: float = 15.0
    """A heartbeat older than this marks its worker dead."""
    check_local_pids: bool = True
    """Also treat a worker on this host whose process is gone as dead, without waiting."""

    @property
    def claim_ttl_s(self) -> float:
        """A survivor that claimed a recovery and died before finishing it loses the claim after this."""
        return max(30.0, 4 * self.stale_after_s)


def dead_workers(now: float, others: list[WorkerHeartbeat], policy: TakeoverPolicy) -> list[tuple[WorkerHeartbeat, bool]]:
    """(worker, seen dead on this host) for every worker that may be taken over."""
    found = []
    for hb in others:
        if hb.app_version != APP_VERSION:
            continue  # DBOS recovers workflows of its own application version only
        gone_here = policy.check_local_pids and hb.hostname == HOSTNAME and not process_alive(hb.pid, hb.process_start)
        if gone_here or now - hb.last_seen_epoch > policy.stale_after_s:
            found.append((hb, gone_here))
    return found


def take_over_dead_workers(
    store: Store,
    executor_id: str,
    policy: TakeoverPolicy,
    recover: Callable[[str], int],
) -> list[str]:
    """One takeover pass; returns the executor ids this worker recovered.

    `recover(executor_id)` re-enqueues that executor's PENDING workflows and returns how many.
    """
    now, others = store.recovery_candidates(executor_id)
    recovered = []
    for hb, gone_here in dead_workers(now, others, policy):
        claimed = store.claim_recovery(
            hb.executor_id,
            claimer=executor_id,
            stale_after_s=None if gone_here else policy.stale_after_s,
            claim_ttl_s=policy.claim_ttl_s,
        )
        if not claimed:
            continue
        count = recover(hb.executor_id)
        store.finish_recovery(hb.executor_id, claimer=executor_id, recovered=count)
        log.warning(
            "worker_taken_over",
            dead_executor=hb.executor_id,
            dead_host=hb.hostname,
            dead_pid=hb.pid,
            silent_for_s=round(now - hb.last_seen_epoch, 3),
            runs_recovered=count,
            executor_id=executor_id,
        )
        recovered.append(hb.executor_id)
    return recovered
