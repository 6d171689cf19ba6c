"""Checks across a loaded agent: ids, jump and redirect targets, functions, variables, EndReason.

The builders already reported what one mapping can tell (required fields, enums, types); this
module checks what needs a whole topic or the whole agent.  Every problem is collected; nothing
raises.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from postcall.diagnostics import Diagnostic, Severity, SourceSpan, default_severity, did_you_mean
from postcall.topics import codes
from postcall.topics.agent import Agent
from postcall.topics.fx import ast, walk
from postcall.topics.model import (
    BeginDialog,
    ConditionGroup,
    EntityReference,
    Expr,
    GotoAction,
    InvokeConnectorAction,
    InvokeFlowAction,
    Node,
    Question,
    ReplaceDialog,
    SendActivity,
    TextTemplate,
    Topic,
    UnsupportedNode,
    VariableRef,
)
from postcall.topics.names_check import check_names
from postcall.vocabulary import KNOWN_END_REASONS


@dataclass
class _Out:
    items: list[Diagnostic] = field(default_factory=list)

    def add(
        self, code: str, message: str, span: SourceSpan | None, *, hint: str | None = None
    ) -> None:
        self.items.append(Diagnostic(code, default_severity(code), message, span, hint))


def iter_values(obj: object) -> Iterator[Expr | TextTemplate | VariableRef]:
    """Every Expr, TextTemplate and VariableRef held by a node (or a part of one), not
    descending into nested action lists (walk those as nodes)."""
    if isinstance(obj, (Expr, TextTemplate, VariableRef)):
        yield obj
        return
    if isinstance(obj, tuple):
        for item in obj:
            if not isinstance(item, Node):
                yield from iter_values(item)
        return
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            if f.name in ("span", "actions", "else_actions"):
                continue
            yield from iter_values(getattr(obj, f.name))


_WRITE_TARGET = re.compile(r"(?:init:)?(Topic|Global)\.([A-Za-z_]\w*)\Z")


def node_values(node: Node) -> list[Expr | TextTemplate | VariableRef]:
    values = list(iter_values(node))
    if isinstance(node, UnsupportedNode):
        # Unsupported nodes (adaptive cards, AI...) still assign variables; their raw YAML holds
        # them as plain `Topic.x` strings (output bindings, `variable:`).
        for text in _raw_strings(node.raw):
            m = _WRITE_TARGET.match(text.strip())
            if m is not None:
                if m.group(1) == "Topic":
                    values.append(VariableRef("Topic", m.group(2), False, node.span))
                else:
                    values.append(VariableRef("Global", m.group(2), False, node.span))
    return values


def _raw_strings(raw: object) -> Iterator[str]:
    if isinstance(raw, str):
        yield raw
    elif isinstance(raw, dict):
        for value in raw.values():
            yield from _raw_strings(value)
    elif isinstance(raw, list):
        for value in raw:
            yield from _raw_strings(value)


def locate(value: Expr | TextTemplate, pattern: str) -> SourceSpan:
    """The file span of the first match of `pattern` in a value's formula/template text; the
    value's span when it cannot be found or mapped."""
    if isinstance(value, Expr):
        source = value.formula.source if value.formula is not None else value.text[1:]
    else:
        source = value.text
    m = re.search(pattern, source)
    if m is None or value.origin is None:
        return value.span
    return value.origin.span(source, m.start(), m.end())


def _name_pattern(dotted: str) -> str:
    return r"(?<![\w.'])" + re.escape(dotted) + r"(?![\w])"


def formulas_of(value: Expr | TextTemplate) -> Iterator[tuple[str, frozenset[str], SourceSpan]]:
    """(source, functions, span) of each formula in a value."""
    if isinstance(value, Expr):
        if value.formula is not None:
            yield value.formula.source, value.formula.functions, value.span
    elif value.template is not None:
        for f in value.template.formulas:
            yield f.source, f.functions, value.span


