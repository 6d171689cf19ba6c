"""Building action nodes (`actions:` items) of the topic model from YAML mappings."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from postcall.diagnostics import SourceSpan, did_you_mean
from postcall.topics import codes
from postcall.topics.build import Fields, FileContext, start_span
from postcall.topics.build_generative import build_generative, build_prompt
from postcall.topics.build_parts import (
    SkipNode,
    build_activity,
    build_input_bindings,
    build_latency,
    build_output_bindings,
    required,
)
from postcall.topics.model import (
    ActivityTemplate,
    Assignment,
    BeginDialog,
    BreakLoop,
    CancelAllDialogs,
    CancelDialog,
    ClearAllVariables,
    ClosedListEntity,
    ClosedListItem,
    ConditionGroup,
    ConditionItem,
    ConnectionProperties,
    ContinueLoop,
    CreateSearchQuery,
    CSATQuestion,
    CustomEntity,
    DtmfMultipleChoiceOptions,
    DtmfOptions,
    DynamicClosedListEntity,
    EditTable,
    EditTableV2,
    EmitEvent,
    EndConversation,
    EndDialog,
    Entity,
    EntityReference,
    Expr,
    Foreach,
    GotoAction,
    HttpBody,
    HttpErrorHandling,
    HttpRequestAction,
    InvokeConnectorAction,
    InvokeFlowAction,
    LogCustomTelemetryEvent,
    Message,
    Node,
    OAuthInput,
    ParseValue,
    PrebuiltEntity,
    PropertyType,
    Question,
    RegexEntity,
    RepeatDialog,
    ReplaceDialog,
    ResetVariable,
    SendActivity,
    SetMultipleVariables,
    SetTextVariable,
    SetVariable,
    TextTemplate,
    TransferContext,
    TransferConversation,
    TransferToAgent,
    TransferToPhoneNumber,
    UnsupportedNode,
    VariableRef,
    VoiceInputSettings,
)
from postcall.topics.schema_data import ENUMS, KINDS
from postcall.topics.source import YMap, YNode, YScalar, YSeq, to_plain
from postcall.topics.voice_card import build_voice_form

Common = dict[str, Any]
Builder = Callable[[FileContext, Fields, Common], Node | None]


# ----------------------------------------------------------------------------------------------
# Action lists


def build_actions(fc: FileContext, node: YNode | None, what: str) -> tuple[Node, ...]:
    if node is None or (isinstance(node, YScalar) and node.is_null):
        return ()
    if not isinstance(node, YSeq):
        fc.wrong_type(node, f"{what} must be a list of actions")
        return ()
    out: list[Node] = []
    for item in node.items:
        built = build_node(fc, item)
        if built is not None:
            out.append(built)
    return tuple(out)


def build_node(fc: FileContext, node: YNode) -> Node | None:
    if not isinstance(node, YMap):
        fc.wrong_type(node, "An action must be a mapping with a kind")
        return None
    kind_node = node.get("kind")
    if not isinstance(kind_node, YScalar) or kind_node.is_null:
        fc.add(codes.MISSING_FIELD, "An action needs the field 'kind'.", start_span(node.span))
        return None
    kind = kind_node.value
    span = node.span
    entry = NODE_BUILDERS.get(kind)
    if entry is None and kind in LEGACY_KINDS:
        return _build_legacy(fc, node, kind, kind_node)
    if entry is None:
        return _unsupported(fc, node, kind, kind_node)
    schema_def, builder = entry
    f = Fields(fc, node, schema_def, kind)
    return _run_builder(fc, f, builder, kind, span, node)


def _run_builder(
    fc: FileContext, f: Fields, builder: Builder, kind: str, span: SourceSpan, node: YMap
) -> Node | None:
    common = _common(fc, f, kind, span)
    try:
        return builder(fc, f, common)
    except SkipNode:
        return UnsupportedNode(
            raw=to_plain(node),
            known_kind=True,
            reason="could not be loaded (see the load diagnostics)",
            invalid=True,
            **common,
        )


def _common(fc: FileContext, f: Fields, kind: str, span: SourceSpan) -> Common:
    node_id = f.text("id")
    if not node_id:
        node_id = f"{kind}_L{span.line}C{span.column}"
        fc.add(
            codes.MISSING_ID,
            f"{kind} has no id; using '{node_id}'.",
            start_span(span),
            hint="give every action a unique id: post-call idempotency keys are built from it",
        )
    outcome = f.enum("conversationOutcome", "ConversationOutcome")
    return {
        "kind": kind,
        "id": node_id,
        "span": span,
        "display_name": f.text("displayName"),
        "disabled": f.flag("disabled", False),
        "conversation_outcome": outcome,
    }


def _unsupported(fc: FileContext, node: YMap, kind: str, kind_node: YScalar) -> UnsupportedNode:
    known = kind in KINDS["DialogAction"]
    id_node = node.get("id")
    node_id = (
        id_node.value
        if isinstance(id_node, YScalar) and not id_node.is_null
        else f"{kind}_L{node.span.line}C{node.span.column}"
    )
    if known:
        fc.add(
            codes.UNSUPPORTED_KIND,
            f"{kind} is not supported by this runtime; the topic loads, running this node fails.",
            kind_node.span,
        )
    else:
        guess = did_you_mean(kind, (*NODE_BUILDERS, *KIND_ALIASES), cutoff=0.5) or did_you_mean(
            kind, KINDS["DialogAction"]
        )
        guess = KIND_ALIASES.get(guess or "", guess)
        fc.add(
            codes.UNKNOWN_KIND,
            f"'{kind}' is not a Copilot Studio action kind.",
            kind_node.span,
            hint=f"did you mean '{guess}'?" if guess else None,
        )
    display = node.get("displayName")
    disabled = node.get("disabled")
    return UnsupportedNode(
        kind=kind,
        id=node_id,
        span=node.span,
        display_name=display.value if isinstance(display, YScalar) else None,
        disabled=isinstance(disabled, YScalar) and disabled.value.lower() == "true",
        raw=to_plain(node),
        known_kind=known,
        reason="is not supported by this runtime"
        if known
        else "is not a Copilot Studio action kind",
    )


# Misspellings seen in hand-written YAML -> the real kind (for "did you mean" only).
KIND_ALIASES: dict[str, str] = {
    "SendMessage": "SendActivity",
    "HttpRequest": "HttpRequestAction",
    "InvokeFlow": "InvokeFlowAction",
    "GotoTopic": "BeginDialog",
    "ClearVariable": "ResetVariable",
    "ClearVariables": "ClearAllVariables",
}


def build_data_type(fc: FileContext, node: YNode | None, what: str) -> PropertyType | None:
    """A DataType: a bare name (String, Number...) or `{kind: Record|Table, properties: {...}}`;
    property values are types or `{type: <DataType>, displayName, description, isRequired}`."""
    if node is None:
        return None
    if isinstance(node, YScalar):
        if node.is_null:
            return None
        return PropertyType(node.value, node.span)
    if isinstance(node, YSeq):
        fc.add(
            codes.WRONG_TYPE,
            f"{what} must be a type name or a mapping, not a list.",
            start_span(node.span),
        )
        return None
    kind_node = node.get("kind")
    type_node = node.get("type")
    if kind_node is None and type_node is not None:
        # PropertyInfo: {type: ..., displayName, description, isRequired}
        inner = build_data_type(fc, type_node, what)
        if inner is None:
            return None
        f = Fields(fc, node, None, what)
        return PropertyType(
            inner.kind,
            node.span,
            inner.properties,
            display_name=f.text("displayName"),
            description=f.text("description"),
            is_required=f.flag("isRequired", False),
        )
    kind = kind_node.value if isinstance(kind_node, YScalar) else "Record"
    props_node = node.get("properties")
    props: list[tuple[str, PropertyType]] = []
    if isinstance(props_node, YMap):
        for key, value in props_node.entries:
            ptype = build_data_type(fc, value, f"{what} property '{key.value}'")
            props.append((key.value, ptype if ptype is not None else PropertyType("Any", key.span)))
    return PropertyType(kind, node.span, tuple(props))


# ----------------------------------------------------------------------------------------------
# Builders, one per kind


def _set_variable(fc: FileContext, f: Fields, c: Common) -> Node:
    variable = required(f, "variable", f.variable("variable"))
    value = f.expr("value", "value")
    if value is None:
        raw = f.node.get("value")
        if raw is None:
            raise SkipNode
        value = Expr("", raw.span, None, None)
    return SetVariable(variable=variable, value=value, **c)


def _set_text_variable(fc: FileContext, f: Fields, c: Common) -> Node:
    variable = required(f, "variable", f.variable("variable"))
    value = required(f, "value", f.template("value"))
    return SetTextVariable(variable=variable, value=value, **c)


def _set_multiple(fc: FileContext, f: Fields, c: Common) -> Node:
    seq = required(f, "assignments", f.sequence("assignments"))
    out = []
    for item in seq.items:
        if not isinstance(item, YMap):
            fc.wrong_type(item, "SetMultipleVariables assignments must be mappings")
            continue
        af = Fields(fc, item, "VariableAssignmentNoKind", "Assignment")
        var = af.variable("variable")
        value = af.expr("value", "value")
        if var is not None and value is not None:
            out.append(Assignment(var, value, item.span))
    return SetMultipleVariables(assignments=tuple(out), **c)


def _parse_value(fc: FileContext, f: Fields, c: Common) -> Node:
    variable = required(f, "variable", f.variable("variable"))
    value = required(f, "value", f.expr("value", "value"))
    value_type = build_data_type(fc, f.get("valueType"), f.what("valueType"))
    policy = f.enum("errorPolicy", "ParseValueErrorPolicy", "DefaultBlank") or "DefaultBlank"
    return ParseValue(
        variable=variable, value=value, value_type=value_type, error_policy=policy, **c
    )


def _reset_variable(fc: FileContext, f: Fields, c: Common) -> Node:
    return ResetVariable(
        variable=required(f, "variable", f.variable("variable", allow_init=False)), **c
    )


def _clear_all(fc: FileContext, f: Fields, c: Common) -> Node:
    variables = f.enum("variables", "VariablesToClear", "ConversationScopedVariables")
    return ClearAllVariables(variables=variables or "ConversationScopedVariables", **c)


def _edit_table(fc: FileContext, f: Fields, c: Common) -> Node:
    items = required(f, "itemsVariable", f.variable("itemsVariable"))
    return EditTable(
        items_variable=items,
        change_type=f.enum("changeType", "TableChangeType", "Add") or "Add",
        value=f.expr("value", "value"),
        result_variable=f.variable("resultVariable"),
        **c,
    )


_TABLE_OPERATIONS = (
    "AddItemOperation", "RemoveItemOperation", "TakeFirstItemOperation",
    "TakeLastItemOperation", "ClearItemsOperation",
)  # fmt: skip


def _edit_table_v2(fc: FileContext, f: Fields, c: Common) -> Node:
    items = required(f, "itemsVariable", f.variable("itemsVariable"))
    op_node = required(f, "changeType", f.mapping("changeType"))
    kind_node = op_node.get("kind")
    op = (
        fc.enum(kind_node, "", f.what("changeType") + " kind", allowed=_TABLE_OPERATIONS)
        if kind_node is not None
        else None
    )
    if op is None:
        if kind_node is None:
            fc.add(
                codes.MISSING_FIELD,
                f"{f.what('changeType')} needs a kind.",
                start_span(op_node.span),
            )
        raise SkipNode
    of = Fields(fc, op_node, op, op)
    return EditTableV2(
        items_variable=items,
        operation=op,
        value=of.expr("value", "value"),
        result_variable=of.variable("resultVariable"),
        **c,
    )


def _send_activity(fc: FileContext, f: Fields, c: Common) -> Node:
    activity = required(f, "activity", build_activity(fc, f.get("activity"), f.what("activity")))
    return SendActivity(activity=activity, **c)


def _dtmf_options(fc: FileContext, node: YNode | None, what: str) -> DtmfOptions | None:
    if not isinstance(node, YMap):
        return None
    kind_node = node.get("kind")
    allowed = ("FixedLengthTermination", "FlexibleLengthTermination", "KeyBasedTermination")
    kind = (
        fc.enum(kind_node, "", what + " kind", allowed=allowed) if kind_node is not None else None
    )
    if kind is None:
        if kind_node is None:
            fc.add(
                codes.MISSING_FIELD,
                f"{what} needs a kind ({', '.join(allowed)}).",
                start_span(node.span),
            )
        return None
    f = Fields(fc, node, kind, what)
    key = f.get("key")
    termination_key = None
    if isinstance(key, YScalar) and not key.value.startswith("="):
        termination_key = fc.enum(key, "DtmfTerminationKey", f.what("key"))
    return DtmfOptions(
        kind=kind,
        span=node.span,
        length=f.expr("length", "int"),
        min_length=f.expr("minLength", "int"),
        max_length=f.expr("maxLength", "int"),
        termination_key=termination_key,
        accepts_voice=f.expr("acceptsVoice", "bool"),
        interdigit_timeout_ms=f.expr("interdigitTimeoutInMilliseconds", "int"),
        termination_timeout_ms=f.expr("terminationTimeoutInMilliseconds", "int"),
    )


def _dtmf_choice(fc: FileContext, f: Fields) -> DtmfMultipleChoiceOptions | None:
    node = f.mapping("dtmfMultipleChoiceOptions")
    if node is None:
        return None
    df = Fields(fc, node, "DtmfMultipleChoiceOptions", f.what("dtmfMultipleChoiceOptions"))
    return DtmfMultipleChoiceOptions(
        span=node.span,
        generate_mapping=df.expr("generateMapping", "bool"),
        read_out_options=df.expr("readOutOptions", "bool"),
    )


_PREBUILT_DEFS = {
    "StringPrebuiltEntity": "StringPrebuiltEntity",
    "BooleanPrebuiltEntity": "BooleanPrebuiltEntity",
    "NumberPrebuiltEntity": "NumberPrebuiltEntity",
}


def build_entity(fc: FileContext, node: YNode | None, what: str) -> Entity | None:
    if node is None:
        return None
    known = KINDS["EntityReference"]
    if isinstance(node, YScalar):
        if node.is_null:
            return None
        name = node.value
        if name not in known:
            guess = did_you_mean(name, known)
            fc.add(
                codes.BAD_ENUM,
                f"{what} '{name}' is not a Copilot Studio entity.",
                node.span,
                hint=f"did you mean '{guess}'?" if guess else None,
            )
        return PrebuiltEntity(name, node.span)
    if not isinstance(node, YMap):
        fc.add(
            codes.WRONG_TYPE,
            f"{what} must be an entity name or a mapping, not a list.",
            start_span(node.span),
        )
        return None
    kind_node = node.get("kind")
    if not isinstance(kind_node, YScalar) or kind_node.is_null:
        fc.add(codes.MISSING_FIELD, f"{what} needs a kind.", start_span(node.span))
        return None
    kind = kind_node.value
    if kind == "EmbeddedEntity":
        f = Fields(fc, node, "EmbeddedEntity", what)
        definition = f.mapping("definition")
        if definition is None:
            return None
        dkind = definition.get("kind")
        if isinstance(dkind, YScalar) and dkind.value == "ClosedListEntity":
            df = Fields(fc, definition, "ClosedListEntity", f"{what} definition")
            return ClosedListEntity(
                items=_closed_list_items(fc, df),
                span=node.span,
                display_name=f.text("displayName"),
                dtmf_multiple_choice=_dtmf_choice(fc, df),
                option_set_name=df.text("optionSetName"),
            )
        return EntityReference(
            dkind.value if isinstance(dkind, YScalar) else "EmbeddedEntity", node.span
        )
    if kind == "ClosedListEntity":
        df = Fields(fc, node, "ClosedListEntity", what)
        return ClosedListEntity(
            items=_closed_list_items(fc, df),
            span=node.span,
            dtmf_multiple_choice=_dtmf_choice(fc, df),
            option_set_name=df.text("optionSetName"),
        )
    if kind == "DynamicClosedListEntity":
        df = Fields(fc, node, "DynamicClosedListEntity", what)
        return DynamicClosedListEntity(df.expr("items", "value"), node.span, _dtmf_choice(fc, df))
    if kind in ("ClosedListEntityReference", "RegexEntityReference"):
        df = Fields(fc, node, "ClosedListEntityReference", what, check_unknown=False)
        return EntityReference(kind, node.span, df.text("entityId"))
    if kind in known and kind.endswith("PrebuiltEntity"):
        df = Fields(fc, node, _PREBUILT_DEFS.get(kind), what, check_unknown=kind in _PREBUILT_DEFS)
        return PrebuiltEntity(
            kind,
            node.span,
            dtmf_options=_dtmf_options(fc, df.get("dtmfOptions"), df.what("dtmfOptions")),
            dtmf_multiple_choice=_dtmf_choice(fc, df),
        )
    if kind in known:
        return EntityReference(kind, node.span)
    guess = did_you_mean(kind, known)
    fc.add(
        codes.BAD_ENUM,
        f"{what} kind '{kind}' is not a Copilot Studio entity.",
        kind_node.span,
        hint=f"did you mean '{guess}'?" if guess else None,
    )
    return EntityReference(kind, node.span)


def build_custom_entity(fc: FileContext, node: YNode | None, name: str) -> CustomEntity | None:
    """An entities/ file or `<bot>.entity.<Name>` component: a closed list or a regex entity.

    A malformed one is reported (naming the file) and skipped; questions that use it then keep
    the caller's words as text.
    """
    if not isinstance(node, YMap):
        fc.add(
            codes.BAD_ENTITY,
            f"Entity {name} is not a mapping with a kind; it is skipped.",
            SourceSpan(fc.path, 1, 1),
        )
        return None
    kind_node = node.get("kind")
    kind = kind_node.value if isinstance(kind_node, YScalar) else None
    if kind == "ClosedListEntity":
        df = Fields(fc, node, "ClosedListEntity", f"entity {name}")
        items = _closed_list_items(fc, df)
        if not items:
            fc.add(codes.BAD_ENTITY, f"Entity {name} has no items.", start_span(node.span))
        return ClosedListEntity(
            items=items, span=node.span, display_name=name, option_set_name=df.text("optionSetName"),
            dtmf_multiple_choice=_dtmf_choice(fc, df),
        )
    if kind == "RegexEntity":
        df = Fields(fc, node, "RegexEntity", f"entity {name}")
        pattern = df.text("pattern")
        if not pattern:
            fc.add(codes.BAD_ENTITY, f"Regex entity {name} has no pattern; it is skipped.", start_span(node.span))
            return None
        try:
            re.compile(pattern)
        except re.error as exc:
            fc.add(
                codes.BAD_ENTITY,
                f"Regex entity {name}: the pattern does not compile ({exc}); it is skipped.",
                start_span(node.span),
            )
            return None
        return RegexEntity(pattern=pattern, span=node.span, display_name=name)
    fc.add(
        codes.BAD_ENTITY,
        f"Entity {name} has kind {kind!r}; only ClosedListEntity and RegexEntity are read.",
        start_span(node.span),
    )
    return None


def _closed_list_items(fc: FileContext, f: Fields) -> tuple[ClosedListItem, ...]:
    seq = f.sequence("items")
    if seq is None:
        return ()
    out = []
    for item in seq.items:
        if not isinstance(item, YMap):
            fc.wrong_type(item, "Closed list items must be mappings")
            continue
        itf = Fields(fc, item, "ClosedListItemNoKind", "Closed list item", extra=("kind",))
        item_id = itf.text("id")
        if item_id is None:
            continue
        out.append(
            ClosedListItem(
                id=item_id,
                display_name=itf.text("displayName") or item_id,
                span=item.span,
                synonyms=itf.texts("synonyms"),
                dtmf_key=itf.enum("dtmfKey", "DtmfMappingKey"),
            )
        )
    return tuple(out)


def _voice_input(fc: FileContext, f: Fields) -> VoiceInputSettings | None:
    node = f.mapping("voiceInputSettings")
    if node is None:
        return None
    vf = Fields(fc, node, "VoiceInputSettingsNoKind", f.what("voiceInputSettings"))
    action_node = vf.get("defaultValueMissingAction")
    action = "HangUp"
    if isinstance(action_node, YScalar) and not action_node.value.startswith("="):
        action = (
            fc.enum(action_node, "DefaultValueMissingAction", vf.what("defaultValueMissingAction"))
            or "HangUp"
        )
    return VoiceInputSettings(
        span=node.span,
        silence_timeout_ms=vf.expr("silenceDetectionTimeoutInMilliseconds", "int"),
        repeat_count_on_silence=vf.expr("repeatCountOnSilence", "int"),
        input_timeout_response=build_activity(
            fc, vf.get("inputTimeoutResponse"), vf.what("inputTimeoutResponse")
        ),
        default_value_missing_action=action,
        default_value_on_silence=vf.expr("defaultValueOnSilence", "value"),
        fallback_dialog_on_silence=vf.expr("fallbackDialogOnSilence", "string"),
        utterance_end_timeout_ms=vf.expr("utteranceEndTimeoutInMilliseconds", "int"),
        speech_recognition_timeout_ms=vf.expr("speechRecognitionTimeoutInMilliseconds", "int"),
    )


def _question(fc: FileContext, f: Fields, c: Common) -> Node:
    var_or_none = f.variable("variable")
    prompt_or_none = build_activity(fc, f.get("prompt"), f.what("prompt"))
    entity_or_none = build_entity(fc, f.get("entity"), f.what("entity"))
    variable: VariableRef = required(f, "variable", var_or_none)
    prompt: ActivityTemplate = required(f, "prompt", prompt_or_none)
    entity: Entity = required(f, "entity", entity_or_none)
    policy = f.mapping("interruptionPolicy")
    allow_interruption = True
    if policy is not None:
        allow_interruption = Fields(
            fc, policy, "InterruptionPolicyNoKind", f.what("interruptionPolicy")
        ).flag("allowInterruption", True)
    hold = f.mapping("holdSettings")
    hold_kind = None
    if hold is not None and isinstance(hold.get("kind"), YScalar):
        hold_kind = hold.get("kind").value  # type: ignore[union-attr]
    skip_node = f.get("skipQuestionMode")
    skip = "SkipOnFirstExecutionIfVariableHasValue"
    if isinstance(skip_node, YScalar) and not skip_node.value.startswith("="):
        skip = fc.enum(skip_node, "SkipQuestionMode", f.what("skipQuestionMode")) or skip
    return Question(
        variable=variable,
        prompt=prompt,
        entity=entity,
        always_prompt=f.expr("alwaysPrompt", "bool"),
        skip_question_mode=skip,
        repeat_count=f.expr("repeatCount", "int"),
        unrecognized_prompt=build_activity(
            fc, f.get("unrecognizedPrompt"), f.what("unrecognizedPrompt")
        ),
        invalid_prompt=build_activity(fc, f.get("invalidPrompt"), f.what("invalidPrompt")),
        validation=f.expr("validation", "bool"),
        default_value=f.expr("defaultValue", "value"),
        default_value_response=build_activity(
            fc, f.get("defaultValueResponse"), f.what("defaultValueResponse")
        ),
        allow_interruption=allow_interruption,
        voice_input_settings=_voice_input(fc, f),
        fallback_dialog_on_invalid_entity=f.expr("fallbackDialogOnInvalidEntity", "string"),
        hold_settings_kind=hold_kind,
        **c,
    )


def _csat(fc: FileContext, f: Fields, c: Common) -> Node:
    span = f.node.span
    variable = f.variable("variable") or VariableRef("System", "Conversation.CSAT", False, span)
    prompt = Message(text=(TextTemplate(CSATQuestion.DEFAULT_PROMPT, span),), span=span)
    retry = Message(text=(TextTemplate(CSATQuestion.RETRY_PROMPT, span),), span=span)
    return CSATQuestion(
        variable=variable,
        prompt=prompt,
        entity=PrebuiltEntity(name="NumberPrebuiltEntity", span=span),
        always_prompt=Expr(text="true", span=span, literal=True),
        repeat_count=Expr(text="1", span=span, literal=1),
        unrecognized_prompt=retry,
        **c,
    )


def _adaptive_card(fc: FileContext, f: Fields, c: Common) -> Node:
    card = f.get("card")
    text = card.value if isinstance(card, YScalar) and not card.is_null else None
    if isinstance(card, YMap):
        text = json.dumps(to_plain(card))
    form = build_voice_form(c["id"], text, build_output_bindings(fc, f), f.node.span, dict(c))
    if form.card_error is not None:
        fc.add(
            codes.VOICE_BEHAVIOUR,
            f"AdaptiveCardPrompt '{c['id']}' cannot be read aloud: {form.card_error}. On a call "
            "its outputs stay Blank and the topic goes on.",
            start_span(card.span if card is not None else f.node.span),
        )
    return form


def _oauth_input(fc: FileContext, f: Fields, c: Common) -> Node:
    fc.add(
        codes.VOICE_BEHAVIOUR,
        f"OAuthInput '{c['id']}' asks the caller to sign in, which a phone line cannot do: the "
        "call says so, sets System.SignInReason to SignInRequired (System.User.IsLoggedIn stays "
        "false) and goes on.",
        start_span(f.node.span),
    )
    return OAuthInput(title=f.expr("title", "string"), text=f.expr("text", "string"), **c)


def _create_search_query(fc: FileContext, f: Fields, c: Common) -> Node:
    return CreateSearchQuery(user_input=f.expr("userInput", "string"), result=f.variable("result"), **c)


def _invoke_skill(fc: FileContext, f: Fields, c: Common) -> Node:
    skill = required(f, "skillId", f.text("skillId"))
    action = f.text("actionId")
    return InvokeFlowAction(
        flow_id=f"skill:{skill}" + (f":{action}" if action else ""),
        input=build_input_bindings(fc, f),
        output=build_output_bindings(fc, f),
        latency_message=build_latency(fc, f),
        **c,
    )


def _condition_group(fc: FileContext, f: Fields, c: Common) -> Node:
    seq = f.sequence("conditions")
    items = []
    for item in seq.items if seq is not None else ():
        if not isinstance(item, YMap):
            fc.wrong_type(item, "ConditionGroup conditions must be mappings")
            continue
        itf = Fields(fc, item, "ConditionItemNoKind", "Condition", extra=("kind", "displayName"))
        item_id = itf.text("id")
        if not item_id:
            item_id = f"conditionItem_L{item.span.line}C{item.span.column}"
            fc.add(
                codes.MISSING_ID,
                f"A condition has no id; using '{item_id}'.",
                start_span(item.span),
            )
        condition = itf.expr("condition", "bool")
        if condition is None:
            if itf.node.get("condition") is not None and not itf.has("condition"):
                itf.missing("condition")
            condition = Expr("", item.span, None, False)
        items.append(
            ConditionItem(
                item_id,
                condition,
                build_actions(fc, itf.get("actions"), "Condition actions"),
                item.span,
            )
        )
    return ConditionGroup(
        conditions=tuple(items),
        else_actions=build_actions(fc, f.get("elseActions"), "ConditionGroup elseActions"),
        **c,
    )


_IF_CONDITION_FIELDS = (
    "kind", "id", "displayName", "disabled", "conversationOutcome", "condition", "actions",
    "elseActions",
)  # fmt: skip


def _if_condition(fc: FileContext, f: Fields, c: Common) -> Node:
    """`IfCondition` (not in the schema; Microsoft's own LSP fixtures write it): one condition
    with `actions` and `elseActions`, read as a ConditionGroup with one condition item."""
    node = f.node
    condition = f.expr("condition", "bool")
    if condition is None:
        if not f.has("condition"):
            f.missing("condition")
        condition = Expr("", node.span, None, False)
    item = ConditionItem(
        f"{c['id']}.condition",
        condition,
        build_actions(fc, f.get("actions"), "IfCondition actions"),
        node.span,
    )
    return ConditionGroup(
        conditions=(item,),
        else_actions=build_actions(fc, f.get("elseActions"), "IfCondition elseActions"),
        **{**c, "kind": "ConditionGroup"},
    )


def _goto(fc: FileContext, f: Fields, c: Common) -> Node:
    return GotoAction(action_id=required(f, "actionId", f.text("actionId")), **c)


def _foreach(fc: FileContext, f: Fields, c: Common) -> Node:
    items = required(f, "items", f.expr("items", "value"))
    value = required(f, "value", f.variable("value"))
    return Foreach(
        items=items,
        value=value,
        index=f.variable("index"),
        actions=build_actions(fc, f.get("actions"), "Foreach actions"),
        **c,
    )


def _dialog(f: Fields) -> Expr:
    return required(f, "dialog", f.expr("dialog", "string"))  # type: ignore[no-any-return]


def _begin_dialog(fc: FileContext, f: Fields, c: Common) -> Node:
    return BeginDialog(
        dialog=_dialog(f),
        input=build_input_bindings(fc, f),
        output=build_output_bindings(fc, f),
        activity_processed=f.expr("activityProcessed", "bool"),
        **c,
    )


def _replace_dialog(fc: FileContext, f: Fields, c: Common) -> Node:
    return ReplaceDialog(
        dialog=_dialog(f),
        input=build_input_bindings(fc, f),
        activity_processed=f.expr("activityProcessed", "bool"),
        **c,
    )


def _repeat_dialog(fc: FileContext, f: Fields, c: Common) -> Node:
    return RepeatDialog(
        input=build_input_bindings(fc, f),
        activity_processed=f.expr("activityProcessed", "bool"),
        **c,
    )


def _end_dialog(fc: FileContext, f: Fields, c: Common) -> Node:
    return EndDialog(
        clear_topic_queue=f.flag("clearTopicQueue", True), value=f.expr("value", "value"), **c
    )


def _cancel_dialog(fc: FileContext, f: Fields, c: Common) -> Node:
    return CancelDialog(
        event_name=f.expr("eventName", "string"),
        event_value=f.expr("eventValue", "value"),
        activity_processed=f.expr("activityProcessed", "bool"),
        **c,
    )


def _cancel_all(fc: FileContext, f: Fields, c: Common) -> Node:
    return CancelAllDialogs(
        event_name=f.expr("eventName", "string"),
        event_value=f.expr("eventValue", "value"),
        activity_processed=f.expr("activityProcessed", "bool"),
        **c,
    )


def _emit_event(fc: FileContext, f: Fields, c: Common) -> Node:
    return EmitEvent(
        event_name=required(f, "eventName", f.expr("eventName", "string")),
        event_value=f.expr("eventValue", "value"),
        event_type=f.enum("eventType", "EventType", "ActivityIfUnhandled") or "ActivityIfUnhandled",
        bubble_event=f.expr("bubbleEvent", "bool"),
        **c,
    )


def _end_conversation(fc: FileContext, f: Fields, c: Common) -> Node:
    return EndConversation(**c)


def _break(fc: FileContext, f: Fields, c: Common) -> Node:
    return BreakLoop(**c)


def _continue(fc: FileContext, f: Fields, c: Common) -> Node:
    return ContinueLoop(**c)


def _http_body(fc: FileContext, f: Fields) -> HttpBody | None:
    node = f.mapping("body")
    if node is None:
        return None
    kind_node = node.get("kind")
    allowed = ("NoRequestContent", "JsonRequestContent", "RawRequestContent")
    if kind_node is None:
        return HttpBody("NoRequestContent", node.span)
    kind = fc.enum(kind_node, "", f.what("body") + " kind", allowed=allowed)
    if kind is None:
        return None
    bf = Fields(fc, node, kind, f"{f.label} body ({kind})")
    if kind == "JsonRequestContent":
        return HttpBody(kind, node.span, content=bf.expr("content", "value"))
    if kind == "RawRequestContent":
        return HttpBody(
            kind,
            node.span,
            content=bf.expr("content", "string"),
            content_type=bf.expr("contentType", "string"),
        )
    return HttpBody(kind, node.span)


def _http_errors(fc: FileContext, f: Fields) -> HttpErrorHandling:
    node = f.mapping("errorHandling")
    if node is None:
        return HttpErrorHandling("RaiseErrorBehavior")
    kind_node = node.get("kind")
    if kind_node is None:
        return HttpErrorHandling("RaiseErrorBehavior", node.span)
    kind = fc.enum(
        kind_node,
        "",
        f.what("errorHandling") + " kind",
        allowed=("RaiseErrorBehavior", "ContinueOnErrorBehavior"),
    )
    if kind is None:
        return HttpErrorHandling("RaiseErrorBehavior", node.span)
    ef = Fields(fc, node, kind, f"{f.label} errorHandling ({kind})")
    return HttpErrorHandling(
        kind,
        node.span,
        status_code=ef.variable("statusCode", allow_init=False),
        error_response_body=ef.variable("errorResponseBody", allow_init=False),
    )


def _headers(fc: FileContext, f: Fields, key: str) -> tuple[tuple[str, Expr], ...]:
    node = f.mapping(key)
    if node is None:
        return ()
    out = []
    for name, value_node in node.entries:
        value = fc.expr(value_node, "string", f"{f.label} {key} '{name.value}'")
        if value is not None:
            out.append((name.value, value))
    return tuple(out)


def _http_request(fc: FileContext, f: Fields, c: Common) -> Node:
    url = required(f, "url", f.expr("url", "string"))
    method_node = f.get("method")
    method = None
    if isinstance(method_node, YScalar) and not method_node.value.startswith("="):
        name = fc.enum(method_node, "HttpMethodType", f.what("method"))
        method = Expr(method_node.value, method_node.span, None, name or method_node.value)
    elif method_node is not None:
        method = fc.expr(method_node, "string", f.what("method"))
    isolation = f.get("networkIsolation")
    network = None
    if isinstance(isolation, YScalar) and not isolation.value.startswith("="):
        network = fc.enum(isolation, "NetworkIsolationType", f.what("networkIsolation"))
    return HttpRequestAction(
        url=url,
        method=method,
        headers=_headers(fc, f, "headers"),
        body=_http_body(fc, f),
        error_handling=_http_errors(fc, f),
        request_timeout_ms=f.expr("requestTimeoutInMilliseconds", "int"),
        response=f.variable("response", allow_init=False),
        response_schema=build_data_type(fc, f.get("responseSchema"), f.what("responseSchema")),
        response_headers=f.variable("responseHeaders", allow_init=False),
        network_isolation=network,
        latency_message=build_latency(fc, f),
        **c,
    )


def _invoke_flow(fc: FileContext, f: Fields, c: Common) -> Node:
    return InvokeFlowAction(
        flow_id=required(f, "flowId", f.text("flowId")),
        input=build_input_bindings(fc, f),
        output=build_output_bindings(fc, f),
        latency_message=build_latency(fc, f),
        **c,
    )


def _connection_properties(fc: FileContext, f: Fields) -> ConnectionProperties | None:
    node = f.mapping("connectionProperties")
    if node is None:
        return None
    cf = Fields(fc, node, "ConnectionPropertiesNoKind", f.what("connectionProperties"))
    return ConnectionProperties(
        span=node.span,
        mode=cf.enum("mode", "ConnectionMode", "Maker") or "Maker",
        name=cf.text("name"),
        usage_description=cf.text("usageDescription"),
    )


def _raw(f: Fields, key: str) -> Any:
    node = f.get(key)
    return to_plain(node) if node is not None else None


def _invoke_connector(fc: FileContext, f: Fields, c: Common) -> Node:
    reference = f.text("connectionReference")
    operation = f.text("operationId")
    fields: dict[str, Any] = {
        "connection_properties": _connection_properties(fc, f),
        "input": build_input_bindings(fc, f),
        "output": build_output_bindings(fc, f),
        "error_handling": _http_errors(fc, f),
        "request_timeout_ms": f.expr("requestTimeoutInMilliseconds", "int"),
        "dynamic_input_schema": _raw(f, "dynamicInputSchema"),
        "dynamic_output_schema": _raw(f, "dynamicOutputSchema"),
        "latency_message": build_latency(fc, f),
    }
    if not reference or not operation:
        raise SkipNode  # the missing required field was reported (every other field checked)
    return InvokeConnectorAction(
        connection_reference=reference, operation_id=operation, **fields, **c
    )


def _telemetry(fc: FileContext, f: Fields, c: Common) -> Node:
    return LogCustomTelemetryEvent(
        event_name=f.expr("eventName", "string"), properties=f.expr("properties", "value"), **c
    )


def _transfer_context(fc: FileContext, node: YNode | None, what: str) -> TransferContext | None:
    if node is None:
        return None
    if not isinstance(node, YMap):
        fc.wrong_type(node, f"{what} must be a mapping")
        return None
    kind_node = node.get("kind")
    if isinstance(kind_node, YScalar) and kind_node.value == "ManualTransferContext":
        fc.add(
            codes.ALIAS_USED,
            f"{what} kind ManualTransferContext is not in Copilot Studio's schema; read as ExpressionTransferContext.",
            kind_node.span,
        )
        mf = Fields(fc, node, None, what)
        value = mf.expr("value", "value") or mf.expr("contextVariables", "value")
        return TransferContext("ExpressionTransferContext", node.span, value=value)
    allowed = ("AutomaticTransferContext", "ExpressionTransferContext")
    kind = (
        fc.enum(kind_node, "", what + " kind", allowed=allowed)
        if kind_node is not None
        else "AutomaticTransferContext"
    )
    if kind is None:
        return None
    cf = Fields(fc, node, kind, f"{what} ({kind})")
    if kind == "AutomaticTransferContext":
        return TransferContext(
            kind,
            node.span,
            variables=cf.enum("variables", "AutomaticTransferVariables", "All") or "All",
        )
    return TransferContext(kind, node.span, value=cf.expr("value", "value"))


def _sipx_headers(fc: FileContext, f: Fields) -> tuple[tuple[str, Expr], ...]:
    node = f.get("sipxHeaders")
    if node is None:
        return ()
    if isinstance(node, YSeq):
        out = []
        for item in node.items:
            if isinstance(item, YMap):
                hf = Fields(fc, item, None, "sipxHeaders item")
                name, value = hf.text("name") or hf.text("key"), hf.expr("value", "string")
                if name is not None and value is not None:
                    out.append((name, value))
        return tuple(out)
    return _headers(fc, f, "sipxHeaders")


def _transfer_type(fc: FileContext, f: Fields) -> TransferToPhoneNumber | TransferToAgent | None:
    node = f.mapping("transferType")
    if node is None:
        return None
    kind_node = node.get("kind")
    if kind_node is None:
        fc.add(
            codes.MISSING_FIELD,
            f"{f.what('transferType')} needs a kind (TransferToPhoneNumber or TransferToAgent).",
            start_span(node.span),
        )
        return None
    kind = fc.enum(
        kind_node,
        "",
        f.what("transferType") + " kind",
        allowed=("TransferToPhoneNumber", "TransferToAgent"),
    )
    if kind is None:
        return None
    tf = Fields(fc, node, kind, kind)
    if kind == "TransferToPhoneNumber":
        phone = tf.expr("phoneNumber", "string")
        if phone is None:
            return None
        return TransferToPhoneNumber(
            phone_number=phone,
            span=node.span,
            sip_uui_header=tf.expr("sipUuiHeader", "value"),
            sipx_headers=_sipx_headers(fc, tf),
            dtmf_sequence=tf.expr("dtmfSequence", "string"),
        )
    return TransferToAgent(
        span=node.span,
        message_to_agent=build_activity(fc, tf.get("messageToAgent"), tf.what("messageToAgent")),
        context=_transfer_context(fc, tf.get("context"), tf.what("context")),
    )


def _transfer_v2(fc: FileContext, f: Fields, c: Common) -> Node:
    transfer = _transfer_type(fc, f)
    if transfer is None:
        if f.node.get("transferType") is None:
            f.missing("transferType")
        raise SkipNode
    return TransferConversation(transfer_type=transfer, **c)


def _transfer_v1(fc: FileContext, f: Fields, c: Common) -> Node:
    phone = f.expr("telephoneNumber", "string")
    span = f.node.span
    transfer: TransferToPhoneNumber | TransferToAgent
    if phone is not None:
        transfer = TransferToPhoneNumber(phone_number=phone, span=span)
    else:
        transfer = TransferToAgent(
            span=span,
            message_to_agent=build_activity(fc, f.get("messageToAgent"), f.what("messageToAgent")),
            context=_transfer_context(fc, f.get("context"), f.what("context")),
        )
    return TransferConversation(transfer_type=transfer, **c)


def _generative_builders() -> dict[str, tuple[str, Builder]]:
    """The generative nodes' builders (topics/build_generative.py); their fields are checked
    there, so no schema definition here (None: nothing checked twice)."""
    return {
        "SearchAndSummarizeContent": (None, build_generative),  # type: ignore[dict-item]
        "AnswerQuestionWithAI": (None, build_generative),  # type: ignore[dict-item]
        "InvokeAIBuilderModelAction": (None, build_prompt),  # type: ignore[dict-item]
    }


NODE_BUILDERS: dict[str, tuple[str, Builder]] = {
    "SetVariable": ("SetVariable", _set_variable),
    "SetTextVariable": ("SetTextVariable", _set_text_variable),
    "SetMultipleVariables": ("SetMultipleVariables", _set_multiple),
    "ParseValue": ("ParseValue", _parse_value),
    "ResetVariable": ("ResetVariable", _reset_variable),
    "ClearAllVariables": ("ClearAllVariables", _clear_all),
    "EditTable": ("EditTable", _edit_table),
    "EditTableV2": ("EditTableV2", _edit_table_v2),
    "SendActivity": ("SendActivity", _send_activity),
    "Question": ("Question", _question),
    "CSATQuestion": ("CSATQuestion", _csat),
    "AdaptiveCardPrompt": ("AdaptiveCardPrompt", _adaptive_card),
    "OAuthInput": ("OAuthInput", _oauth_input),
    "CreateSearchQuery": ("CreateSearchQuery", _create_search_query),
    "InvokeSkillAction": ("InvokeSkillAction", _invoke_skill),
    "ConditionGroup": ("ConditionGroup", _condition_group),
    "GotoAction": ("GotoAction", _goto),
    "Foreach": ("Foreach", _foreach),
    "BreakLoop": ("BreakLoop", _break),
    "ContinueLoop": ("ContinueLoop", _continue),
    "BeginDialog": ("BeginDialog", _begin_dialog),
    "ReplaceDialog": ("ReplaceDialog", _replace_dialog),
    "RepeatDialog": ("RepeatDialog", _repeat_dialog),
    "EndDialog": ("EndDialog", _end_dialog),
    "CancelDialog": ("CancelDialog", _cancel_dialog),
    "CancelAllDialogs": ("CancelAllDialogs", _cancel_all),
    "EmitEvent": ("EmitEvent", _emit_event),
    "EndConversation": ("EndConversation", _end_conversation),
    "HttpRequestAction": ("HttpRequestAction", _http_request),
    "InvokeFlowAction": ("InvokeFlowAction", _invoke_flow),
    "InvokeConnectorAction": ("InvokeConnectorAction", _invoke_connector),
    "LogCustomTelemetryEvent": ("LogCustomTelemetryEvent", _telemetry),
    "TransferConversationV2": ("TransferConversationV2", _transfer_v2),
    "TransferConversation": ("TransferConversation", _transfer_v1),
}
NODE_BUILDERS.update(_generative_builders())

SUPPORTED_NODE_KINDS: tuple[str, ...] = tuple(NODE_BUILDERS)

# Kinds outside the schema that real files write, read as a supported kind with a warning
# (TPC220): kind -> (how it is read, the fields it has, its builder, the hint).
LEGACY_KINDS: dict[str, tuple[str, tuple[str, ...], Builder, str]] = {
    "IfCondition": (
        "a ConditionGroup with one condition",
        _IF_CONDITION_FIELDS,
        _if_condition,
        "write kind: ConditionGroup with conditions: [{id, condition, actions}] and elseActions",
    ),
}


def _build_legacy(fc: FileContext, node: YMap, kind: str, kind_node: YScalar) -> Node | None:
    read_as, fields, builder, hint = LEGACY_KINDS[kind]
    fc.add(
        codes.ALIAS_USED,
        f"'{kind}' is not in Copilot Studio's schema; read as {read_as}.",
        kind_node.span,
        hint=hint,
    )
    f = Fields(fc, node, kind, kind, extra=fields)
    return _run_builder(fc, f, builder, kind, node.span, node)


assert set(NODE_BUILDERS) <= set(KINDS["DialogAction"])
assert "DtmfMappingKey" in ENUMS
