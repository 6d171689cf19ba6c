"""`postcall runs` and `postcall worker` from the command line: errors are sentences, redrive runs here when no worker is up."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from click.testing import CliRunner

from durable import flows_for_tests
from postcall.cli.main import cli
from postcall.devtools.scripted import install as install_scripted
from postcall.durable import Executor, ExecutorConfig
from postcall.store import RunSpec, open_store

SETTINGS = {"flows": {"switchable": {"callable": "durable.flows_for_tests:switchable"}}}


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
    install_scripted()
    url = f"sqlite:///{tmp_path / 'postcall.db'}"
    flows_for_tests.switch["fail"] = True
    with open_store(url) as store:
        cid = f"cli-{uuid.uuid4().hex[:8]}"
        store.create_conversation(cid, agent="a", channel="t")
        steps = [{"node_id": "notify", "kind": "flow", "payload": {"flow_id": "switchable", "inputs": {}}}]
        store.record_end(cid, {"reason": "CUSTOMER_HANGUP"}, [RunSpec("t", "scripted", {"conversation_id": cid, "topic": "t", "steps": steps, "settings": SETTINGS})])
        run_id = f"postcall:{cid}:t"
        with Executor(ExecutorConfig(database_url=url), store=store) as executor:
            assert executor.wait_for_runs([run_id]) == {run_id: "failed"}
    flows_for_tests.switch["fail"] = False
    result = CliRunner().invoke(cli, ["runs", "redrive", "--all-failed", "--db", url, "--agent", str(tmp_path)])
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
