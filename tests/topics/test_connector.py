"""InvokeConnectorAction in the model, agent.yaml `connectors:`, and the unbound warning."""

from __future__ import annotations

from pathlib import Path

from postcall.topics import load_agent, load_topic_text
from postcall.topics import model as m

TOPIC = """kind: AdaptiveDialog
beginDialog:
  kind: OnConversationStart
  id: main
  actions:
    - kind: InvokeConnectorAction
      id: invokeConnectorAction_9k8NWj
      displayName: List bots
      input:
        binding:
          $select: name,botid
          entityName: bots
          x-ms-odata-metadata-full: false
          top: =Topic.limit
      output:
        kind: SingleVariableOutputBinding
        variable: init:Topic.Records
      connectionReference: cat_DataverseConnectionRef
      connectionProperties:
        mode: Invoker
        name: Dataverse
      operationId: ListRecordsWithOrganization
      requestTimeoutInMilliseconds: 12000
      errorHandling:
        kind: ContinueOnErrorBehavior
        statusCode: Topic.status
        errorResponseBody: Topic.error
      dynamicInputSchema:
        kind: Record
        properties:
          entityName: String
      dynamicOutputSchema:
        kind: Record
        properties:
          @odata.nextLink:
            displayName: Next link
            type: String
"""


def test_the_model_holds_every_schema_field() -> None:
    result = load_topic_text(TOPIC, "t.yaml")
    codes = [d.code for d in result.diagnostics]
    assert "TPC204" not in codes and "TPC216" not in codes and not result.has_errors, codes
    assert result.agent is not None
    node = result.agent.topics["t"].find_node("invokeConnectorAction_9k8NWj")
    assert isinstance(node, m.InvokeConnectorAction)
    assert (node.connection_reference, node.operation_id) == (
        "cat_DataverseConnectionRef", "ListRecordsWithOrganization",
    )  # fmt: skip
    assert node.connector == "cat_DataverseConnectionRef/ListRecordsWithOrganization"
    assert node.connection_properties is not None
    assert (node.connection_properties.mode, node.connection_properties.name) == ("Invoker", "Dataverse")
    inputs = {b.name: (b.value.literal, b.value.text) for b in node.input}
    assert inputs == {
        "$select": ("name,botid", "name,botid"),
        "entityName": ("bots", "bots"),
        "x-ms-odata-metadata-full": (False, "false"),
        "top": (None, "=Topic.limit"),
    }
    (out,) = node.output
    assert (out.name, out.variable.path, out.variable.init) == ("", "Topic.Records", True)
    assert node.error_handling.continue_on_error
    assert node.error_handling.status_code is not None
    assert node.request_timeout_ms is not None and node.request_timeout_ms.literal == 12000
    assert node.dynamic_input_schema == {"kind": "Record", "properties": {"entityName": "String"}}
    assert node.dynamic_output_schema == {
        "kind": "Record",
        "properties": {"@odata.nextLink": {"displayName": "Next link", "type": "String"}},
    }
    assert node.kind == "InvokeConnectorAction" and node.display_name == "List bots"


def test_required_fields_and_enum_values_are_checked() -> None:
    text = """kind: AdaptiveDialog
beginDialog:
  kind: OnConversationStart
  id: main
  actions:
    - kind: InvokeConnectorAction
      id: c1
      connectionReference: ref
      connectionProperties: {mode: Everyone}
      operatonId: Op
"""
    result = load_topic_text(text, "t.yaml")
    found = {(d.code, d.hint) for d in result.diagnostics}
    assert ("TPC204", "did you mean 'operationId'?") in found
    assert ("TPC202", None) in found  # operationId missing
    assert any(code == "TPC203" for code, _ in found)  # mode
    assert result.agent is not None
    assert isinstance(result.agent.topics["t"].find_node("c1"), m.UnsupportedNode)


def write_agent(root: Path, connectors: str) -> Path:
    (root / "topics").mkdir(parents=True)
    (root / "agent.yaml").write_text(f"name: A\nconnectors:\n{connectors}", encoding="utf-8")
    (root / "topics" / "T.topic.yaml").write_text(TOPIC, encoding="utf-8")
    return root


def test_agent_yaml_binds_connectors_by_reference_and_operation_or_operation(tmp_path: Path) -> None:
    root = write_agent(
        tmp_path / "a",
        '  "cat_DataverseConnectionRef/ListRecordsWithOrganization": {url: "https://crm.example.com/list"}\n'
        '  OtherOp: {python: "pkg.mod:func", method: get}\n',
    )
    result = load_agent(root)
    assert not [d for d in result.diagnostics if d.code in ("TPC237", "TPC250", "TPC251")]
    assert result.agent is not None
    config = result.agent.config
    bound = config.connector_binding("cat_DataverseConnectionRef", "ListRecordsWithOrganization")
    assert bound is not None and bound.url == "https://crm.example.com/list" and bound.method == "POST"
    by_op = config.connector_binding("any_reference", "OtherOp")
    assert by_op is not None and by_op.python == "pkg.mod:func" and by_op.method == "GET"
    assert config.connector_binding("cat_DataverseConnectionRef", "Missing") is None
    # Connector bindings run as flows: the same bindings are in `flows` under connector:<key>.
    assert set(config.flows) == {
        "connector:cat_DataverseConnectionRef/ListRecordsWithOrganization", "connector:OtherOp",
    }  # fmt: skip


def test_an_unbound_connector_is_a_warning_with_a_suggestion(tmp_path: Path) -> None:
    root = write_agent(tmp_path / "b", '  "cat_DataverseConnectionRef/ListRecords": {url: "https://x.example.com"}\n')
    result = load_agent(root)
    (warning,) = [d for d in result.diagnostics if d.code == "TPC237"]
    assert warning.severity == "warning" and warning.span is not None and warning.span.line == 6
    assert warning.hint == "did you mean 'cat_DataverseConnectionRef/ListRecords'?"
    assert not result.has_errors


def test_bad_connector_bindings_are_errors(tmp_path: Path) -> None:
    root = write_agent(tmp_path / "c", '  Op1: {url: "ftp://x"}\n  Op2: {url: "https://x.example.com", python: "a:b"}\n  Op3: 5\n')
    result = load_agent(root)
    bad = [d for d in result.diagnostics if d.code == "TPC251"]
    assert len(bad) == 3
    assert any("connectors['Op2'] needs exactly one of 'url' and 'python'" in d.message for d in bad)