def validate_agent(agent: Agent, *, single_file: bool) -> list[Diagnostic]:
    """Every cross-node and cross-topic problem of an agent."""
    out = _Out()
    written_globals: set[str] = set()
    read_globals: list[tuple[str, SourceSpan]] = []
    read_values: list[Expr | TextTemplate] = [
        v for v in agent.global_variables.values() if v is not None
    ]
    written: list[VariableRef] = []
    for topic in agent.topics.values():
        _check_topic(agent, topic, out, single_file=single_file)
        for trigger in (topic.trigger, *topic.extra_triggers):
            read_values.extend(
                v
                for v in (trigger.condition, trigger.duration_seconds, trigger.silence_timeout_ms)
                if v is not None
            )
        for node in topic.walk():
            if isinstance(node, InvokeConnectorAction) and not single_file:
                _check_connector(agent, node, out)
            elif isinstance(node, InvokeFlowAction) and not single_file and not node.disabled:
                _check_flow(agent, node, out)
            elif (
                isinstance(node, Question)
                and isinstance(node.entity, EntityReference)
                and node.entity.kind in ("ClosedListEntityReference", "RegexEntityReference")
                and not single_file
                and agent.find_entity(node.entity.entity_id) is None
            ):
                span = node.entity.span
                out.add(
                    codes.BAD_ENTITY,
                    f"Question '{node.id}' uses entity '{node.entity.entity_id}', which this agent "
                    "does not define (entities/ or a `.entity.` component); the caller's words are "
                    "kept as text.",
                    SourceSpan(span.path, span.line, span.column),
                )
            for value in node_values(node):
                if isinstance(value, VariableRef):
                    written.append(value)
                else:
                    read_values.append(value)
                if isinstance(value, VariableRef) and value.scope == "Global":
                    written_globals.add(value.name.split(".")[0])
                elif isinstance(value, (Expr, TextTemplate)):
                    for name in value.names:
                        if name.startswith("Global."):
                            gname = name.split(".")[1]
                            read_globals.append(
                                (gname, locate(value, _name_pattern(f"Global.{gname}")))
                            )
        for trigger in (topic.trigger, *topic.extra_triggers):
            if trigger.condition is not None:
                for name in trigger.condition.names:
                    if name.startswith("Global."):
                        gname = name.split(".")[1]
                        read_globals.append(
                            (gname, locate(trigger.condition, _name_pattern(f"Global.{gname}")))
                        )
    if not single_file:
        known = written_globals | set(agent.global_variables)
        reported: set[str] = set()
        for name, span in read_globals:
            if name in known or name in reported:
                continue
            reported.add(name)
            guess = did_you_mean(name, sorted(known))
            out.add(
                codes.UNKNOWN_GLOBAL,
                f"Global.{name} is read but no topic assigns it and no variable file declares it.",
                span,
                hint=f"did you mean 'Global.{guess}'?" if guess else None,
            )
    out.items.extend(check_names(agent, read_values, written, single_file=single_file))
    return out.items


def _check_topic(agent: Agent, topic: Topic, out: _Out, *, single_file: bool) -> None:
    nodes = list(topic.walk())
    ids: dict[str, SourceSpan] = {}
    for node in nodes:
        for node_id, span in [(node.id, node.span)]:
            if node_id in ids:
                first = ids[node_id]
                out.add(
                    codes.DUPLICATE_ID,
                    f"Action id '{node_id}' is used twice in topic {topic.name} (first at line {first.line}).",
                    SourceSpan(span.path, span.line, span.column),
                )
            else:
                ids[node_id] = span
    has_goto = False
    for node in nodes:
        if isinstance(node, GotoAction):
            has_goto = True
            targets = set(ids) | {
                c.id for n in nodes if isinstance(n, ConditionGroup) for c in n.conditions
            }
            if node.action_id not in targets:
                guess = did_you_mean(node.action_id, list(ids))
                out.add(
                    codes.GOTO_TARGET,
                    f"GotoAction '{node.id}' jumps to '{node.action_id}', which is not an action of topic {topic.name}.",
                    SourceSpan(node.span.path, node.span.line, node.span.column),
                    hint=f"did you mean '{guess}'?" if guess else None,
                )
        elif isinstance(node, (BeginDialog, ReplaceDialog)):
            _check_dialog(agent, topic, node, out, single_file=single_file)
    values_by_node = [(node, node_values(node)) for node in nodes]
    trigger_values: list[Expr | TextTemplate | VariableRef] = []
    for trig in (topic.trigger, *topic.extra_triggers):
        if trig.condition is not None:
            trigger_values.append(trig.condition)
        for dur in (trig.duration_seconds, trig.silence_timeout_ms):
            if dur is not None:
                trigger_values.append(dur)
    for value in [*trigger_values, *(v for _, vs in values_by_node for v in vs)]:
        if isinstance(value, (Expr, TextTemplate)):
            _check_end_reason(value, out)
    _check_topic_variables(topic, trigger_values, values_by_node, out, has_goto=has_goto)
    if topic.trigger.is_end_of_conversation:
        for node in nodes:
            if isinstance(node, (SendActivity, Question)) and not node.disabled:
                out.add(
                    codes.POST_CALL_MESSAGE,
                    f"{node.kind} '{node.id}' runs after the caller hung up (post-call topic {topic.name}); it will be skipped.",
                    SourceSpan(node.span.path, node.span.line, node.span.column),
                )
    kind = agent.config.recognizer.kind
    if topic.described_only and not single_file and kind != "llm":
        span = topic.trigger.span
        out.add(
            codes.UNREACHABLE_TOPIC,
            f"Topic {topic.name} has a modelDescription but no trigger phrases: the {kind} "
            "recogniser is offered only topics with trigger phrases, so it can never start this topic.",
            SourceSpan(span.path, span.line, span.column),
            hint="add triggerQueries to its intent, or choose topics by description with "
            "`recognizer: {kind: llm}` in agent.yaml",
        )
    if topic.trigger.supported and not topic.trigger.actions:
        span = topic.trigger.span
        out.add(
            codes.EMPTY_ACTIONS,
            f"Trigger {topic.trigger.kind} of topic {topic.name} has no actions.",
            SourceSpan(span.path, span.line, span.column),
        )


