"""Node semantics not covered by test_nodes.py (tests/engine/agents/nodes): the IfCondition
alias, ClearAllVariables, EditTable (V1), ReplaceDialog, RepeatDialog, CancelDialog, transfer
details (ExpressionTransferContext, sipxHeaders, dtmfSequence) and RawRequestContent."""

from __future__ import annotations

from pathlib import Path

import pytest

from postcall.actions import ActionResult
from postcall.clock import FixedClock
from postcall.engine import Engine
from postcall.engine.activity import Activity, ActivityType
from postcall.lifecycle.programs import action_settings_for
from postcall.testing import Conversation
from postcall.topics import load_agent
from postcall.topics.model import ConditionGroup

from . import connector_ops
from .helpers import AGENTS, agent, conversation

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "compat" / "copilot-studio-topics"


def started() -> Conversation:
    c = conversation("nodes", conversation_id="n1")
    assert c.start() == ["Ready."]
    return c


def test_the_nodes_agent_loads_with_only_the_expected_warnings() -> None:
    result = load_agent(AGENTS / "nodes")
    assert sorted(d.code for d in result.diagnostics) == ["TPC220", "TPC237"]


# -- IfCondition (alias of a one-condition ConditionGroup) ---------------------------------------


def test_if_condition_runs_its_actions_when_the_condition_holds() -> None:
    assert started().event("if", "help") == ["You asked for help.", "All done!"]


def test_if_condition_runs_else_actions_otherwise() -> None:
    assert started().event("if", "other") == ["Processing your request...", "All done!"]


def test_if_condition_loads_as_a_condition_group() -> None:
    c = started()
    node = c.agent.topics["If condition"].find_node("ifCond_01")
    assert isinstance(node, ConditionGroup) and node.kind == "ConditionGroup"
    assert [i.id for i in node.conditions] == ["ifCond_01.condition"]
    assert [n.id for n in node.else_actions] == ["sendMessage_other01"]


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not present")
def test_microsofts_rich_actions_fixture_runs() -> None:
    (path,) = [
        p
        for p in CORPUS.rglob("RichActions.mcs.yml")
        if p.parent.parent.name == "all-the-things-clean-workspace"
    ]
    result = load_agent(path)
    assert not result.has_errors and result.agent is not None
    assert "TPC220" in {d.code for d in result.diagnostics}
    c = Conversation(result.agent, conversation_id="rich")
    c.start()
    replies = c.say("show me rich actions")
    # Global.UserChoice is the utterance, not "help": the else branch runs; then BeginDialog
    # to a topic this single file does not have fails (TopicNotFound).
    assert replies[0] == "Processing your request..."
    assert c.state.system["Error.Code"] == "TopicNotFound"


# -- InvokeConnectorAction (agent.yaml `connectors:`) ------------------------------------------


def test_a_connector_bound_to_python_fills_a_single_variable_output() -> None:
    connector_ops.CALLS.clear()
    c = started()
    assert c.event("connector", "user-7") == ["Hello Ada Lovelace from FR."]
    assert connector_ops.CALLS == [{"id": "user-7", "country": "FR"}]
    (call,) = [a for a in c.action_calls if a.request.node_id == "getProfile"]
    request = call.request
    assert request.kind == "flow"
    assert request.payload["flow_id"] == "connector:shared_office365users/UserGet_V2"
    assert request.payload["connector"] == {
        "connection_reference": "shared_office365users", "operation_id": "UserGet_V2",
    }  # fmt: skip
    assert request.payload["python"] == "engine.connector_ops:user_get"
    assert request.payload["timeout_ms"] == 30000
    assert request.idempotency_key == "n1:Connector:getProfile"


def test_a_connector_bound_to_a_url_becomes_a_flow_request_with_the_binding() -> None:
    engine = Engine(agent("nodes"))
    now = FixedClock().now()
    state = engine.new_state("n-http", now=now)
    state = engine.turn(state, Activity(type=ActivityType.CONVERSATION_UPDATE, id="a1", timestamp=now), now=now).state
    result = engine.turn(
        state,
        Activity(type=ActivityType.EVENT, id="a2", timestamp=now, name="connector-http"),
        now=now,
    )
    request = result.pending
    assert request is not None and request.kind == "flow"
    assert request.payload == {
        "flow_id": "connector:shared_crm/ListRecords",
        "connector": {"connection_reference": "shared_crm", "operation_id": "ListRecords"},
        "inputs": {"entityName": "accounts", "$top": 5},
        "timeout_ms": 7000,
        "url": "http://127.0.0.1:9/records",
        "method": "GET",
        "headers": {"X-Tenant": "contoso"},
    }
    done = engine.resume(
        result.state,
        ActionResult(ok=True, status_code=200, outputs={"value": [{"name": "a"}, {"name": "b"}]}),
        now=now,
    )
    assert [o.text for o in done.outputs if hasattr(o, "text")] == ["2 rows."]


def test_connector_bindings_reach_the_durable_flow_settings() -> None:
    # Post-call topics run flows through the durable layer, which knows flows by id.
    settings = action_settings_for(agent("nodes"))
    assert {"connector:shared_crm/ListRecords", "connector:FailingOperation"} <= set(settings.flows)


def test_a_failing_connector_with_continue_on_error_goes_on_else_it_is_an_error() -> None:
    c = started()
    replies = c.event("connector-failing")
    assert replies[0] == (
        "Went on: status 0, RuntimeError: the directory is down, name blank true."
    )
    assert replies[1].startswith("Error ConnectorFailed: Connector shared_directory/FailingOperation")
    assert c.state.system["Error.Code"] == "ConnectorFailed"


def test_an_unbound_connector_is_a_clear_runtime_error_handled_by_on_error() -> None:
    c = started()
    (reply,) = c.event("connector-unbound")
    assert reply.startswith(
        "Error ConnectorNotBound: InvokeConnectorAction 'listAccounts': connector "
        "shared_commondataserviceforapps/ListRecords is not bound in agent.yaml"
    )
    errors = [e for r in c.results for e in r.log if e.level == "error"]
    assert errors[-1].code == "RUN460" and errors[-1].node == "listAccounts"
