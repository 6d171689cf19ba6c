"""Variable nodes: SetVariable, SetTextVariable, SetMultipleVariables, ParseValue,
ResetVariable, ClearAllVariables, EditTable, EditTableV2."""

from __future__ import annotations

from postcall.engine.faults import RUN_VALUE
from postcall.engine.interpreter import Flow, Runner
from postcall.engine.schema import SchemaMismatch, coerce, parse_json_text
from postcall.engine.state import Frame
from postcall.engine.values import table_of
from postcall.powerfx.values import Record, Table, Value
from postcall.topics.model import (
    ClearAllVariables,
    EditTable,
    EditTableV2,
    ParseValue,
    ResetVariable,
    SetMultipleVariables,
    SetTextVariable,
    SetVariable,
    VariableRef,
)


def run_set_variable(r: Runner, frame: Frame, node: SetVariable) -> Flow:
    value = r.eval(node.value, frame, node=node.id, what=f"the value of {node.variable.path}")
    r.assign(node.variable, value, frame)
    return Flow.NEXT


def run_set_text_variable(r: Runner, frame: Frame, node: SetTextVariable) -> Flow:
    r.assign(node.variable, r.render(node.value, frame, node=node.id), frame)
    return Flow.NEXT


def run_set_multiple(r: Runner, frame: Frame, node: SetMultipleVariables) -> Flow:
    # Every value is computed before any is stored, so assignments can swap values.
    values = [
        (a.variable, r.eval(a.value, frame, node=node.id, what=f"the value of {a.variable.path}"))
        for a in node.assignments
    ]
    for variable, value in values:
        r.assign(variable, value, frame)
    return Flow.NEXT


def run_parse_value(r: Runner, frame: Frame, node: ParseValue) -> Flow:
    raw = r.eval(node.value, frame, node=node.id, what="the value to parse")
    try:
        value: Value = parse_json_text(raw) if isinstance(raw, str) else raw
        value = coerce(value, node.value_type)
    except SchemaMismatch as exc:
        if node.error_policy == "ThrowError":
            raise r.fault(
                f"ParseValue could not read the value as {node.value_type.kind if node.value_type else 'a value'}: {exc}.",
                code=RUN_VALUE, error_code="ParseValueError", frame=frame, node=node.id,
                span=node.span,
            ) from exc
        r.warn(f"ParseValue stored Blank: {exc}.", frame, node.id)
        value = None
    r.assign(node.variable, value, frame)
    return Flow.NEXT


def _default_of(r: Runner, ref: VariableRef) -> Value:
    if ref.scope == "Global":
        default = r.agent.global_variables.get(ref.name)
        if default is not None:
            return r.eval(default, None, what=f"the default of {ref.path}")
    return None


def run_reset_variable(r: Runner, frame: Frame, node: ResetVariable) -> Flow:
    r.assign(node.variable, _default_of(r, node.variable), frame)
    return Flow.NEXT


def run_clear_all(r: Runner, frame: Frame, node: ClearAllVariables) -> Flow:
    if node.variables in {"ConversationScopedVariables", "AllGlobalVariables"}:
        r.state.globals.clear()
        for name, default in r.agent.global_variables.items():
            if default is not None:
                r.state.globals[name] = r.eval(default, None, what=f"the default of Global.{name}")
    elif node.variables == "ConversationHistory":
        r.info("ClearAllVariables ConversationHistory: this runtime keeps no model history.", frame, node.id)
    else:
        r.info(f"ClearAllVariables {node.variables}: no user-scoped variables here.", frame, node.id)
    return Flow.NEXT


def _rows(r: Runner, frame: Frame, ref: VariableRef) -> list[Value]:
    current = r.read(ref, frame)
    if current is None:
        return []
    if isinstance(current, Table):
        return list(current.rows)
    raise r.fault(
        f"{ref.path} is not a table, so it cannot be edited as one.",
        code=RUN_VALUE, error_code="InvalidValue", frame=frame, span=ref.span,
    )


def _row(value: Value) -> Value:
    return value if isinstance(value, Record) or value is None else Record({"Value": value})


def _edit(
    r: Runner,
    frame: Frame,
    *,
    node_id: str,
    items: VariableRef,
    operation: str,
    value: Value,
    result: VariableRef | None,
) -> Flow:
    rows = _rows(r, frame, items)
    taken: Value = None
    op = operation.lower().removesuffix("itemoperation").removesuffix("itemsoperation")
    if op in {"add"}:
        if isinstance(value, Table):
            rows.extend(value.rows)
        else:
            rows.append(_row(value))
    elif op in {"remove"}:
        targets = list(value.rows) if isinstance(value, Table) else [_row(value)]
        rows = [row for row in rows if row not in targets]
    elif op in {"clear"}:
        rows = []
    elif op in {"takefirst"}:
        taken = rows.pop(0) if rows else None
    elif op in {"takelast"}:
        taken = rows.pop() if rows else None
    else:
        raise r.fault(
            f"Unknown table change {operation!r}.", code=RUN_VALUE, error_code="InvalidValue",
            frame=frame, node=node_id,
        )
    r.assign(items, table_of(rows) if rows else Table([]), frame)
    if result is not None:
        r.assign(result, taken, frame)
    return Flow.NEXT


def run_edit_table(r: Runner, frame: Frame, node: EditTable) -> Flow:
    value = r.eval(node.value, frame, node=node.id, what="the item")
    return _edit(r, frame, node_id=node.id, items=node.items_variable, operation=node.change_type,
                 value=value, result=node.result_variable)


def run_edit_table_v2(r: Runner, frame: Frame, node: EditTableV2) -> Flow:
    value = r.eval(node.value, frame, node=node.id, what="the item")
    return _edit(r, frame, node_id=node.id, items=node.items_variable, operation=node.operation,
                 value=value, result=node.result_variable)