def _check_connector(agent: Agent, node: InvokeConnectorAction, out: _Out) -> None:
    config = agent.config
    if config.connector_binding(node.connection_reference, node.operation_id) is not None:
        return
    guess = did_you_mean(node.connector, list(config.connectors)) or did_you_mean(
        node.operation_id, list(config.connectors)
    )
    out.add(
        codes.UNBOUND_CONNECTOR,
        f"InvokeConnectorAction '{node.id}' calls connector {node.connector}, which agent.yaml "
        "`connectors:` does not bind; running it fails.",
        SourceSpan(node.span.path, node.span.line, node.span.column),
        hint=f"did you mean '{guess}'?"
        if guess
        else f'add connectors: {{"{node.connector}": {{url: ...}}}} to agent.yaml',
    )


def _check_flow(agent: Agent, node: InvokeFlowAction, out: _Out) -> None:
    flows = agent.config.flows
    if node.flow_id in flows:
        return
    name = f" ({node.display_name})" if node.display_name else ""
    if node.kind == "InvokeSkillAction":
        out.add(
            codes.UNBOUND_SKILL,
            f"InvokeSkillAction '{node.id}'{name} calls skill '{node.flow_id[6:]}', which agent.yaml "
            "does not bind: it runs once configured; until then running it fails.",
            SourceSpan(node.span.path, node.span.line, node.span.column),
            hint=f"add flows: {{\"{node.flow_id}\": {{url: https://...}}}} (the skill's endpoint) to agent.yaml",
        )
        return
    out.add(
        codes.UNBOUND_FLOW,
        f"InvokeFlowAction '{node.id}'{name} runs flow '{node.flow_id}', which agent.yaml "
        "`flows:` does not bind: it runs once configured; until then running it fails.",
        SourceSpan(node.span.path, node.span.line, node.span.column),
        hint=f"add flows: {{\"{node.flow_id}\": {{url: https://...}}}} to agent.yaml",
    )


def _check_dialog(
    agent: Agent, topic: Topic, node: BeginDialog | ReplaceDialog, out: _Out, *, single_file: bool
) -> None:
    dialog = node.dialog
    if dialog.is_formula or not isinstance(dialog.literal, str) or not dialog.literal.strip():
        return
    ref = dialog.literal.strip()
    if agent.find_topic(ref) is not None:
        return
    parts = ref.split(".")
    if ".topic." not in ref and len(parts) >= 3:
        out.add(
            codes.DIALOG_UNCHECKED,
            f"{node.kind} '{node.id}' calls '{ref}', which is a '{parts[-2]}' component, not a topic; running it fails.",
            dialog.span,
        )
        return
    if single_file:
        out.add(
            codes.DIALOG_UNCHECKED,
            f"{node.kind} '{node.id}' calls topic '{ref}', which cannot be checked when loading a single file.",
            dialog.span,
        )
        return
    short = ref.split(".topic.", 1)[-1]
    guess = did_you_mean(short, list(agent.topics))
    out.add(
        codes.DIALOG_TARGET,
        f"{node.kind} '{node.id}' calls topic '{ref}', which this agent does not have.",
        dialog.span,
        hint=f"did you mean '{agent.bot_name}.topic.{guess}'?" if guess else None,
    )


_END_REASON_NAMES = frozenset({"System.Conversation.EndReason", "Conversation.EndReason"})


