"""Stable TPC2xx diagnostic codes of the topic loader and validator (docs/diagnostics.md)."""

from __future__ import annotations

from postcall.diagnostics import Severity, register_code

E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

# -- structure --
NOT_A_TOPIC = register_code(
    "TPC201", E, "The file is not a topic: its root is not `kind: AdaptiveDialog`."
)
MISSING_FIELD = register_code("TPC202", E, "A required field is missing.")
BAD_ENUM = register_code("TPC203", E, "A field has a value outside its allowed set.")
UNKNOWN_FIELD = register_code("TPC204", W, "A field the kind does not have; it is ignored.")
UNSUPPORTED_KIND = register_code(
    "TPC205",
    W,
    "A Copilot Studio node kind this runtime does not run; reaching it at run time is an error.",
)
UNKNOWN_KIND = register_code("TPC206", E, "A node kind that Copilot Studio does not define.")
WRONG_TYPE = register_code(
    "TPC207", E, "A field holds the wrong type of value (text, number, list, mapping...)."
)
DUPLICATE_ID = register_code("TPC208", E, "Two actions of one topic have the same id.")
GOTO_TARGET = register_code(
    "TPC209", E, "A GotoAction names an action id that the topic does not have."
)
DIALOG_TARGET = register_code(
    "TPC210", E, "A BeginDialog/ReplaceDialog names a topic the agent does not have."
)
DIALOG_UNCHECKED = register_code(
    "TPC211",
    W,
    "A BeginDialog/ReplaceDialog target cannot be checked (single file, or not a topic component).",
)
MISSING_ID = register_code(
    "TPC212", W, "A node has no id; a generated id is used (idempotency keys use it)."
)
READ_BEFORE_SET = register_code(
    "TPC213", W, "A Topic variable is read before any assignment in the topic."
)
UNKNOWN_GLOBAL = register_code(
    "TPC214", W, "A Global variable that no topic assigns and no variable file declares."
)
UNKNOWN_END_REASON = register_code(
    "TPC215", W, "A condition compares Conversation.EndReason with a value the runtime never sets."
)
BAD_VARIABLE = register_code(
    "TPC216", E, "A variable reference is not `Topic.<name>`, `Global.<name>`, `System.<name>`."
)
UNSUPPORTED_TRIGGER = register_code(
    "TPC217",
    W,
    "A trigger kind this runtime never fires; the topic loads but does not start on its own.",
)
SKIPPED_COMPONENT = register_code(
    "TPC218", INFO, "A file or component that is not a topic was skipped."
)
DUPLICATE_TOPIC = register_code("TPC219", E, "Two topics of the agent have the same name.")
ALIAS_USED = register_code(
    "TPC220", W, "A non-schema spelling was accepted as an alias of the schema's."
)
UNREADABLE = register_code("TPC221", E, "A file or folder cannot be read.")
NO_TOPICS = register_code("TPC222", W, "The agent has no topics.")
POST_CALL_MESSAGE = register_code(
    "TPC223",
    W,
    "A post-call topic sends a message or asks a question; the caller is gone, it is skipped.",
)
SEVERAL_BOTS = register_code(
    "TPC225",
    INFO,
    "A solution export holds several bots; their topics load as one agent, named by schema name.",
)
READ_ONLY_VARIABLE = register_code("TPC224", E, "A node writes a read-only variable (Env.*).")
UNIMPLEMENTED_FUNCTION = register_code(
    "TPC231",
    W,
    "A formula calls a real Power Fx function this runtime does not implement; evaluating it fails.",
)
EMPTY_ACTIONS = register_code("TPC232", INFO, "A trigger has no actions.")
BAD_PRIORITY = register_code("TPC233", E, "A trigger priority is not a whole number.")
UNKNOWN_NAME = register_code(
    "TPC234",
    W,
    "A formula or message reads a name that is no variable scope (Topic, Global, System, Env, "
    "Conversation...) or option set; evaluating it fails.",
)
UNKNOWN_ENV = register_code(
    "TPC235", W, "A formula reads `Env.<name>` that agent.yaml's env (and --env) does not define."
)
UNKNOWN_SYSTEM = register_code(
    "TPC236",
    W,
    "A formula reads a System variable the runtime does not provide (docs/engine.md); it is Blank.",
)
UNBOUND_CONNECTOR = register_code(
    "TPC237",
    W,
    "An InvokeConnectorAction's operation is not bound in agent.yaml `connectors:`; running it fails.",
)
UNREACHABLE_TOPIC = register_code(
    "TPC238",
    W,
    "A topic has a modelDescription but no trigger phrases, and the agent's recogniser is offered "
    "only topics with phrases: it can never start (only `recognizer: {kind: llm}` chooses by description).",
)

UNBOUND_FLOW = register_code(
    "TPC260",
    W,
    "An InvokeFlowAction's flow is not bound in agent.yaml `flows:`; it runs once a flow URL or "
    "Python callable is configured, until then running it fails (On Error).",
)

DEFAULT_SYSTEM_TOPIC = register_code(
    "TPC261",
    INFO,
    "A redirect names a Copilot Studio system topic the agent does not include; the default runs.",
)

VOICE_BEHAVIOUR = register_code(
    "TPC262",
    W,
    "A node that cannot work as written on a phone line; the message says what the call does instead.",
)
UNBOUND_SKILL = register_code(
    "TPC263",
    W,
    "An InvokeSkillAction's skill is not bound in agent.yaml `flows:` (as `skill:<skillId>`); it "
    "runs once configured, until then running it fails (On Error).",
)
BAD_ENTITY = register_code(
    "TPC264",
    W,
    "A custom entity file is malformed, or a question names an entity the agent does not define; "
    "the question keeps the caller's words as text.",
)

# -- agent.yaml --
CONFIG_UNKNOWN_KEY = register_code("TPC250", W, "agent.yaml has a key this runtime does not know.")
CONFIG_BAD_VALUE = register_code(
    "TPC251", E, "agent.yaml has a value of the wrong type or out of range."
)
CONFIG_SECRET = register_code(
    "TPC252", E, "agent.yaml holds a secret in clear; use the environment variable or a *_file key."
)
CONFIG_ENV_OVERRIDE = register_code(
    "TPC253", INFO, "An Env value from agent.yaml is overridden on the command line."
)
CONFIG_NO_EFFECT = register_code(
    "TPC254", W, "An agent.yaml setting has no effect with the others chosen (a recogniser setting its kind does not read)."
)
CONFIG_UNSIGNED = register_code(
    "TPC255", W, "The http recogniser has no secret_env: the caller's words go to the NLU unsigned and unauthenticated."
)
