"""Node semantics not covered by test_nodes.py (tests/engine/agents/nodes): the IfCondition
alias, ClearAllVariables, EditTable (V1), ReplaceDialog, RepeatDialog, CancelDialog, transfer
details (ExpressionTransferContext, sipxHeaders, dtmfSequence) and RawRequestContent."""

from __future__ import annotations

from pathlib import Path

import pytest

from postcall.actions import ActionResult
from postcall.clock import FixedClock
from postcall.engine import Engine
from postcall.engine.activity import (
    Activity,
    ActivityType,
    Say,
    TransferToAgent,
    TransferToPhoneNumber,
)
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


@pytest.mark.skipif(
    not CORPUS.is_dir(),
    reason="the Copilot Studio topic corpus is not present: fetch microsoft/vscode-copilotstudio "
    "(its all-the-things-clean-workspace fixture) into ../shared/compat/copilot-studio-topics",
)
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
        "Went on: status 0, Flow 'connector:FailingOperation' raised RuntimeError: the directory is down, name blank true."
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


def pending_after_event(name: str) -> list[dict[str, object]]:
    """The payloads of the backend requests an event's topic makes, answering each with 200."""
    engine = Engine(agent("nodes"))
    now = FixedClock().now()
    state = engine.new_state("n-pure", now=now)
    state = engine.turn(state, Activity(type=ActivityType.CONVERSATION_UPDATE, id="a1", timestamp=now), now=now).state
    result = engine.turn(state, Activity(type=ActivityType.EVENT, id="a2", timestamp=now, name=name), now=now)
    payloads = []
    while result.pending is not None:
        payloads.append(dict(result.pending.payload))
        result = engine.resume(result.state, ActionResult(ok=True, status_code=200, body="ok"), now=now)
    assert [o.text for o in result.outputs if isinstance(o, Say)] == ["Form ok"]
    return payloads


# -- variables --------------------------------------------------------------------------------


def test_clear_all_variables_resets_globals_to_their_defaults_and_keeps_topic_variables() -> None:
    c = started()
    assert c.event("clear") == [
        "Before: changed 5",
        "After: hello other blank true, topic topic value",
    ]
    assert c.state.globals == {"Greeting": "hello"}
    infos = [e for r in c.results for e in r.log if e.node == "clear_history"]
    assert infos and "ConversationHistory" in infos[0].message  # logged, nothing cleared


def test_edit_table_v1_adds_removes_takes_and_clears() -> None:
    assert started().event("edit-v1") == ["List c first a last d", "Rows 2, cleared 0"]


# -- dialogs ----------------------------------------------------------------------------------


def test_replace_dialog_ends_the_topic_and_its_replacement_returns_to_the_caller() -> None:
    c = started()
    assert c.event("replace") == ["In middle.", "Replacement for Ada.", "Back in outer."]
    assert c.state.stack == []


def test_repeat_dialog_starts_the_topic_again_with_fresh_topic_variables_and_its_inputs() -> None:
    c = started()
    assert c.event("repeat") == [
        "Round 1 seen x step 0",
        "Round 2 seen x step 10",
        "Done after 3 seen x step 20",
    ]


def test_repeat_dialog_forever_is_stopped_by_the_step_limit() -> None:
    c = started()
    (reply,) = c.event("repeat-forever")
    assert reply.startswith("Error LoopLimitExceeded:")
    assert c.state.system["Error.Code"] == "LoopLimitExceeded"
    errors = [e for r in c.results for e in r.log if e.level == "error"]
    assert errors[-1].code == "RUN456"
    ticks = c.state.globals["Ticks"]
    assert isinstance(ticks, float) and 1000 < ticks <= 10_000  # bounded, not endless
    assert c.state.stack == []


def test_cancel_dialog_ends_the_topic_without_returning_its_outputs() -> None:
    c = started()
    assert c.event("cancel") == ["In the child.", "Back after cancel, output blank true."]


# -- transfers ----------------------------------------------------------------------------------


def test_transfer_to_agent_with_an_expression_context() -> None:
    c = started()
    assert c.event("transfer-agent") == []
    (transfer,) = c.transfers
    assert transfer.node_id == "transfer_agent"
    assert transfer.target == TransferToAgent(
        message_to_agent="Caller about case CAS-42.",
        context={"Case": "CAS-42", "Reason": "billing", "Attempts": 2},
    )
    # A failed transfer gives control back after the node.
    assert c.transfer_result("busy") == ["Transfer busy; back with the agent."]
    assert c.end is None


def test_transfer_to_a_phone_number_with_sip_headers_and_a_dtmf_sequence() -> None:
    c = started()
    c.event("transfer-phone")
    (first,) = c.transfers
    assert first.target == TransferToPhoneNumber(
        phone_number="+15551234567",
        sip_uui_header="case-42",
        sipx_headers={"X-Case-Id": "CAS-42", "X-Language": "en-US"},
        dtmf_sequence="1234#",
    )
    assert c.state.transfer is not None
    assert c.state.transfer.target_detail == {
        "sip_uui_header": "case-42",
        "sipx_headers": {"X-Case-Id": "CAS-42", "X-Language": "en-US"},
        "dtmf_sequence": "1234#",
    }
    assert c.transfer_result("no-answer") == ["Phone transfer no-answer."]
    second = c.transfers[1].target
    assert isinstance(second, TransferToPhoneNumber)
    assert second.sipx_headers == {"X-Queue": "billing"} and second.dtmf_sequence is None
    c.transfer_result("answered")
    assert c.end is not None and c.end.reason == "BLIND_TRANSFER"


# -- HTTP bodies ----------------------------------------------------------------------------------


def test_raw_request_content_sends_text_with_its_content_type() -> None:
    form, csv = pending_after_event("raw-body")
    assert (form["method"], form["url"]) == ("POST", "http://127.0.0.1:9/forms")
    assert form["body"] == "case=CAS%2042&status=closed"
    assert form["content_type"] == "application/x-www-form-urlencoded"
    # Without contentType it is text/plain; a Content-Type header wins and leaves the headers.
    assert (csv["method"], csv["body"], csv["content_type"]) == ("PUT", "a,b", "text/csv")
    assert csv["headers"] == {}
