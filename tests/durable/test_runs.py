"""Post-call runs on DBOS in this process: steps, failures, errorHandling, idempotent ends, redrive, budget."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from crm.launcher import CrmProcess
from durable import flows_for_tests, programs_for_tests
from postcall.cli.main import cli
from postcall.devtools.scripted import PROGRAM_NAME, ScriptedProgram
from postcall.durable import Executor, ExecutorConfig, ProgramRegistry
from postcall.store import RunSpec, Store, open_store

SETTINGS = {
    "allowed_hosts": ["127.0.0.1"],
    "retry": {"max_attempts": 3, "initial_interval_s": 0.01, "max_interval_s": 0.02},
    "flows": {
        "switchable": {"callable": "durable.flows_for_tests:switchable"},
        "held": {"callable": "durable.flows_for_tests:held_until_released"},
        "failsThenHeld": {"callable": "durable.flows_for_tests:fails_once_then_held"},
    },
}


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{Path(tmp_path_factory.mktemp('runs')) / 'postcall.db'}"


@pytest.fixture(scope="module")
def store(db_url: str) -> Iterator[Store]:
    with open_store(db_url) as opened:
        yield opened


@pytest.fixture(scope="module")
def executor(db_url: str, store: Store) -> Iterator[Executor]:
    programs = ProgramRegistry({PROGRAM_NAME: ScriptedProgram})
    programs_for_tests.register(programs)
    with Executor(ExecutorConfig(database_url=db_url, polling_interval_s=0.02, heartbeat_interval_s=0.5, stale_after_s=5),
                  programs, store=store) as running:
        yield running


def patch_step(crm: CrmProcess, case: int, node: str = "patchCase", on_error: str = "raise") -> dict[str, Any]:
    return {
        "node_id": node,
        "kind": "http",
        "on_error": on_error,
        "payload": {
            "method": "PATCH",
            "url": f"{crm.url}/cases/{case}",
            "headers": {"Authorization": "Bearer very-secret-token"},
            "body": json.dumps({"status": "closed", "end_reason": "CUSTOMER_HANGUP"}),
            "content_type": "application/json",
        },
    }


LOG_STEP = {"node_id": "logEnd", "kind": "log", "payload": {"event_name": "CallEnded", "properties": {"reason": "CUSTOMER_HANGUP"}}}


def dbos_status_becomes(store: Store, run_id: str, status: str, timeout_s: float = 30.0) -> bool:
    """DBOS writes a workflow's final status after the run's own record (the step that fails or
    finishes it); on a loaded machine the two are apart by a moment, so poll for it."""
    deadline = time.monotonic() + timeout_s
    while (seen := store.dbos.workflow_status(run_id)) != status and time.monotonic() < deadline:
        time.sleep(0.02)
    return seen == status


def end_with(store: Store, steps: list[dict[str, Any]], *, topic: str = "crm", program: str = "scripted") -> str:
    cid = f"conv-{uuid.uuid4().hex[:10]}"
    store.create_conversation(cid, agent="test", channel="test")
    data = {"conversation_id": cid, "topic": topic, "steps": steps, "settings": SETTINGS}
    assert store.record_end(cid, {"reason": "CUSTOMER_HANGUP"}, [RunSpec(topic, program, data)])
    return f"postcall:{cid}:{topic}"


def test_a_run_makes_its_steps_once_and_succeeds(executor: Executor, store: Store, crm: CrmProcess) -> None:
    run_id = end_with(store, [patch_step(crm, 1201), LOG_STEP])
    assert executor.wait_for_runs([run_id]) == {run_id: "succeeded"}
    run = store.get_run(run_id)
    assert run is not None and run.executions == 1 and run.error is None
    # Done in milliseconds: never marked running, its start recorded with its outcome.
    assert run.executor_id == executor.executor_id and run.started_at is not None and run.finished_at is not None
    assert run.started_at <= run.finished_at
    assert [(s.step, s.node_id, s.attempt, s.ok) for s in run.steps] == [(1, "patchCase", 1, True), (2, "logEnd", 1, True)]
    assert run.steps[0].request is not None and run.steps[0].request["headers"]["Authorization"] == "[redacted]"
    assert run.outcome is not None and run.outcome["log"] == ["patchCase: ok (200)", "logEnd: ok"]
    assert crm.case(1201)["update_count"] == 1
    conversation_id = run.conversation_id
    assert crm.requests()["keys"][f"{conversation_id}:crm:patchCase"] == 1
    events = store.telemetry(conversation_id=conversation_id)
    assert [(e.event_name, e.run_id, e.idempotency_key) for e in events] == [("CallEnded", run_id, f"{conversation_id}:crm:logEnd")]
    assert dbos_status_becomes(store, run_id, "SUCCESS")


def test_an_end_processed_twice_runs_nothing_twice(executor: Executor, store: Store, crm: CrmProcess) -> None:
    run_id = end_with(store, [patch_step(crm, 1202)])
    cid = run_id.split(":")[1]
    data = {"conversation_id": cid, "topic": "crm", "steps": [patch_step(crm, 1202)], "settings": SETTINGS}
    assert store.record_end(cid, {"reason": "CUSTOMER_HANGUP"}, [RunSpec("crm", "scripted", data)]) is False
    assert executor.wait_for_runs([run_id]) == {run_id: "succeeded"}
    assert crm.case(1202)["update_count"] == 1
    assert crm.requests()["keys"][f"{cid}:crm:patchCase"] == 1


def test_a_failing_step_fails_the_run_under_raise_behaviour(executor: Executor, store: Store, crm: CrmProcess) -> None:
    run_id = end_with(store, [patch_step(crm, 99999), LOG_STEP])
    assert executor.wait_for_runs([run_id]) == {run_id: "failed"}
    run = store.get_run(run_id)
    assert run is not None
    assert run.failed_step == 1 and run.failed_node == "patchCase" and run.attempts == 1
    assert "answered 404" in (run.error or "")
    failing = run.failing_step
    assert failing is not None and failing.response is not None and failing.response["status_code"] == 404
    assert [s.node_id for s in run.steps] == ["patchCase"]  # the log step never ran
    assert dbos_status_becomes(store, run_id, "ERROR")


def test_continue_on_error_goes_on(executor: Executor, store: Store, crm: CrmProcess) -> None:
    run_id = end_with(store, [patch_step(crm, 99998, on_error="continue"), LOG_STEP])
    assert executor.wait_for_runs([run_id]) == {run_id: "succeeded"}
    run = store.get_run(run_id)
    assert run is not None and [s.node_id for s in run.steps] == ["patchCase", "logEnd"]
    assert run.outcome is not None and "failed after 1 attempt(s)" in run.outcome["log"][0]


def test_redrive_resumes_at_the_failed_step_without_repeating_earlier_ones(executor: Executor, store: Store, crm: CrmProcess) -> None:
    flows_for_tests.switch["fail"] = True
    flow_step = {"node_id": "notify", "kind": "flow", "payload": {"flow_id": "switchable", "inputs": {"case": 1203}}}
    run_id = end_with(store, [patch_step(crm, 1203), flow_step, LOG_STEP])
    assert executor.wait_for_runs([run_id]) == {run_id: "failed"}
    failed = store.get_run(run_id)
    assert failed is not None and failed.failed_step == 2 and "downstream system is down" in (failed.error or "")

    flows_for_tests.switch["fail"] = False
    result = store.redrive(run_id)
    assert result.from_step == 2
    assert executor.wait_for_runs([run_id]) == {run_id: "succeeded"}
    run = store.get_run(run_id)
    assert run is not None and run.redrives == 1 and run.executions == 2 and run.error is None
    assert [(s.step, s.node_id, s.ok) for s in run.steps] == [(1, "patchCase", True), (2, "notify", False), (2, "notify", True), (3, "logEnd", True)]
    cid = run.conversation_id
    assert crm.requests()["keys"][f"{cid}:crm:patchCase"] == 1  # not repeated by the redrive
    assert crm.case(1203)["update_count"] == 1


def test_a_program_that_raises_fails_its_run_visibly(executor: Executor, store: Store) -> None:
    run_id = end_with(store, [], topic="broken", program="exploding")
    assert executor.wait_for_runs([run_id]) == {run_id: "failed"}
    run = store.get_run(run_id)
    assert run is not None and "ValueError" in (run.error or "") and run.failed_step is None


def test_an_unknown_program_fails_its_run_and_names_the_known_ones(executor: Executor, store: Store) -> None:
    run_id = end_with(store, [], topic="nobody", program="no-such-program")
    assert executor.wait_for_runs([run_id]) == {run_id: "failed"}
    run = store.get_run(run_id)
    assert run is not None and "no-such-program" in (run.error or "") and "scripted" in (run.error or "")


def test_the_run_budget_fails_a_run_that_runs_out_of_time(executor: Executor, store: Store, crm: CrmProcess) -> None:
    cid = f"conv-{uuid.uuid4().hex[:10]}"
    store.create_conversation(cid, agent="test", channel="test")
    settings = {**SETTINGS, "run_budget_s": 1.0, "retry": {"max_attempts": 500, "initial_interval_s": 0.05, "max_interval_s": 0.05}}
    data = {"conversation_id": cid, "topic": "slow", "steps": [patch_step(crm, 1204), LOG_STEP], "settings": settings}
    crm.set_faults(status=503, count=None)
    try:
        store.record_end(cid, {"reason": "CUSTOMER_HANGUP"}, [RunSpec("slow", "scripted", data)])
        run_id = f"postcall:{cid}:slow"
        assert executor.wait_for_runs([run_id]) == {run_id: "failed"}
    finally:
        crm.clear_faults()
    run = store.get_run(run_id)
    assert run is not None and run.failed_step == 1
    # Retries stopped by the budget ("no time left in the run budget"), or, on a loaded machine,
    # the budget spent before the step could start ("time budget ... was spent").
    assert "budget" in (run.error or "")
    assert run.attempts < 500


def test_cli_lists_failed_runs_with_the_failing_exchange_redacted(executor: Executor, store: Store, db_url: str, crm: CrmProcess) -> None:
    run_id = end_with(store, [patch_step(crm, 99997)])
    assert executor.wait_for_runs([run_id]) == {run_id: "failed"}
    text = CliRunner().invoke(cli, ["runs", "--db", db_url, "--status", "failed"])
    assert text.exit_code == 0, text.output
    assert run_id in text.output and "PATCH" in text.output and "answered 404" in text.output
    assert "Authorization: [redacted]" in text.output and "very-secret-token" not in text.output
    as_json = CliRunner().invoke(cli, ["runs", "--db", db_url, "--status", "failed", "--format", "json"])
    assert as_json.exit_code == 0
    runs = {r["id"]: r for r in json.loads(as_json.output)["runs"]}
    failing = runs[run_id]["failing_step"]
    assert failing["response"]["status_code"] == 404 and failing["request"]["headers"]["Authorization"] == "[redacted]"
    assert all(r["status"] == "failed" for r in runs.values())


def test_cli_redrive_hands_runs_to_the_running_worker(executor: Executor, store: Store, db_url: str, crm: CrmProcess) -> None:
    flows_for_tests.switch["fail"] = True
    flow_step = {"node_id": "notify", "kind": "flow", "payload": {"flow_id": "switchable", "inputs": {}}}
    run_id = end_with(store, [flow_step])
    assert executor.wait_for_runs([run_id]) == {run_id: "failed"}
    flows_for_tests.switch["fail"] = False
    result = CliRunner().invoke(cli, ["runs", "redrive", "--db", db_url, run_id, "--wait", "--timeout", "60"])
    assert result.exit_code == 0, result.output
    assert f"redriven {run_id} from step 1" in result.output and "handed to the running worker" in result.output
    assert f"{run_id}: succeeded" in result.output
    again = CliRunner().invoke(cli, ["runs", "redrive", "--db", db_url, run_id])
    assert again.exit_code == 1 and "only failed runs can be redriven" in again.output
    missing = CliRunner().invoke(cli, ["runs", "redrive", "--db", db_url])
    assert missing.exit_code == 2 and "--all-failed" in missing.output


def test_a_redriven_http_step_keeps_its_idempotency_key(executor: Executor, store: Store, crm: CrmProcess) -> None:
    crm.set_faults(status=503, count=None)
    try:
        run_id = end_with(store, [LOG_STEP, patch_step(crm, 1205)])
        assert executor.wait_for_runs([run_id]) == {run_id: "failed"}
    finally:
        crm.clear_faults()
    run = store.get_run(run_id)
    assert run is not None and run.failed_step == 2 and run.attempts == 3
    key = f"{run.conversation_id}:crm:patchCase"
    assert all(s.request is not None and s.request["headers"]["Idempotency-Key"] == key for s in run.steps if s.node_id == "patchCase")
    store.redrive(run_id)
    assert executor.wait_for_runs([run_id]) == {run_id: "succeeded"}
    run = store.get_run(run_id)
    assert run is not None
    last = [s for s in run.steps if s.node_id == "patchCase"][-1]
    assert last.ok and last.request is not None and last.request["headers"]["Idempotency-Key"] == key
    assert crm.requests()["keys"][key] == 1 and crm.case(1205)["update_count"] == 1
    assert [s.step for s in run.steps if s.node_id == "logEnd"] == [1]  # the log step was not repeated


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_a_run_that_takes_a_while_is_shown_running_and_counted_once(executor: Executor, store: Store) -> None:
    flows_for_tests.held.clear()
    step = {"node_id": "slowBackend", "kind": "flow", "payload": {"flow_id": "held", "inputs": {}}}
    run_id = end_with(store, [step, LOG_STEP])
    try:
        wait_until(lambda: getattr(store.get_run(run_id), "status", None) == "running", "the run shown running")
        running = store.get_run(run_id)
        assert running is not None and running.executions == 1 and running.executor_id == executor.executor_id
        assert store.telemetry(conversation_id=running.conversation_id) == []  # stored with the outcome
    finally:
        flows_for_tests.held.set()
    assert executor.wait_for_runs([run_id]) == {run_id: "succeeded"}
    run = store.get_run(run_id)
    assert run is not None and run.executions == 1 and [s.node_id for s in run.steps] == ["slowBackend", "logEnd"]
    assert [e.event_name for e in store.telemetry(conversation_id=run.conversation_id)] == ["CallEnded"]


def test_a_failed_attempt_shows_its_run_running_at_once(executor: Executor, store: Store) -> None:
    flows_for_tests.held.clear()
    flows_for_tests.fail_once()
    step = {"node_id": "flaky", "kind": "flow", "payload": {"flow_id": "failsThenHeld", "inputs": {}}}
    run_id = end_with(store, [step])
    try:
        wait_until(lambda: bool(getattr(store.get_run(run_id), "steps", ())), "the failed attempt stored")
        run = store.get_run(run_id)
        assert run is not None and run.status == "running" and [(s.attempt, s.ok) for s in run.steps] == [(1, False)]
    finally:
        flows_for_tests.held.set()
    assert executor.wait_for_runs([run_id]) == {run_id: "succeeded"}
    run = store.get_run(run_id)
    assert run is not None and run.executions == 1 and [(s.attempt, s.ok) for s in run.steps] == [(1, False), (2, True)]