def _is_end_reason(node: ast.Node | None) -> bool:
    return isinstance(node, (ast.Member, ast.Name)) and ast.dotted_name(node) in _END_REASON_NAMES


def end_reason_literals(tree: ast.Node) -> Iterator[tuple[ast.TextLit, bool]]:
    """Text literals a formula compares Conversation.EndReason with, and whether the comparison
    ignores case: `= "X"`, `"X" <>`, `in ["X", "Y"]` (case-insensitive), `exactin [...]`, and
    the match values of `Switch(Conversation.EndReason, "X", ..., "Y", ...)`."""
    for node in walk(tree):
        if isinstance(node, ast.Binary):
            if node.op in ("=", "<>"):
                if _is_end_reason(node.left) and isinstance(node.right, ast.TextLit):
                    yield node.right, False
                elif _is_end_reason(node.right) and isinstance(node.left, ast.TextLit):
                    yield node.left, False
            elif (
                node.op in ("in", "exactin")
                and _is_end_reason(node.left)
                and isinstance(node.right, ast.TableLit)
            ):
                for item in node.right.items:
                    if isinstance(item, ast.RecordLit) and len(item.fields) == 1:
                        item = item.fields[0][1]  # [{Value: "X"}]
                    if isinstance(item, ast.TextLit):
                        yield item, node.op == "in"
        elif isinstance(node, ast.Call) and node.name == "Switch" and node.args:
            if _is_end_reason(node.args[0]):
                for i in range(1, len(node.args) - 1, 2):
                    match = node.args[i]
                    if isinstance(match, ast.TextLit):
                        yield match, False


def _check_end_reason(value: Expr | TextTemplate, out: _Out) -> None:
    if not isinstance(value, Expr) or value.formula is None:
        return
    for literal, ignore_case in end_reason_literals(value.formula.ast):
        text = literal.value
        known = (
            {r.lower() for r in KNOWN_END_REASONS} if ignore_case else set(KNOWN_END_REASONS)
        )
        if (text.lower() if ignore_case else text) in known:
            continue
        guess = did_you_mean(text, KNOWN_END_REASONS)
        out.add(
            codes.UNKNOWN_END_REASON,
            f'Conversation.EndReason is never "{text}"; the runtime sets one of {", ".join(KNOWN_END_REASONS)}.',
            literal.span,
            hint=f"did you mean '{guess}'?" if guess else None,
        )


def _check_topic_variables(
    topic: Topic,
    trigger_values: list[Expr | TextTemplate | VariableRef],
    values_by_node: list[tuple[Node, list[Expr | TextTemplate | VariableRef]]],
    out: _Out,
    *,
    has_goto: bool,
) -> None:
    """Topic variables read before any assignment (document order; loops through GotoAction
    make order unreliable, so then only never-assigned variables are reported)."""
    inputs = {p.name for p in topic.inputs}
    first_write: dict[str, int] = {}
    reads: list[tuple[str, int, Expr | TextTemplate]] = []
    step = 0

    def note_reads(values: list[Expr | TextTemplate | VariableRef]) -> None:
        for v in values:
            if isinstance(v, (Expr, TextTemplate)):
                for name in v.names:
                    if name.startswith("Topic."):
                        reads.append((name.split(".")[1], step, v))

    def note_writes(values: list[Expr | TextTemplate | VariableRef]) -> None:
        for v in values:
            if isinstance(v, VariableRef) and v.scope == "Topic":
                first_write.setdefault(v.name.split(".")[0], step)

    note_reads(trigger_values)
    for node, values in values_by_node:
        step += 1
        if isinstance(node, Question):
            note_writes(values)
            note_reads(values)
        else:
            note_reads(values)
            note_writes(values)
    reported: set[str] = set()
    for name, at, value in reads:
        if name in inputs or name in reported:
            continue
        span = locate(value, _name_pattern(f"Topic.{name}"))
        first = first_write.get(name)
        if first is None:
            reported.add(name)
            guess = did_you_mean(name, sorted(set(first_write) | inputs))
            out.add(
                codes.READ_BEFORE_SET,
                f"Topic.{name} is read but never assigned in topic {topic.name} (and is not a topic input).",
                span,
                hint=f"did you mean 'Topic.{guess}'?" if guess else None,
            )
        elif first > at and not has_goto:
            reported.add(name)
            out.add(
                codes.READ_BEFORE_SET,
                f"Topic.{name} is read before its first assignment in topic {topic.name}.",
                span,
            )


__all__ = ["Severity", "iter_values", "validate_agent"]
