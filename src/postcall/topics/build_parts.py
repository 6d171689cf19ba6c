"""The parts several node builders share: activities, input/output bindings, latency messages.

Below both `build_nodes.py` (the action nodes) and `build_generative.py` (the generative
nodes), so that neither imports the other's internals: `build_nodes` composes the builders of
both into its table, `build_generative` uses only these parts.
"""

from __future__ import annotations

from typing import Any

from postcall.diagnostics import did_you_mean
from postcall.topics import codes
from postcall.topics.build import Fields, FileContext
from postcall.topics.model import (
    ActivityTemplate,
    EventActivity,
    Expr,
    InputBinding,
    LatencyMessageSettings,
    Message,
    OtherActivity,
    OutputBinding,
    TextTemplate,
)
from postcall.topics.source import YMap, YNode, YScalar, YSeq


class SkipNode(Exception):
    """A node whose required parts are missing or wrong (already reported): it loads as an
    UnsupportedNode so the topic still loads and running into it fails clearly."""


def required(f: Fields, key: str, value: Any) -> Any:
    """`value` if present; otherwise skip the node (the missing field was already reported)."""
    if value is None:
        if f.node.get(key) is not None and not f.has(key):
            f.missing(key)
        raise SkipNode
    return value


def build_activity(fc: FileContext, node: YNode | None, what: str) -> ActivityTemplate | None:
    """ActivityTemplateBase: a string, a Message mapping, an EventActivity or an Activity."""
    if node is None:
        return None
    if isinstance(node, YScalar):
        if node.is_null:
            return None
        tpl = fc.template(node, what)
        return Message(text=(tpl,) if tpl is not None else (), span=node.span)
    if not isinstance(node, YMap):
        fc.wrong_type(node, f"{what} must be text or a message")
        return None
    kind_node = node.get("kind")
    kind = (
        kind_node.value if isinstance(kind_node, YScalar) and not kind_node.is_null else "Message"
    )
    if kind == "EventActivity":
        f = Fields(fc, node, "EventActivity", f"{what} (EventActivity)")
        return EventActivity(
            name=f.expr("name", "string"),
            span=node.span,
            value=f.expr("value", "value"),
            channel_data=f.expr("channelData", "value"),
        )
    if kind == "Activity":
        f = Fields(fc, node, "Activity", f"{what} (Activity)")
        activity_type = f.expr("activityType", "string") or Expr(
            "Typing", node.span, None, "Typing"
        )
        return OtherActivity(
            activity_type=activity_type,
            span=node.span,
            name=f.expr("name", "string"),
            value=f.expr("value", "value"),
            input_hint=f.text("inputHint"),
        )
    if kind != "Message":
        fc.add(
            codes.BAD_ENUM,
            f"{what} kind '{kind}' is not Message, EventActivity or Activity.",
            kind_node.span if kind_node is not None else node.span,
        )
        return None
    f = Fields(
        fc,
        node,
        None,
        what,
    )
    _check_message_keys(fc, node, what)
    return Message(
        text=_templates(fc, f, "text"),
        span=node.span,
        speak=_templates(fc, f, "speak"),
        allow_barge_in=f.flag("allowBargeIn", True),
        randomize=f.flag("randomizeVariantSelection", True),
        value=f.expr("value", "value"),
        channel_data=f.expr("channelData", "value"),
    )


_MESSAGE_FIELDS = (
    "kind", "channelData", "value", "text", "speak", "allowBargeIn", "attachments",
    "attachmentLayout", "summary", "quickReplies", "expiration", "importance",
    "citationEntities", "randomizeVariantSelection",
)  # fmt: skip


def _check_message_keys(fc: FileContext, node: YMap, what: str) -> None:
    for key, _ in node.entries:
        if key.value not in _MESSAGE_FIELDS:
            guess = did_you_mean(key.value, _MESSAGE_FIELDS[1:])
            fc.add(
                codes.UNKNOWN_FIELD,
                f"{what} (Message) has no field '{key.value}'; it is ignored.",
                key.span,
                hint=f"did you mean '{guess}'?" if guess else None,
            )


def _templates(fc: FileContext, f: Fields, key: str) -> tuple[TextTemplate, ...]:
    node = f.get(key)
    if node is None:
        return ()
    items: tuple[YNode, ...] = node.items if isinstance(node, YSeq) else (node,)
    out = []
    for item in items:
        if isinstance(item, YScalar) and item.is_null:
            continue
        tpl = fc.template(item, f.what(key))
        if tpl is not None:
            out.append(tpl)
    return tuple(out)


def build_input_bindings(
    fc: FileContext, f: Fields, key: str = "input"
) -> tuple[InputBinding, ...]:
    node = f.mapping(key)
    if node is None:
        return ()
    kind_node = node.get("kind")
    kind = kind_node.value if isinstance(kind_node, YScalar) else None
    if kind == "SingleValueInputBinding":
        sf = Fields(fc, node, "SingleValueInputBinding", f.what(key))
        value = sf.expr("value", "value")
        return (InputBinding("", value, node.span),) if value is not None else ()
    sf = Fields(fc, node, "ActionInputBindingNoKind", f.what(key), extra=("kind",))
    binding = sf.mapping("binding")
    if binding is None:
        return ()
    out = []
    for name, value_node in binding.entries:
        value = fc.expr(value_node, "value", f"{f.label} input '{name.value}'")
        if value is not None:
            out.append(InputBinding(name.value, value, name.span))
    return tuple(out)


def build_output_bindings(
    fc: FileContext, f: Fields, key: str = "output"
) -> tuple[OutputBinding, ...]:
    node = f.mapping(key)
    if node is None:
        return ()
    kind_node = node.get("kind")
    kind = kind_node.value if isinstance(kind_node, YScalar) else None
    if kind == "SingleVariableOutputBinding":
        sf = Fields(fc, node, "SingleVariableOutputBinding", f.what(key))
        var = sf.variable("variable")  # Copilot Studio writes `init:Topic.x` here too
        return (OutputBinding("", var, node.span),) if var is not None else ()
    sf = Fields(fc, node, "ActionOutputBindingNoKind", f.what(key), extra=("kind",))
    binding = sf.mapping("binding")
    if binding is None:
        return ()
    out = []
    for name, value_node in binding.entries:
        var = fc.variable(value_node, f"{f.label} output '{name.value}'")
        if var is not None:
            out.append(OutputBinding(name.value, var, name.span))
    return tuple(out)


def build_latency(fc: FileContext, f: Fields) -> LatencyMessageSettings | None:
    node = f.mapping("latencyMessageSettings")
    if node is None:
        return None
    lf = Fields(fc, node, "LatencyMessageSettingsNoKind", f.what("latencyMessageSettings"))
    return LatencyMessageSettings(
        span=node.span,
        allow_latency_message=lf.expr("allowLatencyMessage", "bool"),
        latency_message=build_activity(fc, lf.get("latencyMessage"), lf.what("latencyMessage")),
        latency_message_delay_ms=lf.expr("latencyMessageDelayInMilliseconds", "int"),
        minimum_playback_ms=lf.expr("minimumPlaybackInMilliseconds", "int"),
    )
