"""`postcall runs` and `postcall worker` from the command line: errors are sentences, redrive runs here when no worker is up."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from click.testing import CliRunner

from durable import flows_for_tests
from postcall.cli.main import cli
from postcall.devtools.scripted import INSTALL, PROGRAM_NAME, ScriptedProgram
from postcall.durable import Executor, ExecutorConfig, ProgramRegistry
from postcall.store import RunSpec, open_store

SETTINGS = {"flows": {"switchable": {"callable": "durable.flows_for_tests:switchable"}}}
RETRYING = {
    "flows": {"busy": {"callable": "durable.flows_for_tests:switchable_busy"}},
    "retry": {"max_attempts": 3, "initial_interval_s": 0.01, "max_interval_s": 0.02},
}

SCRIPTED = ProgramRegistry({PROGRAM_NAME: ScriptedProgram})


def test_listing_a_database_that_does_not_exist_yet(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["runs", str(tmp_path)])
    assert result.exit_code == 0 and "No post-call runs" in result.output
    assert not (tmp_path / ".postcall").exists()
    as_json = CliRunner().invoke(cli, ["runs", str(tmp_path), "--format", "json"])
    assert json.loads(as_json.output)["runs"] == []


def test_bad_urls_and_unreachable_servers_are_clear_errors(tmp_path: Path) -> None:
    bad = CliRunner().invoke(cli, ["runs", "--db", "mysql://u:pw@h/db"])
    assert bad.exit_code == 1 and "Unsupported database URL" in bad.output and "pw" not in bad.output
    down = CliRunner().invoke(cli, ["runs", "--db", "postgresql://u:topsecret@127.0.0.1:1/db"])
    assert down.exit_code == 1 and "Could not" in down.output and "topsecret" not in down.output
    worker = CliRunner().invoke(cli, ["worker", str(tmp_path), "--db", "postgresql://u:topsecret@127.0.0.1:1/db"])
    assert worker.exit_code == 1 and "topsecret" not in worker.output
    assert "Traceback" not in worker.output


def test_redrive_without_a_worker_runs_the_runs_here(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'postcall.db'}"
    flows_for_tests.switch["fail"] = True
    with open_store(url) as store:
        cid = f"cli-{uuid.uuid4().hex[:8]}"
        store.create_conversation(cid, agent="a", channel="t")
        steps = [{"node_id": "notify", "kind": "flow", "payload": {"flow_id": "switchable", "inputs": {}}}]
        store.record_end(cid, {"reason": "CUSTOMER_HANGUP"}, [RunSpec("t", "scripted", {"conversation_id": cid, "topic": "t", "steps": steps, "settings": SETTINGS})])
        run_id = f"postcall:{cid}:t"
        with Executor(ExecutorConfig(database_url=url), SCRIPTED, store=store) as executor:
            assert executor.wait_for_runs([run_id]) == {run_id: "failed"}
    flows_for_tests.switch["fail"] = False
    result = CliRunner().invoke(cli, ["runs", "redrive", "--all-failed", "--db", url, "--agent", str(tmp_path), "--install", INSTALL])
    assert result.exit_code == 0, result.output
    assert f"redriven {run_id} from step 1" in result.output and f"{run_id}: succeeded" in result.output
    nothing = CliRunner().invoke(cli, ["runs", "redrive", "--all-failed", "--db", url])
    assert nothing.exit_code == 0 and "No failed runs" in nothing.output


def test_options_may_follow_the_agent_and_precede_the_subcommand(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    after = CliRunner().invoke(cli, ["runs", str(tmp_path), "--status", "failed", "--format", "json"])
    assert after.exit_code == 0 and json.loads(after.output)["runs"] == []
    open_store(url).close()
    before = CliRunner().invoke(cli, ["runs", "--db", url, "redrive", "--all-failed"])
    assert before.exit_code == 0 and "No failed runs" in before.output


def _failed_run(url: str, *, retrying: bool = False) -> str:
    """A run whose one flow step fails (retryably: three attempts, then the run fails)."""
    flows_for_tests.switch["fail"] = True
    with open_store(url) as store:
        cid = f"cli-{uuid.uuid4().hex[:8]}"
        store.create_conversation(cid, agent="a", channel="t")
        flow, settings = ("busy", RETRYING) if retrying else ("switchable", SETTINGS)
        steps = [{"node_id": "notify", "kind": "flow", "payload": {"flow_id": flow, "inputs": {}}}]
        spec = {"conversation_id": cid, "topic": "Post-call CRM update", "steps": steps, "settings": settings}
        store.record_end(cid, {"reason": "CUSTOMER_HANGUP"}, [RunSpec("Post-call CRM update", "scripted", spec)])
        run_id = f"postcall:{cid}:Post-call CRM update"
        with Executor(ExecutorConfig(database_url=url), SCRIPTED, store=store) as executor:
            assert executor.wait_for_runs([run_id]) == {run_id: "failed"}
    return run_id


def test_runs_and_redrive_take_the_agent_folder_from_anywhere_and_a_prefix(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    agent = tmp_path / "agent"
    (agent / ".postcall").mkdir(parents=True)
    run_id = _failed_run(f"sqlite:///{agent / '.postcall' / 'postcall.db'}")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("POSTCALL_DATABASE_URL", raising=False)

    lost = CliRunner().invoke(cli, ["runs"])
    assert lost.exit_code == 0 and "No post-call runs" in lost.output and "postcall runs AGENT" in lost.output

    listed = CliRunner().invoke(cli, ["runs", str(agent)])
    assert listed.exit_code == 0, listed.output
    assert run_id in listed.output  # whole, not cut: it can be copied into redrive

    flows_for_tests.switch["fail"] = False
    prefix = run_id[: len("postcall:") + 8]
    redriven = CliRunner().invoke(cli, ["runs", str(agent), "redrive", prefix, "--install", INSTALL])
    assert redriven.exit_code == 0, redriven.output
    assert f"redriven {run_id} from step 1" in redriven.output and f"{run_id}: succeeded" in redriven.output


def test_a_prefix_matching_several_runs_or_none_is_a_clear_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    _failed_run(url)
    _failed_run(url)
    several = CliRunner().invoke(cli, ["runs", "--db", url, "redrive", "postcall:cli-"])
    assert several.exit_code == 1 and "matches several runs" in several.output and "Traceback" not in several.output
    none = CliRunner().invoke(cli, ["runs", "--db", url, "redrive", "postcall:nope"])
    assert none.exit_code == 1 and "No post-call run 'postcall:nope'" in none.output


def test_attempts_are_one_figure_in_the_cli_the_api_and_the_console(tmp_path: Path) -> None:
    from postcall.server.api.views import steps_of

    url = f"sqlite:///{tmp_path / 'a.db'}"
    run_id = _failed_run(url, retrying=True)

    def shown() -> tuple[int, int, int]:
        listed = json.loads(CliRunner().invoke(cli, ["runs", "--db", url, "--format", "json"]).output)["runs"]
        with open_store(url) as store:
            run = store.get_run(run_id)
            assert run is not None
            console_step = steps_of(run.steps)[-1]  # the per-step attempts the console lists
            return listed[0]["attempts"], run.attempts, len(console_step.attempts)

    cli_n, store_n, console_n = shown()
    assert cli_n == store_n == console_n == 3
    flows_for_tests.switch["fail"] = False
    redriven = CliRunner().invoke(cli, ["runs", "--db", url, "redrive", run_id, "--agent", str(tmp_path), "--install", INSTALL])
    assert redriven.exit_code == 0, redriven.output
    after = shown()
    assert after[0] == after[1] == after[2] == console_n + 1
