"""Node semantics in a running conversation (tests/engine/agents/voice)."""

from __future__ import annotations

from postcall.engine.activity import ActivityType, EmitActivity, Say, TransferToPhoneNumber
from postcall.testing import Conversation

from .helpers import conversation


def started() -> Conversation:
    c = conversation("voice", conversation_id="v1")
    assert c.start() == ["Welcome to Voice Test."]
    return c


def test_send_activity_has_text_and_speak() -> None:
    c = started()
    (say,) = [o for o in c.outputs if isinstance(o, Say)]
    assert (say.text, say.speak) == ("Welcome to Voice Test.", "<speak>Welcome!</speak>")


def test_foreach_with_continue_and_break() -> None:
    assert started().say("count the items") == ["0:a", "2:c", "done"]


def test_begin_dialog_binds_inputs_and_outputs_and_end_dialog_returns() -> None:
    assert started().say("redirect me please") == ["In the child.", "Child said hello back x2."]


def test_goto_action_loops() -> None:
    assert started().say("count down") == ["3", "2", "1", "liftoff"]


def test_variables_tables_parse_value_and_reset() -> None:
    assert started().say("edit the list") == ["A=2 B=1 rows=1 name=Ada age=36", "A is blank: true"]


def test_disabled_nodes_are_skipped() -> None:
    assert started().say("disabled test") == ["after disabled"]


def test_formula_errors_go_to_on_error_with_the_error_code() -> None:
    c = started()
    assert c.say("break something") == ["About to fail.", "Error ExpressionError: handled."]
    assert c.state.system["Error.Code"] == "ExpressionError"
    assert "Division by zero" in str(c.state.system["Error.Message"])
    assert c.state.stack == []


def test_an_unsupported_node_is_a_clear_runtime_error() -> None:
    c = started()
    assert c.say("use the ai") == ["Error UnsupportedNode: handled."]
    errors = [e for r in c.results for e in r.log if e.level == "error"]
    assert errors[-1].code == "RUN451"
    assert "SearchAndSummarizeWithCustomModel" in errors[-1].message and errors[-1].node == "search_1"


def test_emit_event_goes_out_when_no_topic_handles_it() -> None:
    c = started()
    assert c.say("emit an event") == ["Emitted."]
    assert [(e.type, e.name, e.value) for e in c.events] == [
        (ActivityType.EVENT, "app.outbound", {"ok": True}),
        (ActivityType.EVENT, "app.recording", {"action": "start"}),
    ]


def test_event_activity_triggers_on_event_activity() -> None:
    assert started().event("app.ping", {"n": 5}) == ["pong 5"]


def test_legacy_transfer_conversation_with_a_telephone_number() -> None:
    c = started()
    c.say("old style transfer")
    (transfer,) = c.transfers
    assert isinstance(transfer.target, TransferToPhoneNumber)
    assert transfer.target.phone_number == "+15557654321"
    assert transfer.node_id == "transfer_legacy"
    c.transfer_result("answered")
    assert c.end is not None and c.end.reason == "BLIND_TRANSFER"


def test_http_request_raise_error_behavior_goes_to_on_error() -> None:
    c = started()
    c.say("fetch the record")  # nothing listens on 127.0.0.1:9
    assert c.replies[-1] == "Error HttpRequestFailed: handled."
    (call,) = c.action_calls
    assert call.request.payload["method"] == "POST"
    assert call.request.payload["url"] == "http://127.0.0.1:9/records"
    assert call.request.payload["headers"] == {"X-Trace": "v1"}
    assert call.request.payload["content_type"] == "application/json"
    assert call.request.payload["body"] == '{"q": "fetch the record", "n": 2}'
    assert call.request.payload["timeout_ms"] == 30000


def test_emitted_events_are_json_in_outputs() -> None:
    c = started()
    c.say("emit an event")
    assert all(isinstance(e, EmitActivity) for e in c.events)
