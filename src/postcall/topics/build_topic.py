"""Building a Topic (`kind: AdaptiveDialog`) and its Trigger from a parsed YAML document."""

from __future__ import annotations

from postcall.diagnostics import did_you_mean
from postcall.topics import codes
from postcall.topics.build import Fields, FileContext, kind_name, start_span
from postcall.topics.build_nodes import build_actions, build_data_type
from postcall.topics.model import TRIGGER_KINDS, Expr, Topic, TopicParameter, Trigger
from postcall.topics.schema_data import FIELDS, KINDS
from postcall.topics.source import YMap, YNode, YScalar, YSeq

# Keys real exports carry that the schema does not list (VS Code metadata, solution flags).
TOPIC_IGNORED_KEYS = ("mcs.metadata", "managedProperties")


# Why a Copilot Studio trigger never comes on a call here (appended to TPC217).
_ORCHESTRATION = (
    ": it is a generative-orchestration moment, and this runtime routes by trigger phrases "
    "without a planner"
)
_WHY_NOT_FIRED: dict[str, str] = {
    "OnSignIn": ": a phone line cannot sign in, so the sign-in moment never comes on a call",
    **{
        k: _ORCHESTRATION
        for k in (
            "OnGeneratedResponse", "OnKnowledgeRequested", "OnToolSelected", "OnPlanComplete",
            "OnOutgoingMessage", "OnCopilotRedirect", "OnAnalyzeText",
        )
    },
}


def build_topic(
    fc: FileContext, root: YNode | None, *, name: str, schema_name: str, path: str,
    embedded: bool = False,
) -> Topic | None:
    """The Topic of one parsed file, or None when the file is not a topic (reported).

    `embedded`: the `dialog:` of a BotDefinition's DialogComponent, which has no `kind`."""
    if root is None:
        return None
    if not isinstance(root, YMap):
        fc.add(
            codes.NOT_A_TOPIC,
            f"A topic file must be a mapping with kind: AdaptiveDialog, not {kind_name(root)}.",
            start_span(root.span),
        )
        return None
    kind_node = root.get("kind")
    if embedded and kind_node is None:
        pass
    elif not isinstance(kind_node, YScalar) or kind_node.value != "AdaptiveDialog":
        found = kind_node.value if isinstance(kind_node, YScalar) else None
        hint = None
        if found and did_you_mean(found, ["AdaptiveDialog"]):
            hint = "did you mean 'AdaptiveDialog'?"
        fc.add(
            codes.NOT_A_TOPIC,
            f"The file is not a topic: its kind is {found!r}, expected AdaptiveDialog."
            if found
            else "The file is not a topic: it has no `kind: AdaptiveDialog`.",
            kind_node.span if kind_node is not None else start_span(root.span),
            hint=hint,
        )
        return None
    root_actions = root.get("actions") is not None
    ignored = (*TOPIC_IGNORED_KEYS, "actions") if root_actions else TOPIC_IGNORED_KEYS
    f = Fields(fc, root, "AdaptiveDialog", "Topic", ignore=ignored)
    if root_actions:
        key = root.key_node("actions")
        fc.add(
            codes.MISSING_FIELD,
            "The topic has `actions:` at its root; actions belong under `beginDialog:` (the trigger).",
            key.span if key is not None else start_span(root.span),
        )
    begin = f.get("beginDialog")
    if begin is None:
        if root.get("actions") is None:
            f.missing("beginDialog")
        trigger = Trigger(kind="OnRedirect", id="main", span=root.span, supported=False)
    elif isinstance(begin, YSeq):
        fc.add(
            codes.WRONG_TYPE,
            "beginDialog must be one trigger (a mapping), not a list.",
            start_span(begin.span),
        )
        trigger = Trigger(kind="OnRedirect", id="main", span=begin.span, supported=False)
    else:
        trigger = build_trigger(fc, begin)
    extra = f.sequence("triggers")
    extra_triggers = tuple(build_trigger(fc, t) for t in extra.items) if extra is not None else ()
    inputs = _parameters(fc, f.mapping("inputType"), "inputType")
    inputs += _task_inputs(fc, f, {p.name for p in inputs})
    end_node = f.get("endAutomatically")
    end_automatically = True
    if isinstance(end_node, YScalar) and end_node.value.lower() in ("true", "false"):
        end_automatically = end_node.value.lower() == "true"
    return Topic(
        name=name,
        schema_name=schema_name,
        path=path,
        trigger=trigger,
        span=root.span,
        start_behavior=f.enum("startBehavior", "TopicStartBehavior", "Default") or "Default",
        end_automatically=end_automatically,
        inputs=inputs,
        outputs=_parameters(fc, f.mapping("outputType"), "outputType"),
        model_description=f.text("modelDescription"),
        model_display_name=f.text("modelDisplayName"),
        extra_triggers=extra_triggers,
    )


