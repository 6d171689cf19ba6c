"""Retention and erasure on SQLite and PostgreSQL, with real post-call runs executed by DBOS.

What the policy says is deleted is gone from every table (ours and DBOS's, checked by looking
for the caller's number in every column of every table); what it keeps stays; a run in flight
during a purge or an erasure still runs to success afterwards.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from postcall.devtools.scripted import register as register_scripted
from postcall.durable import Executor, ExecutorConfig, ProgramRegistry
from postcall.lifecycle.retention import scrub_state
from postcall.store import NewActivity, RetentionDays, RunSpec, Store, open_store

SETTINGS = {"flows": {"close": {"callable": "durable.flows_for_tests:close_case"}}}
LONG_AGO = dt.timedelta(days=40)
STATE = {
    "conversation_id": "x", "agent": "a", "started_at": "2026-01-01T00:00:00+00:00", "version": 1,
    "globals": {"CaseNumber": "1001"}, "system": {}, "stack": [], "end": {"reason": "CUSTOMER_HANGUP"},
    "_lifecycle": {"turn": 2, "seen": {"e1": {"reply": "secret words"}}},
}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{Path(tmp_path_factory.mktemp('retention')) / 'postcall.db'}"
    server = request.getfixturevalue("postgres_server")
    return str(server.create_database(f"ret_{uuid.uuid4().hex[:10]}"))


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    with open_store(url) as opened:
        yield opened


def phone() -> str:
    return "+1555" + uuid.uuid4().hex[:7].translate(str.maketrans("abcdef", "123456"))


def call(store: Store, caller: str, *, ended_ago: dt.timedelta | None = LONG_AGO, case: str | None = None) -> str:
    """A call from `caller` with a transcript and variables; ended `ended_ago` with one run
    whose flow step gets the caller's number in its request and its response."""
    cid = f"CA{uuid.uuid4().hex[:16]}"
    store.create_conversation(cid, agent="a", channel="twilio", caller=caller)
    conv = store.get_conversation(cid)
    assert conv is not None
    said = NewActivity("in", "message", {"type": "message", "text": f"my number is {caller}"})
    store.save_turn(cid, state={**STATE, "conversation_id": cid, "globals": {"Phone": caller}},
                    activities=[said], expected_version=conv.version)
    if ended_ago is not None:
        steps = [{"node_id": "close", "kind": "flow", "payload": {"flow_id": "close", "inputs": {"case": case or caller}}}]
        spec = RunSpec("Post-call", "scripted", {"conversation_id": cid, "topic": "Post-call", "steps": steps, "settings": SETTINGS})
        ended = dt.datetime.now(dt.UTC) - ended_ago
        store.record_end(cid, {"reason": "CUSTOMER_HANGUP", "ended_at": ended.isoformat()}, [spec])
    return cid


def run_all(store: Store, url: str, run_ids: list[str]) -> dict[str, str]:
    programs = ProgramRegistry()
    register_scripted(programs)
    with Executor(ExecutorConfig(database_url=url), programs, store=store) as executor:
        return executor.wait_for_runs(run_ids)


def tables_holding(store: Store, needle: str) -> list[str]:
    """Every table (ours and DBOS's) with a column whose text holds `needle`."""
    inspector = sa.inspect(store.engine)
    schemas = [None] if store.is_sqlite else [None, "dbos"]
    found = []
    with store.engine.connect() as conn:
        for schema in schemas:
            for name in inspector.get_table_names(schema=schema):
                table = sa.Table(name, sa.MetaData(), autoload_with=conn, schema=schema)
                clauses = [sa.cast(column, sa.Text).contains(needle, autoescape=True) for column in table.columns]
                if conn.execute(sa.select(sa.func.count()).select_from(table).where(sa.or_(*clauses))).scalar():
                    found.append(f"{schema + '.' if schema else ''}{name}")
    return found


def run_id(cid: str) -> str:
    return f"postcall:{cid}:Post-call"


