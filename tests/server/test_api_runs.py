"""`/api/runs` on real post-call runs: the executor runs them against the example CRM on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from postcall.devtools.scripted import PROGRAM_NAME, ScriptedProgram
from postcall.durable import Executor, ExecutorConfig, ProgramRegistry
from postcall.server.app import create_app
from postcall.server.auth import TOKEN_ENV
from postcall.store import Store, open_store, run_id_for
from postcall.topics import LoadResult
from server.conftest import ADMIN_TOKEN
from server.world import (
    AssembledRuntime,
    Settings,
    crm_case,
    crm_patch_run,
    free_port,
    record_call,
    running_example_crm,
    wait_until,
)

TOPIC = "Post-call CRM update"


@dataclass
class World:
    store: Store
    executor: Executor
    crm_url: str
    app: FastAPI


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, contoso: LoadResult) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("runs")
    url = f"sqlite:///{tmp / 'postcall.db'}"
    store = open_store(url)
    mp = pytest.MonkeyPatch()
    mp.setenv(TOKEN_ENV, ADMIN_TOKEN)
    try:
        with running_example_crm(tmp / "crm.db", free_port()) as crm:
            executor = Executor(ExecutorConfig(database_url=url, heartbeat_interval_s=0.5, stale_after_s=5),
                                ProgramRegistry({PROGRAM_NAME: ScriptedProgram}), store=store)
            executor.start()
            try:
                runtime = AssembledRuntime(agent=contoso.agent, diagnostics=list(contoso.diagnostics),
                                           store=store, settings=Settings(data_dir=tmp / "data"),
                                           executor=executor)
                yield World(store, executor, crm.url, create_app(runtime))
            finally:
                executor.stop(drain=False)
    finally:
        mp.undo()
        store.close()


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(world.app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as c:
        yield c


def _end_call(world: World, conversation_id: str, case: str) -> str:
    record_call(world.store, conversation_id, runs=[crm_patch_run(conversation_id, world.crm_url, case)])
    return run_id_for(conversation_id, TOPIC)


def test_a_succeeded_run_shows_each_step_and_attempt(world: World, client: TestClient) -> None:
    run_id = _end_call(world, "CA-ok", "1002")
    assert world.executor.wait_for_runs([run_id], timeout_s=30)[run_id] == "succeeded"
    body = client.get(f"/api/runs/{run_id}").json()
    assert body["status"] == "succeeded" and body["conversation_id"] == "CA-ok"
    assert [(s["node_id"], s["kind"], s["status"]) for s in body["steps"]] == [
        ("patchCase", "http", "succeeded"), ("logDone", "log", "succeeded")]
    attempt = body["steps"][0]["attempts"][0]
    assert attempt["request"]["method"] == "PATCH"
    assert attempt["request"]["headers"]["Authorization"] == "[redacted]"
    assert attempt["response"]["status_code"] == 200
    assert body["steps"][0]["idempotency_key"] == f"CA-ok:{TOPIC}:patchCase"
    assert "crm-secret-token" not in client.get(f"/api/runs/{run_id}").text
    # The conversation lists its run too.
    conv = client.get("/api/conversations/CA-ok").json()
    assert [(r["id"], r["status"]) for r in conv["runs"]] == [(run_id, "succeeded")]


def test_a_failed_run_can_be_redriven_once_the_crm_is_back(world: World, client: TestClient) -> None:
    httpx.post(f"{world.crm_url}/admin/faults", json={"status": 503}, timeout=5).raise_for_status()
    try:
        run_id = _end_call(world, "CA-fail", "1003")
        assert world.executor.wait_for_runs([run_id], timeout_s=30)[run_id] == "failed"
    finally:
        httpx.delete(f"{world.crm_url}/admin/faults", timeout=5).raise_for_status()

    failed = client.get("/api/runs", params={"status": "failed"}).json()
    assert run_id in [r["id"] for r in failed["items"]]
    assert failed["counts"]["failed"] >= 1
    body = client.get(f"/api/runs/{run_id}").json()
    assert body["status"] == "failed" and body["failed_node"] == "patchCase"
    step = body["steps"][0]
    assert step["status"] == "failed"
    assert [a["response"]["status_code"] for a in step["attempts"]] == [503, 503]
    assert crm_case(world.crm_url, "1003")["update_count"] == 0

    response = client.post(f"/api/runs/{run_id}/redrive")
    assert response.status_code == 202, response.text
    assert response.json()["from_step"] == body["failed_step"]
    wait_until(lambda: client.get(f"/api/runs/{run_id}").json()["status"] == "succeeded",
               what="the redriven run to succeed")
    after = client.get(f"/api/runs/{run_id}").json()
    assert after["redrives"] == 1
    assert after["steps"][0]["attempts"][-1]["response"]["status_code"] == 200
    case = crm_case(world.crm_url, "1003")
    assert case["status"] == "resolved" and case["update_count"] == 1

    again = client.post(f"/api/runs/{run_id}/redrive")
    assert again.status_code == 409
    assert "only failed runs can be redriven" in again.json()["detail"]


def test_redrive_of_an_unknown_run_is_404(client: TestClient) -> None:
    response = client.post("/api/runs/postcall:nope:Topic/redrive")
    assert response.status_code == 404
    assert response.json()["detail"] == "No post-call run 'postcall:nope:Topic'."


def test_bad_run_filters_are_422_naming_the_parameter(client: TestClient) -> None:
    response = client.get("/api/runs", params={"status": "exploded"})
    assert response.status_code == 422
    assert "query parameter 'status'" in response.json()["detail"]
