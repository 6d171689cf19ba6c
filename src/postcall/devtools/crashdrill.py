"""A serving process for crash drills: ends conversations through the store and executes their post-call runs.

    python -m postcall.devtools.crashdrill --db URL --crm http://127.0.0.1:PORT --conversations 300

It plays `postcall serve`'s part in the crash tests: it records the end of conversations
`drill-0` ... `drill-<N-1>` (each with one post-call run of two steps: a PATCH of case
`first_case + i` on the CRM and a log event) while its executor runs them.  Killed at any
moment and started again, it carries on: ends already recorded are skipped (record_end returns
False), runs of the killed process are taken over (its heartbeat names a pid that is gone),
and completed steps are not repeated.  It prints one JSON line per milestone and exits 0 when
every run has succeeded or failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from postcall.devtools.scripted import PROGRAM_NAME
from postcall.devtools.scripted import register as register_scripted
from postcall.durable.executor import Executor, ExecutorConfig
from postcall.durable.program import ProgramRegistry
from postcall.store import RunSpec, open_store, run_id_for
from postcall.vocabulary import EndReason, Initiator

TOPIC = "crm-update"


def drill_spec(index: int, crm_url: str, first_case: int) -> tuple[str, RunSpec]:
    conversation_id = f"drill-{index}"
    case = first_case + index
    steps: list[dict[str, Any]] = [
        {
            "node_id": "patchCase",
            "kind": "http",
            "payload": {
                "method": "PATCH",
                "url": f"{crm_url}/cases/{case}",
                "body": json.dumps({"status": "closed", "end_reason": "CUSTOMER_HANGUP"}),
                "content_type": "application/json",
            },
        },
        {"node_id": "logEnd", "kind": "log", "payload": {"event_name": "CallEnded", "properties": {"case": case}}},
    ]
    data = {
        "conversation_id": conversation_id,
        "topic": TOPIC,
        "steps": steps,
        "settings": {
            "allowed_hosts": ["127.0.0.1", "localhost"],
            "retry": {"max_attempts": 20, "initial_interval_s": 0.05, "max_interval_s": 1.0},
        },
    }
    return conversation_id, RunSpec(TOPIC, PROGRAM_NAME, data)


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, "t": round(time.time(), 3), **fields}), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--db", required=True, help="database URL")
    parser.add_argument("--crm", required=True, help="base URL of the example CRM")
    parser.add_argument("--conversations", type=int, default=300)
    parser.add_argument("--first-case", type=int, default=1001)
    parser.add_argument("--rate", type=float, default=0.0, help="endings per second (0: as fast as possible)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the runs")
    args = parser.parse_args(argv)

    programs = ProgramRegistry()
    register_scripted(programs)
    store = open_store(args.db)
    executor = Executor(
        ExecutorConfig(database_url=args.db, concurrency=args.concurrency, polling_interval_s=0.02, heartbeat_interval_s=0.5),
        programs,
        store=store,
    )
    executor.start()
    emit("started", executor_id=executor.executor_id)
    run_ids = []
    ended = 0
    started = time.monotonic()
    for index in range(args.conversations):
        conversation_id, spec = drill_spec(index, args.crm, args.first_case)
        run_ids.append(run_id_for(conversation_id, TOPIC))
        conversation = store.create_conversation(conversation_id, agent="drill", channel="drill", exist_ok=True)
        if conversation.status == "ended":
            continue
        if store.record_end(conversation_id, {"reason": EndReason.CUSTOMER_HANGUP, "initiator": Initiator.CALLER}, [spec]):
            ended += 1
        if args.rate > 0:
            delay = started + (index + 1) / args.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    emit("all_ended", newly_ended=ended)
    statuses = executor.wait_for_runs(run_ids, timeout_s=args.timeout, poll_s=0.1)
    counts: dict[str, int] = {}
    for status in statuses.values():
        counts[status] = counts.get(status, 0) + 1
    emit("done", statuses=counts, taken_over=executor.taken_over)
    executor.stop()
    store.close()
    return 0 if counts.get("succeeded", 0) == len(run_ids) else 1


if __name__ == "__main__":
    sys.exit(main())
