"""The immutable, typed model of an agent's topics: what the engine runs.

Everything here is a frozen dataclass holding tuples, never lists, so a loaded agent can be shared
between conversations without copying.  Every node and every value that came from a file keeps its
`SourceSpan`.  Field names are the YAML names in snake_case; durations keep their unit in the name
(`request_timeout_ms`).  docs/topics.md documents the model.

Values that may be Power Fx formulas are `Expr`: `formula` is set when the YAML text starts with
`=`, otherwise `literal` holds the value converted for the field (text, bool, int, float).  Message
texts are `TextTemplate` (literal text with `{expr}` holes).  Variables that nodes write are
`VariableRef`.

Trigger and node classes are named after their Copilot Studio `kind`; kinds the runtime does not
support load as `UnsupportedNode` (running into one is a runtime error).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeAlias

from postcall.diagnostics import SourceSpan, TextOrigin
from postcall.topics.fx import Formula, NameRef, Template

# ----------------------------------------------------------------------------------------------
# Values

LiteralValue: TypeAlias = (
    "str | bool | int | float | None | tuple[LiteralValue, ...] | Mapping[str, LiteralValue]"
)

VariableScope = Literal["Topic", "Global", "System", "Env"]
VARIABLE_SCOPES: tuple[str, ...] = ("Topic", "Global", "System", "Env")


@dataclass(frozen=True, slots=True)
class Expr:
    """A field value: a Power Fx formula (`=...`) or a literal.

    `text` is the value as written in the file (with its leading `=` for formulas).  `formula` is
    the parsed formula (None for literals, and for formulas that failed to parse: the validator has
    reported those).  `literal` is the converted literal for non-formulas.  `origin` maps
    offsets of the formula source (the text after `=`) back to the file.  `free_names` are the
    names the formula reads from the variable scopes (not row-scope names), with file spans;
    they are known even when the formula did not compile (for a syntax error, the `Topic.x` and
    `Global.x` reads found in its text).
    """

    text: str
    span: SourceSpan
    formula: Formula | None = None
    literal: LiteralValue = None
    origin: TextOrigin | None = field(default=None, compare=False, repr=False)
    free_names: tuple[NameRef, ...] = field(default=(), compare=False, repr=False)

    @property
    def is_formula(self) -> bool:
        return self.text.startswith("=")

    @property
    def names(self) -> frozenset[str]:
        """Dotted references the formula reads, as written (empty for literals; the free names
        when the formula did not compile)."""
        if self.formula is not None:
            return self.formula.names
        return frozenset(r.path for r in self.free_names)


@dataclass(frozen=True, slots=True)
class TextTemplate:
    """Message text with `{expr}` holes (SendActivity text/speak, prompts, SetTextVariable)."""

    text: str
    span: SourceSpan
    template: Template | None = None
    origin: TextOrigin | None = field(default=None, compare=False, repr=False)
    free_names: tuple[NameRef, ...] = field(default=(), compare=False, repr=False)

    @property
    def names(self) -> frozenset[str]:
        if self.template is not None:
            return self.template.names
        return frozenset(r.path for r in self.free_names)


@dataclass(frozen=True, slots=True)
class VariableRef:
    """A variable a node writes: `Topic.x`, `Global.y`, `System.z`, `Env.w`.

    `name` is the path after the scope (may be dotted, e.g. `Conversation.EndReason`); `init` is
    True when the file wrote the `init:` prefix (first assignment declares the variable).
    """

    scope: VariableScope
    name: str
    init: bool
    span: SourceSpan

    @property
    def path(self) -> str:
        return f"{self.scope}.{self.name}"

    def __str__(self) -> str:
        return self.path


# ----------------------------------------------------------------------------------------------
# Messages and activities


@dataclass(frozen=True, slots=True)
class Message:
    """A message activity: text variants and optional speech (SSML) variants.

    A plain string in YAML becomes a Message with one text variant.  `speak` falls back to
    `text` when empty.  `randomize` picks a random variant (SCH default True); the engine may pick
    the first for determinism.
    """

    text: tuple[TextTemplate, ...]
    span: SourceSpan
    speak: tuple[TextTemplate, ...] = ()
    allow_barge_in: bool = True
    randomize: bool = True
    value: Expr | None = None
    channel_data: Expr | None = None


@dataclass(frozen=True, slots=True)
class EventActivity:
    """SendActivity with `kind: EventActivity`: a named event out to the channel."""

    name: Expr | None
    span: SourceSpan
    value: Expr | None = None
    channel_data: Expr | None = None


@dataclass(frozen=True, slots=True)
class OtherActivity:
    """SendActivity with `kind: Activity`: a non-message activity such as typing or delay."""

    activity_type: Expr
    span: SourceSpan
    name: Expr | None = None
    value: Expr | None = None
    input_hint: str | None = None


ActivityTemplate: TypeAlias = Message | EventActivity | OtherActivity


# ----------------------------------------------------------------------------------------------
# Helpers shared by several nodes


@dataclass(frozen=True, slots=True)
class InputBinding:
    """One `input.binding` entry of BeginDialog/ReplaceDialog/InvokeFlowAction: name <- value."""

    name: str
    value: Expr
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class OutputBinding:
    """One `output.binding` entry: the callee's output `name` -> the caller's `variable`."""

    name: str
    variable: VariableRef
    span: SourceSpan


@dataclass(frozen=True, slots=True)
class LatencyMessageSettings:
    """A 'please wait' prompt played while a backend call runs (voice)."""

    span: SourceSpan
    allow_latency_message: Expr | None = None
    latency_message: ActivityTemplate | None = None
    latency_message_delay_ms: Expr | None = None
    minimum_playback_ms: Expr | None = None


@dataclass(frozen=True, slots=True)
class PropertyType:
    """A data type (ParseValue.valueType, responseSchema, inputType/outputType properties).

    `kind` is String, Number, Boolean, Record, Table, DateTime, Any...; `properties` for Record and
    Table (for a Table: the columns of each row).
    """

    kind: str
    span: SourceSpan
    properties: tuple[tuple[str, PropertyType], ...] = ()
    display_name: str | None = None
    description: str | None = None
    is_required: bool = False

    def property(self, name: str) -> PropertyType | None:
        for key, value in self.properties:
            if key == name:
                return value
        return None


# ----------------------------------------------------------------------------------------------
# Nodes (actions)


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """Base of every action node.  `kind` is the Copilot Studio kind as written."""

    KIND: ClassVar[str] = ""

    id: str
    span: SourceSpan
    kind: str = ""  # defaults to the class's KIND
    display_name: str | None = None
    disabled: bool = False
    conversation_outcome: str | None = None

    def __post_init__(self) -> None:
        if not self.kind:
            object.__setattr__(self, "kind", self.KIND)

    def children(self) -> Iterator[tuple[Node, ...]]:
        """The nested action lists of this node (branches, loop bodies)."""
        return iter(())


Actions: TypeAlias = tuple[Node, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class UnsupportedNode(Node):
    """A node kind the runtime does not run (AI, knowledge, adaptive cards, unknown kinds).

    `raw` is the node's YAML as plain data.  Loading warns; running into it is a runtime error.
    `known_kind` is True when the kind exists in Copilot Studio's schema (it is just not supported
    here), False for kinds Copilot Studio does not know either.  `invalid` is True for a node of
    a supported kind that failed validation (a required field missing or wrong; its errors were
    reported): it is not an unsupported kind.
    """

    raw: Mapping[str, Any] = field(default_factory=dict)
    known_kind: bool = False
    reason: str = "is not supported by this runtime"
    invalid: bool = False

    @property
    def is_unsupported_kind(self) -> bool:
        """A valid Copilot Studio kind that this runtime does not run."""
        return self.known_kind and not self.invalid

    def describe(self) -> str:
        """A sentence for the runtime error: '<kind> <id> at file:line <reason>'."""
        return f"{self.kind} '{self.id}' at {self.span} {self.reason}"


# -- variables --


@dataclass(frozen=True, slots=True, kw_only=True)
class SetVariable(Node):
    KIND: ClassVar[str] = "SetVariable"
    variable: VariableRef
    value: Expr


@dataclass(frozen=True, slots=True, kw_only=True)
class SetTextVariable(Node):
    KIND: ClassVar[str] = "SetTextVariable"
    variable: VariableRef
    value: TextTemplate


@dataclass(frozen=True, slots=True)
class Assignment:
    variable: VariableRef
    value: Expr
    span: SourceSpan


@dataclass(frozen=True, slots=True, kw_only=True)
class SetMultipleVariables(Node):
    KIND: ClassVar[str] = "SetMultipleVariables"
    assignments: tuple[Assignment, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ParseValue(Node):
    """Parse `value` (JSON text or a value) into `value_type`, store in `variable`."""

    KIND: ClassVar[str] = "ParseValue"
    variable: VariableRef
    value: Expr
    value_type: PropertyType | None
    error_policy: str = "DefaultBlank"  # DefaultBlank | ThrowError


@dataclass(frozen=True, slots=True, kw_only=True)
class ResetVariable(Node):
    KIND: ClassVar[str] = "ResetVariable"
    variable: VariableRef


@dataclass(frozen=True, slots=True, kw_only=True)
class ClearAllVariables(Node):
    KIND: ClassVar[str] = "ClearAllVariables"
    # ConversationScopedVariables | ConversationHistory | UserScopedVariables | AllGlobalVariables
    variables: str = "ConversationScopedVariables"


@dataclass(frozen=True, slots=True, kw_only=True)
class EditTable(Node):
    """Legacy table edit: change_type Add | Remove | Clear | TakeFirst | TakeLast."""

    KIND: ClassVar[str] = "EditTable"
    items_variable: VariableRef
    change_type: str = "Add"
    value: Expr | None = None
    result_variable: VariableRef | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EditTableV2(Node):
    """Table edit: operation AddItemOperation | RemoveItemOperation | TakeFirstItemOperation |
    TakeLastItemOperation | ClearItemsOperation."""

    KIND: ClassVar[str] = "EditTableV2"
    items_variable: VariableRef
    operation: str
    value: Expr | None = None
    result_variable: VariableRef | None = None


# -- messages and input --


@dataclass(frozen=True, slots=True, kw_only=True)
class SendActivity(Node):
    KIND: ClassVar[str] = "SendActivity"
    activity: ActivityTemplate


@dataclass(frozen=True, slots=True)
class ClosedListItem:
    id: str
    display_name: str
    span: SourceSpan
    synonyms: tuple[str, ...] = ()
    dtmf_key: str | None = None  # Num0..Num9, PoundKey, StarKey


@dataclass(frozen=True, slots=True)
class DtmfOptions:
    """Digit entry on a String entity.

    kind FixedLengthTermination (`length`), FlexibleLengthTermination (`min_length`,
    `max_length`) or KeyBasedTermination; `termination_key` is the DtmfTerminationKey value as
    written (e.g. PoundKey, StarKey, None).
    """

    kind: str
    span: SourceSpan
    length: Expr | None = None
    min_length: Expr | None = None
    max_length: Expr | None = None
    termination_key: str | None = None
    accepts_voice: Expr | None = None
    interdigit_timeout_ms: Expr | None = None
    termination_timeout_ms: Expr | None = None


@dataclass(frozen=True, slots=True)
class DtmfMultipleChoiceOptions:
    span: SourceSpan
    generate_mapping: Expr | None = None
    read_out_options: Expr | None = None


@dataclass(frozen=True, slots=True)
class PrebuiltEntity:
    """`entity: StringPrebuiltEntity` (bare name) or `{kind: NumberPrebuiltEntity, ...}`."""

    name: str
    span: SourceSpan
    dtmf_options: DtmfOptions | None = None
    dtmf_multiple_choice: DtmfMultipleChoiceOptions | None = None


@dataclass(frozen=True, slots=True)
class ClosedListEntity:
    """An inline closed list (EmbeddedEntity + ClosedListEntity)."""

    items: tuple[ClosedListItem, ...]
    span: SourceSpan
    display_name: str | None = None
    dtmf_multiple_choice: DtmfMultipleChoiceOptions | None = None
    option_set_name: str | None = None  # `optionSetName`: formulas may name the set by it


@dataclass(frozen=True, slots=True)
class DynamicClosedListEntity:
    """Options computed at run time: `items` is a formula giving a table."""

    items: Expr | None
    span: SourceSpan
    dtmf_multiple_choice: DtmfMultipleChoiceOptions | None = None


@dataclass(frozen=True, slots=True)
class EntityReference:
    """A reference to an entity defined elsewhere (ClosedListEntityReference, RegexEntity...)."""

    kind: str
    span: SourceSpan
    entity_id: str | None = None


@dataclass(frozen=True, slots=True)
class RegexEntity:
    """A custom regular-expression entity (`kind: RegexEntity`, an entities/ file)."""

    pattern: str
    span: SourceSpan
    display_name: str | None = None


CustomEntity: TypeAlias = "ClosedListEntity | RegexEntity"

Entity: TypeAlias = PrebuiltEntity | ClosedListEntity | DynamicClosedListEntity | EntityReference


@dataclass(frozen=True, slots=True)
class VoiceInputSettings:
    span: SourceSpan
    silence_timeout_ms: Expr | None = None  # silenceDetectionTimeoutInMilliseconds, 0 = off
    repeat_count_on_silence: Expr | None = None  # default 2
    input_timeout_response: ActivityTemplate | None = None
    default_value_missing_action: str = "HangUp"  # HangUp|Escalate|SetValue|SetEmpty|GoToDialog
    default_value_on_silence: Expr | None = None
    fallback_dialog_on_silence: Expr | None = None
    utterance_end_timeout_ms: Expr | None = None  # default 1500
    speech_recognition_timeout_ms: Expr | None = None  # default 12000


@dataclass(frozen=True, slots=True, kw_only=True)
class Question(Node):
    KIND: ClassVar[str] = "Question"
    variable: VariableRef
    prompt: ActivityTemplate
    entity: Entity
    always_prompt: Expr | None = None  # default false
    skip_question_mode: str = "SkipOnFirstExecutionIfVariableHasValue"
    repeat_count: Expr | None = None  # default 2
    unrecognized_prompt: ActivityTemplate | None = None
    invalid_prompt: ActivityTemplate | None = None
    validation: Expr | None = None
    default_value: Expr | None = None
    default_value_response: ActivityTemplate | None = None
    allow_interruption: bool = True  # interruptionPolicy.allowInterruption
    voice_input_settings: VoiceInputSettings | None = None
    fallback_dialog_on_invalid_entity: Expr | None = None
    hold_settings_kind: str | None = None  # DoNotHoldSettings | AutomaticHoldSettings | ...

    DEFAULT_REPEAT_COUNT: ClassVar[int] = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class CSATQuestion(Question):
    """The customer-satisfaction survey (CSATQuestion), built as a Question on voice.

    The caller rates 1 to 5 by speech ("four", "very satisfied") or keypad; the rating (a
    number) goes to the node's `variable` (System.Conversation.CSAT when it names none).  One
    re-ask when the answer is not a rating; silence or a second miss skips the survey politely.
    """

    KIND: ClassVar[str] = "CSATQuestion"
    DEFAULT_PROMPT: ClassVar[str] = (
        "How satisfied are you with this call? Say a number from 1 to 5, where 5 is very "
        "satisfied, or press it on your keypad."
    )
    RETRY_PROMPT: ClassVar[str] = "Please say a number from 1 to 5, or press it on your keypad."
    SKIPPED: ClassVar[str] = "That's all right, let's move on."


@dataclass(frozen=True, slots=True, kw_only=True)
class VoiceForm(Node):
    """An AdaptiveCardPrompt on voice: the card's text spoken, each simple input asked as a
    Question, an Action.Submit's data stored (built from the card by the loader).

    `actions` run in order like a branch; `card_error` says why the card could not become a
    voice form (a formula card, an input kind a caller cannot say): then the node says so in the
    log, leaves its outputs Blank and the call goes on.
    """

    KIND: ClassVar[str] = "AdaptiveCardPrompt"
    actions: Actions = ()
    card_error: str | None = None

    def children(self) -> Iterator[Actions]:
        yield self.actions


@dataclass(frozen=True, slots=True, kw_only=True)
class OAuthInput(Node):
    """A sign-in card.  A phone line cannot sign in: the node says so, sets
    System.SignInReason to SignInRequired (System.User.IsLoggedIn stays false) and goes on."""

    KIND: ClassVar[str] = "OAuthInput"
    title: Expr | None = None
    text: Expr | None = None

    MESSAGE: ClassVar[str] = "I can't sign you in on a phone call, so let's continue without it."


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateSearchQuery(Node):
    """Rewrites the caller's words into a search query (generative orchestration).  Without a
    model the query is the words themselves (`userInput`, default System.Activity.Text)."""

    KIND: ClassVar[str] = "CreateSearchQuery"
    user_input: Expr | None = None
    result: VariableRef | None = None


# -- control flow --


@dataclass(frozen=True, slots=True)
class ConditionItem:
    id: str
    condition: Expr
    actions: Actions
    span: SourceSpan


@dataclass(frozen=True, slots=True, kw_only=True)
class ConditionGroup(Node):
    """if / else-if / else: the first item whose condition holds runs, else `else_actions`."""

    KIND: ClassVar[str] = "ConditionGroup"
    conditions: tuple[ConditionItem, ...]
    else_actions: Actions = ()

    def children(self) -> Iterator[Actions]:
        for item in self.conditions:
            yield item.actions
        yield self.else_actions


@dataclass(frozen=True, slots=True, kw_only=True)
class GotoAction(Node):
    KIND: ClassVar[str] = "GotoAction"
    action_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Foreach(Node):
    KIND: ClassVar[str] = "Foreach"
    items: Expr
    value: VariableRef
    index: VariableRef | None = None
    actions: Actions = ()

    def children(self) -> Iterator[Actions]:
        yield self.actions


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakLoop(Node):
    KIND: ClassVar[str] = "BreakLoop"


@dataclass(frozen=True, slots=True, kw_only=True)
class ContinueLoop(Node):
    KIND: ClassVar[str] = "ContinueLoop"


@dataclass(frozen=True, slots=True, kw_only=True)
class BeginDialog(Node):
    """Redirect to another topic and come back.  `dialog` is `<bot>.topic.<Name>` or `<Name>`
    (or a formula); resolve it with `Agent.find_topic`."""

    KIND: ClassVar[str] = "BeginDialog"
    dialog: Expr
    input: tuple[InputBinding, ...] = ()
    output: tuple[OutputBinding, ...] = ()
    activity_processed: Expr | None = None  # default true


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceDialog(Node):
    KIND: ClassVar[str] = "ReplaceDialog"
    dialog: Expr
    input: tuple[InputBinding, ...] = ()
    activity_processed: Expr | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RepeatDialog(Node):
    KIND: ClassVar[str] = "RepeatDialog"
    input: tuple[InputBinding, ...] = ()
    activity_processed: Expr | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EndDialog(Node):
    KIND: ClassVar[str] = "EndDialog"
    clear_topic_queue: bool = True
    value: Expr | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelDialog(Node):
    KIND: ClassVar[str] = "CancelDialog"
    event_name: Expr | None = None
    event_value: Expr | None = None
    activity_processed: Expr | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelAllDialogs(Node):
    KIND: ClassVar[str] = "CancelAllDialogs"
    event_name: Expr | None = None
    event_value: Expr | None = None
    activity_processed: Expr | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EmitEvent(Node):
    KIND: ClassVar[str] = "EmitEvent"
    event_name: Expr
    event_value: Expr | None = None
    event_type: str = "ActivityIfUnhandled"  # ActivityIfUnhandled | Activity | DialogEvent
    bubble_event: Expr | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EndConversation(Node):
    """End the conversation; on telephony the call hangs up."""

    KIND: ClassVar[str] = "EndConversation"


# -- backend actions --


@dataclass(frozen=True, slots=True)
class HttpBody:
    """`kind` NoRequestContent | JsonRequestContent (content: a value or record formula) |
    RawRequestContent (content text, content_type)."""

    kind: str
    span: SourceSpan
    content: Expr | None = None
    content_type: Expr | None = None


@dataclass(frozen=True, slots=True)
class HttpErrorHandling:
    """`kind` RaiseErrorBehavior (default) | ContinueOnErrorBehavior (store status and body)."""

    kind: str
    span: SourceSpan | None = None
    status_code: VariableRef | None = None
    error_response_body: VariableRef | None = None

    @property
    def continue_on_error(self) -> bool:
        return self.kind == "ContinueOnErrorBehavior"


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpRequestAction(Node):
    KIND: ClassVar[str] = "HttpRequestAction"
    DEFAULT_TIMEOUT_MS: ClassVar[int] = 30000

    url: Expr
    method: Expr | None = None  # Get (default) | Post | Patch | Put | Delete | formula
    headers: tuple[tuple[str, Expr], ...] = ()
    body: HttpBody | None = None
    error_handling: HttpErrorHandling = HttpErrorHandling("RaiseErrorBehavior")
    request_timeout_ms: Expr | None = None
    response: VariableRef | None = None
    response_schema: PropertyType | None = None
    response_headers: VariableRef | None = None
    network_isolation: str | None = None  # PublicNetwork | VirtualNetwork
    latency_message: LatencyMessageSettings | None = None

    @property
    def method_name(self) -> str | None:
        """The literal method in upper case (GET, POST...), or None when it is a formula."""
        if self.method is None:
            return "GET"
        if self.method.formula is not None or self.method.is_formula:
            return None
        return str(self.method.literal).upper()


@dataclass(frozen=True, slots=True, kw_only=True)
class InvokeFlowAction(Node):
    """Run a Power Automate flow; agent.yaml `flows:` binds `flow_id` to an HTTP URL or Python."""

    KIND: ClassVar[str] = "InvokeFlowAction"
    flow_id: str
    input: tuple[InputBinding, ...] = ()
    output: tuple[OutputBinding, ...] = ()
    latency_message: LatencyMessageSettings | None = None


@dataclass(frozen=True, slots=True)
class ConnectionProperties:
    """InvokeConnectorAction `connectionProperties`: `mode` Maker (default) | Invoker (the
    user's own connection in Copilot Studio; here both run the agent.yaml binding)."""

    span: SourceSpan
    mode: str = "Maker"
    name: str | None = None
    usage_description: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class InvokeConnectorAction(Node):
    """Call a Power Platform connector operation (`connection_reference`, `operation_id`).

    The runtime runs it through agent.yaml `connectors:` (keyed `<connectionReference>/
    <operationId>` or `<operationId>`): an HTTP endpoint or a Python callable, like a flow.
    `input` binds operation parameters; `output` is a SingleVariableOutputBinding (one binding
    with name "": the whole result record) or named bindings.  `dynamic_input_schema` and
    `dynamic_output_schema` are kept as plain data (as written; not used to shape values).
    """

    KIND: ClassVar[str] = "InvokeConnectorAction"
    DEFAULT_TIMEOUT_MS: ClassVar[int] = 30000

    connection_reference: str
    operation_id: str
    connection_properties: ConnectionProperties | None = None
    input: tuple[InputBinding, ...] = ()
    output: tuple[OutputBinding, ...] = ()
    error_handling: HttpErrorHandling = HttpErrorHandling("RaiseErrorBehavior")
    request_timeout_ms: Expr | None = None
    dynamic_input_schema: Mapping[str, Any] | None = None
    dynamic_output_schema: Any = None
    latency_message: LatencyMessageSettings | None = None

    @property
    def connector(self) -> str:
        """`<connectionReference>/<operationId>`, the key agent.yaml `connectors:` binds."""
        return f"{self.connection_reference}/{self.operation_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class LogCustomTelemetryEvent(Node):
    KIND: ClassVar[str] = "LogCustomTelemetryEvent"
    event_name: Expr | None = None
    properties: Expr | None = None


# -- transfer --


@dataclass(frozen=True, slots=True)
class TransferContext:
    """AutomaticTransferContext (`variables` All | Topic | Global) or ExpressionTransferContext
    (`value`, a record formula).  ManualTransferContext (not in the schema) loads as Expression."""

    kind: str
    span: SourceSpan
    variables: str = "All"
    value: Expr | None = None


@dataclass(frozen=True, slots=True)
class TransferToPhoneNumber:
    """Transfer type 'External phone number transfer' (ends with BLIND_TRANSFER)."""

    phone_number: Expr
    span: SourceSpan
    sip_uui_header: Expr | None = None
    sipx_headers: tuple[tuple[str, Expr], ...] = ()
    dtmf_sequence: Expr | None = None


@dataclass(frozen=True, slots=True)
class TransferToAgent:
    """Transfer type 'Transfer to agent' (contact-center escalation, CCAAS_TRANSFER)."""

    span: SourceSpan
    message_to_agent: ActivityTemplate | None = None
    context: TransferContext | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferConversation(Node):
    """TransferConversationV2, and the legacy TransferConversation (`kind` keeps which).

    The legacy form's `telephoneNumber` loads as a TransferToPhoneNumber; otherwise a
    TransferToAgent.
    """

    KIND: ClassVar[str] = "TransferConversationV2"
    transfer_type: TransferToPhoneNumber | TransferToAgent


# -- generative answers and prompts (engine/nodes/generative.py runs them) --


MODERATION_LEVELS = ("Minimum", "Low", "Medium", "High", "Maximum")
"""ContentModerationLevel in Microsoft's schema, least to most strict."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerativeAnswers(Node):
    """SearchAndSummarizeContent and AnswerQuestionWithAI (`kind` keeps which).

    `user_input` is the question (default System.Activity.Text).  `knowledge_sources` None
    searches every source; a tuple names the sources (SearchSpecificKnowledgeSources).
    `search_files` is "all", "none" (DoNotSearchFiles) or "specific" with `files`.
    `response_confidence` (0..1) is the least confidence of an extractive answer (no model);
    None: agent.yaml `knowledge.response_confidence`.  `response_capture` is "TextOnly" (the
    variable holds the text) or "FullResponse" (a record: Text.Content, Text.MarkdownContent,
    Text.CitationSources).  AnswerQuestionWithAI searches nothing: it needs a model.
    `moderation_level` and `history` shape what is sent to the model (docs/models.md).
    """

    KIND: ClassVar[str] = "SearchAndSummarizeContent"
    user_input: Expr | None = None
    variable: VariableRef | None = None
    auto_send: bool = True
    knowledge_sources: tuple[str, ...] | None = None
    search_files: str = "all"
    files: tuple[str, ...] = ()
    additional_instructions: TextTemplate | None = None
    generator_input: TextTemplate | None = None
    response_confidence: float | None = None
    response_capture: str = "TextOnly"
    apply_model_knowledge: bool = False
    moderation_level: Expr | None = None
    """ContentModerationLevel (Minimum, Low, Medium, High, Maximum; a formula allowed); None: High."""
    history: bool = True
    """historyType: ConversationHistory (the default here) or NoHistory."""
    history_messages: Expr | None = None
    """ConversationHistory.numberOfPastUserMessagesToInclude; None: 5."""
    latency_message: LatencyMessageSettings | None = None

    @property
    def searches_knowledge(self) -> bool:
        return self.kind == "SearchAndSummarizeContent"


@dataclass(frozen=True, slots=True, kw_only=True)
class InvokePrompt(Node):
    """InvokeAIBuilderModelAction: a prompt (agent.yaml `prompts:`, keyed by `ai_model_id` or the
    node's display name) filled from `input` bindings and sent to the model endpoint; `output`
    binds `text` (or `predictionOutput`, as exports write it) and the fields of a structured
    (JSON schema) answer."""

    KIND: ClassVar[str] = "InvokeAIBuilderModelAction"
    ai_model_id: str
    input: tuple[InputBinding, ...] = ()
    output: tuple[OutputBinding, ...] = ()
    latency_message: LatencyMessageSettings | None = None


# ----------------------------------------------------------------------------------------------
# Triggers

TRIGGER_KINDS: tuple[str, ...] = (
    "OnRecognizedIntent",
    "OnSelectIntent",
    "OnUnknownIntent",
    "OnSystemRedirect",
    "OnConversationStart",
    "OnError",
    "OnEscalate",
    "OnRedirect",
    "OnActivity",
    "OnEventActivity",
    "OnInactivity",
    "OnSilence",
    "OnUnrecognizedSpeech",
    "OnDtmfKeyPress",
    "OnUnknownDtmfKey",
)


@dataclass(frozen=True, slots=True)
class Trigger:
    """A topic's trigger (`beginDialog`) with its actions.

    Kind-specific fields are None unless the kind has them: OnRecognizedIntent/OnEscalate
    `trigger_queries` (and `intent_display_name`), OnActivity `type` (ActivityType, PascalCase as
    in YAML, e.g. EndOfConversation; None = any activity), OnEventActivity `event_name`,
    OnInactivity `duration_seconds` (default 1800), OnSilence `silence_timeout_ms`,
    OnDtmfKeyPress `dtmf_key` (Num0..Num9, PoundKey, StarKey).  `supported` is False for trigger
    kinds the runtime never fires (generative triggers...).
    """

    kind: str
    id: str
    span: SourceSpan
    actions: Actions = ()
    condition: Expr | None = None
    priority: int = 0
    run_once: bool = False
    trigger_queries: tuple[str, ...] = ()
    intent_display_name: str | None = None
    include_in_on_select_intent: bool = True  # offered by Multiple Topics Matched
    type: str | None = None
    event_name: str | None = None
    duration_seconds: Expr | None = None
    silence_timeout_ms: Expr | None = None
    dtmf_key: str | None = None
    supported: bool = True

    DEFAULT_INACTIVITY_SECONDS: ClassVar[int] = 1800

    @property
    def is_end_of_conversation(self) -> bool:
        """The post-call trigger: OnActivity with type EndOfConversation."""
        return self.kind == "OnActivity" and self.type == "EndOfConversation"


# ----------------------------------------------------------------------------------------------
# Topics and agents


@dataclass(frozen=True, slots=True)
class TopicParameter:
    """One property of a topic's inputType / outputType."""

    name: str
    type: str | None
    span: SourceSpan
    display_name: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Topic:
    """One topic (`kind: AdaptiveDialog`).

    `name` is the file name without its suffix (or the `<Name>` of a solution component);
    `schema_name` is `<bot>.topic.<Name>`; `path` is relative to the agent root.
    """

    name: str
    schema_name: str
    path: str
    trigger: Trigger
    span: SourceSpan
    start_behavior: str = "Default"  # Default | CancelOtherTopics | UseLatestPublished...
    end_automatically: bool = True
    inputs: tuple[TopicParameter, ...] = ()  # inputType.properties
    outputs: tuple[TopicParameter, ...] = ()  # outputType.properties
    model_description: str | None = None
    model_display_name: str | None = None
    extra_triggers: tuple[Trigger, ...] = ()  # `triggers:` (rare)

    @property
    def input_type(self) -> tuple[TopicParameter, ...]:
        """`inputType` properties (same as `inputs`)."""
        return self.inputs

    @property
    def output_type(self) -> tuple[TopicParameter, ...]:
        """`outputType` properties (same as `outputs`)."""
        return self.outputs

    @property
    def described_only(self) -> bool:
        """An intent topic (OnRecognizedIntent, OnEscalate) that a `modelDescription`, and no
        trigger phrase, says when to start: as Copilot Studio's generative orchestration topics
        are written.  Only a recogniser that reads descriptions (`kind: llm`) can start it."""
        return (
            self.trigger.kind in ("OnRecognizedIntent", "OnEscalate")
            and not self.trigger.trigger_queries
            and bool((self.model_description or "").strip())
        )

    def walk(self) -> Iterator[Node]:
        """Every node of the topic, depth first in document order (branch bodies included)."""
        yield from walk_actions(self.trigger.actions)

    def find_node(self, node_id: str) -> Node | None:
        for node in self.walk():
            if node.id == node_id:
                return node
        return None


def walk_actions(actions: Actions) -> Iterator[Node]:
    """Every node of an action list, depth first in document order."""
    for node in actions:
        yield node
        for child in node.children():
            yield from walk_actions(child)