def test_purge_deletes_each_kind_when_due_and_never_a_run_in_flight(store: Store, url: str) -> None:
    old, recent = phone(), phone()
    done = call(store, old)
    fresh = call(store, recent, ended_ago=dt.timedelta(days=1))
    assert run_all(store, url, [run_id(done), run_id(fresh)]) == {run_id(done): "succeeded", run_id(fresh): "succeeded"}
    waiting_caller = phone()
    waiting = call(store, waiting_caller)  # enqueued, no executor running: in flight
    assert {"conversations", "conversation_activities", "post_call_run_steps"} <= set(tables_holding(store, old))

    days = RetentionDays(transcripts=30, variables=30, request_bodies=30)
    report = store.purge(days, scrub=scrub_state)
    assert report.purged["transcripts"] >= 1 and report.purged["variables"] >= 1

    assert store.history(done) == []
    conv = store.get_conversation(done)
    assert conv is not None and conv.status == "ended" and conv.end_reason == "CUSTOMER_HANGUP"
    assert conv.state is not None and conv.state["globals"] == {} and "seen" not in conv.state["_lifecycle"]
    run = store.get_run(run_id(done))
    assert run is not None and run.status == "succeeded" and run.outcome is None
    assert all(s.request is None and s.response is None for s in run.steps)
    assert store.dbos.workflow_status(run_id(done)) is None  # DBOS's workflow, inputs and step outputs
    # The caller's number survives only as the conversation's caller column (kept until
    # conversations_days or an erasure).
    assert tables_holding(store, old) == ["conversations"]

    kept = store.get_conversation(fresh)
    assert kept is not None and kept.state is not None and kept.state["globals"] != {}
    assert store.history(fresh) != [] and store.dbos.workflow_status(run_id(fresh)) == "SUCCESS"
    assert store.history(waiting) != [] and store.dbos.workflow_status(run_id(waiting)) == "ENQUEUED"

    # Everything due at once, with a run still waiting: the waiting call is left alone ...
    everything = RetentionDays(transcripts=0, variables=0, request_bodies=0, conversations=0)
    store.purge(everything, scrub=scrub_state)
    assert store.get_conversation(done) is None and store.get_run(run_id(done)) is None
    assert tables_holding(store, old) == [] and tables_holding(store, recent) == []
    assert waiting_caller in str(store.get_conversation(waiting).state)  # type: ignore[union-attr]
    # ... and its run still succeeds afterwards; the next purge then removes it too.
    assert run_all(store, url, [run_id(waiting)]) == {run_id(waiting): "succeeded"}
    store.purge(everything, scrub=scrub_state)
    assert tables_holding(store, waiting_caller) == []


def test_a_failed_run_keeps_what_a_redrive_needs_until_the_whole_call_is_due(store: Store, url: str) -> None:
    caller = phone()
    cid = call(store, caller)
    steps = [{"node_id": "bad", "kind": "flow", "payload": {"flow_id": "broken", "inputs": {"n": caller}}}]
    spec = {"conversation_id": cid, "topic": "Broken", "steps": steps,
            "settings": {"flows": {"broken": {"callable": "durable.flows_for_tests:broken"}}, "retry": {"max_attempts": 1}}}
    other = f"CA{uuid.uuid4().hex[:16]}"
    store.create_conversation(other, agent="a", channel="twilio", caller=caller)
    ended = (dt.datetime.now(dt.UTC) - LONG_AGO).isoformat()
    store.record_end(other, {"reason": "CUSTOMER_HANGUP", "ended_at": ended}, [RunSpec("Broken", "scripted", spec)])
    failed = f"postcall:{other}:Broken"
    assert run_all(store, url, [run_id(cid), failed])[failed] == "failed"

    store.purge(RetentionDays(transcripts=30, variables=30, request_bodies=30), scrub=scrub_state)
    run = store.get_run(failed)
    assert run is not None and run.status == "failed" and any(s.request is not None for s in run.steps)
    assert store.dbos.workflow_status(failed) == "ERROR"  # still redrivable
    store.purge(RetentionDays(conversations=30), scrub=scrub_state)
    assert store.get_run(failed) is None and store.dbos.workflow_status(failed) is None
    assert tables_holding(store, caller) == []


def test_erasure_removes_one_callers_data_everywhere_and_refuses_calls_in_flight(store: Store, url: str) -> None:
    caller, someone_else = phone(), phone()
    first = call(store, caller, ended_ago=dt.timedelta(minutes=5))
    second = call(store, caller, ended_ago=dt.timedelta(minutes=1))
    other = call(store, someone_else, ended_ago=dt.timedelta(minutes=1))
    assert set(run_all(store, url, [run_id(first), run_id(second), run_id(other)]).values()) == {"succeeded"}
    live = call(store, caller, ended_ago=None)

    report = store.erase(caller=caller)
    assert sorted(report.erased) == sorted([first, second]) and report.in_flight == [live]
    for cid in (first, second):
        assert store.get_conversation(cid) is None and store.get_run(run_id(cid)) is None
        assert store.dbos.workflow_status(run_id(cid)) is None
    assert tables_holding(store, caller) == ["conversation_activities", "conversations"]  # the live call only
    assert tables_holding(store, someone_else)  # another caller's data stays
    assert store.erase(conversation_ids=[other]).erased == [other]
    assert tables_holding(store, someone_else) == []