def _parameters(fc: FileContext, node: YMap | None, what: str) -> tuple[TopicParameter, ...]:
    if node is None:
        return ()
    f = Fields(fc, node, "RecordNoKind", f"Topic {what}", extra=("kind",))
    props = f.mapping("properties")
    if props is None:
        return ()
    out = []
    for key, value in props.entries:
        ptype = build_data_type(fc, value, f"{what} property '{key.value}'")
        out.append(
            TopicParameter(
                name=key.value,
                type=ptype.kind if ptype is not None else None,
                span=key.span,
                display_name=ptype.display_name if ptype is not None else None,
                description=ptype.description if ptype is not None else None,
            )
        )
    return tuple(out)


def _task_inputs(fc: FileContext, f: Fields, seen: set[str]) -> tuple[TopicParameter, ...]:
    seq = f.sequence("inputs")
    if seq is None:
        return ()
    out = []
    for item in seq.items:
        if not isinstance(item, YMap):
            continue
        kind_node = item.get("kind")
        kind = kind_node.value if isinstance(kind_node, YScalar) else "AutomaticTaskInput"
        schema_def = kind if kind in ("AutomaticTaskInput", "ManualTaskInput") else None
        tf = Fields(fc, item, schema_def, kind)
        name = tf.text("propertyName")
        if name and name not in seen:
            seen.add(name)
            out.append(
                TopicParameter(
                    name=name, type=None, span=item.span, description=tf.text("description")
                )
            )
    return tuple(out)


def build_trigger(fc: FileContext, node: YNode) -> Trigger:
    if not isinstance(node, YMap):
        fc.wrong_type(node, "A trigger must be a mapping with a kind")
        return Trigger(kind="OnRedirect", id="main", span=node.span, supported=False)
    kind_node = node.get("kind")
    kind = kind_node.value if isinstance(kind_node, YScalar) and not kind_node.is_null else ""
    supported = kind in TRIGGER_KINDS
    if not kind:
        fc.add(
            codes.MISSING_FIELD,
            "The trigger (beginDialog) needs the field 'kind'.",
            start_span(node.span),
        )
    elif not supported:
        if kind in KINDS["TriggerBase"]:
            fc.add(
                codes.UNSUPPORTED_TRIGGER,
                f"Trigger {kind} is never fired by this runtime{_WHY_NOT_FIRED.get(kind, '')}; the topic loads but only starts when redirected to.",
                kind_node.span if kind_node is not None else start_span(node.span),
            )
        else:
            guess = did_you_mean(kind, KINDS["TriggerBase"])
            fc.add(
                codes.UNSUPPORTED_TRIGGER,
                f"'{kind}' is not a trigger kind of Copilot Studio's schema; the topic loads but only starts when redirected to.",
                kind_node.span if kind_node is not None else start_span(node.span),
                hint=f"did you mean '{guess}'?" if guess else None,
            )
    schema_def = kind if kind in FIELDS else None
    f = Fields(fc, node, schema_def, kind or "Trigger")
    trigger_id = f.text("id")
    if not trigger_id:
        trigger_id = "main"
        fc.add(
            codes.MISSING_ID, f"The trigger {kind} has no id; using 'main'.", start_span(node.span)
        )
    priority = 0
    prio_node = f.get("priority")
    if isinstance(prio_node, YScalar):
        try:
            number = float(prio_node.value)
            if not number.is_integer():
                raise ValueError(prio_node.value)
            priority = int(number)
        except ValueError:
            fc.add(
                codes.BAD_PRIORITY,
                f"{kind} priority must be a whole number, not '{prio_node.value}'.",
                prio_node.span,
            )
    elif prio_node is not None:
        fc.add(
            codes.BAD_PRIORITY,
            f"{kind} priority must be a whole number, not {kind_name(prio_node)}.",
            start_span(prio_node.span),
        )
    queries: tuple[str, ...] = ()
    intent_name = None
    in_select = True
    intent = f.mapping("intent") if "intent" in f.known else None
    if intent is not None:
        inf = Fields(fc, intent, "IntentNoKind", f"{kind} intent", extra=("kind",))
        queries = inf.texts("triggerQueries")
        intent_name = inf.text("displayName")
        in_select = inf.flag("includeInOnSelectIntent", True)
    activity_type = f.enum("type", "ActivityType") if kind == "OnActivity" else None
    dtmf_key = f.enum("dtmfKey", "DtmfMappingKey") if kind == "OnDtmfKeyPress" else None
    duration: Expr | None = None
    silence: Expr | None = None
    if kind == "OnInactivity":
        duration = f.expr("durationInSeconds", "number")
    if kind == "OnSilence":
        silence = f.expr("silenceDetectionTimeoutInMilliseconds", "int")
    event_name = f.text("eventName") if kind == "OnEventActivity" else None
    actions = build_actions(fc, node.get("actions"), f"{kind or 'Trigger'} actions")
    return Trigger(
        kind=kind or "OnRedirect",
        id=trigger_id,
        span=node.span,
        actions=actions,
        condition=f.expr("condition", "bool")
        if "condition" in f.known or schema_def is None
        else None,
        priority=priority,
        run_once=f.flag("runOnce", False),
        trigger_queries=queries,
        intent_display_name=intent_name,
        include_in_on_select_intent=in_select,
        type=activity_type,
        event_name=event_name,
        duration_seconds=duration,
        silence_timeout_ms=silence,
        dtmf_key=dtmf_key,
        supported=supported,
    )
