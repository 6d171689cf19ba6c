"""Loading an agent from disk in any of the three layouts, collecting every diagnostic.

Layouts (docs/topics.md):
* folder:    agent.yaml + topics/*.yaml | *.topic.yaml | *.mcs.yml (+ optional variables/)
* solution:  a Copilot Studio solution export, botcomponents/<bot>.topic.<Name>/data
* workspace: the VS Code layout, agent.mcs.yml + topics/*.mcs.yml + variables/*.mcs.yml
* file:      a single topic file

`load_agent` never raises for bad input: problems come back as diagnostics in `LoadResult`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

from postcall.diagnostics import Diagnostic, SourceSpan, sort_key
from postcall.topics import codes
from postcall.topics.agent import Agent, Layout
from postcall.topics.agent_yaml import read_agent_yaml, read_workspace_agent
from postcall.topics.build import FileContext
from postcall.topics.build_nodes import build_custom_entity
from postcall.topics.build_topic import build_topic
from postcall.topics.config import AgentConfig
from postcall.topics.defaults import BUILTIN_PATH, DEFAULT_TOPICS, default_topic_name
from postcall.topics.model import BeginDialog, CustomEntity, Expr, ReplaceDialog, Topic
from postcall.topics.source import YMap, YNode, YScalar, YSeq, parse_yaml, read_text
from postcall.topics.validator import validate_agent

MAX_FILE_BYTES = 5_000_000
TOPIC_SUFFIXES = (
    ".topic.mcs.yml",
    ".topic.mcs.yaml",
    ".mcs.yml",
    ".mcs.yaml",
    ".topic.yaml",
    ".topic.yml",
    ".yaml",
    ".yml",
)
_LOCALE = re.compile(r"\.[a-z]{2,3}(-[A-Za-z]{2,4})?\Z")
# Non-topic kinds found in workspaces and solution exports: skipped with an info.
_OTHER_COMPONENT_KINDS = frozenset(
    "TaskDialog GptComponentMetadata Variable GlobalVariableComponent KnowledgeSourceConfiguration "
    "ExternalTriggerConfiguration InlineAgentSkill ClosedListEntity PublicSiteSearchSource "
    "BotSettings DialogComponent AgentDialog".split()
)


@dataclass
class LoadResult:
    """What `load_agent` returns.

    `agent` is None only when nothing could be read (a missing path); otherwise it holds every
    topic that loaded, even when there are errors: callers that run the agent must refuse it
    when `has_errors`.  `sources` maps each display path (relative to the agent root) to the
    file's text, for rendering carets.
    """

    agent: Agent | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    formula_count: int = 0
    formula_unparsed: int = 0

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]


@dataclass
class _TopicFile:
    display: str
    file: Path
    name: str
    bot: str | None = None


@dataclass
class _State:
    root: Path
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    formula_count: int = 0
    formula_unparsed: int = 0
    entities: dict[str, CustomEntity] = field(default_factory=dict)  # short or schema name

    def entity(self, file: Path, display: str, name: str, schema: str | None) -> None:
        """Read a custom entity file; a malformed one is reported and skipped."""
        fc, node = self.parse(file, display)
        found = build_custom_entity(fc, node, name) if node is not None else None
        self.absorb(fc)
        if found is None:
            return
        self.entities.setdefault(name, found)
        if schema:
            self.entities[schema] = found

    def info(self, display: str, message: str) -> None:
        self.diagnostics.append(
            Diagnostic(codes.SKIPPED_COMPONENT, codes.INFO, message, SourceSpan(display, 1, 1))
        )

    def parse(self, file: Path, display: str) -> tuple[FileContext, YNode | None]:
        """Read and parse one file of the agent: every file the loader reads comes through here.

        A file that resolves outside the agent folder (a symbolic link, itself or one of its
        folders, pointing elsewhere) is refused with a diagnostic and never read: `postcall
        check` would otherwise print another file's content in its excerpts.
        """
        fc = FileContext(display)
        outside = _outside(self.root, file)
        if outside is not None:
            fc.add(
                codes.UNREADABLE,
                f"The file is a symbolic link to {outside}, outside the agent folder; it is not "
                "read. Copy the file into the agent folder instead.",
                SourceSpan(display, 1, 1),
            )
            return fc, None
        try:
            size = file.stat().st_size
            if size > MAX_FILE_BYTES:
                fc.add(
                    codes.UNREADABLE,
                    f"The file is {size} bytes; topic files over {MAX_FILE_BYTES} bytes are refused.",
                    SourceSpan(display, 1, 1),
                )
                return fc, None
            data = file.read_bytes()
        except OSError as exc:
            fc.add(
                codes.UNREADABLE,
                f"Cannot read the file: {exc.strerror or exc}.",
                SourceSpan(display, 1, 1),
            )
            return fc, None
        text, diags = read_text(data, display)
        fc.diagnostics.extend(diags)
        if text is None:
            return fc, None
        self.sources[display] = text
        node, diags = parse_yaml(text, display)
        fc.diagnostics.extend(diags)
        return fc, node

    def absorb(self, fc: FileContext) -> None:
        self.diagnostics.extend(fc.diagnostics)
        self.formula_count += fc.formula_count
        self.formula_unparsed += fc.formula_unparsed


def topic_name_of(file: Path) -> tuple[str, str | None]:
    """(topic name, bot prefix or None) from a file path: suffix removed, `<bot>.topic.<Name>`
    split; a file named `data`/`topic.yaml` takes its folder's name."""
    stem = file.name
    for suffix in TOPIC_SUFFIXES:
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    if stem in ("data", "topic") and file.parent.name:
        stem = file.parent.name
    if ".topic." in stem:
        bot, _, name = stem.partition(".topic.")
        return name, bot
    return stem, None


def _outside(root: Path, file: Path) -> str | None:
    """Where `file` really is when that is outside `root` (resolved), else None."""
    try:
        real = file.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return "a loop of symbolic links"
    if real == root or real.is_relative_to(root):
        return None
    return repr(real.as_posix())


def _display(root: Path, file: Path) -> str:
    try:
        return file.relative_to(root).as_posix()
    except ValueError:
        return file.as_posix()


def _link(file: Path) -> Path:
    """`file` with its folders resolved but not itself: a symbolic link shows its own name."""
    return file.parent.resolve() / file.name


def _is_yaml(p: Path) -> bool:
    return p.is_file() and p.name.lower().endswith((".yaml", ".yml"))


def _slug(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_")
    return slug or "agent"


def _root_kind(node: YNode | None) -> str | None:
    if isinstance(node, YMap):
        kind = node.get("kind")
        if isinstance(kind, YScalar):
            return kind.value
    return None


def _global_variable(fc: FileContext, node: YNode | None) -> tuple[str, Expr | None] | None:
    """(name, default) of a GlobalVariableComponent / Variable file."""
    if not isinstance(node, YMap):
        return None
    inner = node.get("variable")
    holder = inner if isinstance(inner, YMap) else node
    name = holder.get("name")
    if not isinstance(name, YScalar) or not name.value.strip():
        schema = node.get("schemaName")
        if isinstance(schema, YScalar) and "." in schema.value:
            return schema.value.rsplit(".", 1)[1], None
        return None
    default_node = holder.get("defaultValue")
    default = (
        fc.expr(default_node, "value", "Global variable defaultValue")
        if default_node is not None
        else None
    )
    var_name = name.value.strip()
    if var_name.startswith("Global."):
        var_name = var_name[len("Global.") :]
    return var_name, default


def load_agent(path: str | Path, *, env_overrides: Mapping[str, str] | None = None) -> LoadResult:
    """Load and validate an agent (a folder in any layout, or a single topic file)."""

    overrides = dict(env_overrides or {})
    target = Path(path)
    if not target.exists():
        diag = Diagnostic(codes.UNREADABLE, codes.E, f"No such file or folder: {target}.", None)
        return LoadResult(None, [diag])
    root = target.parent if target.is_file() else target
    state = _State(root.resolve())
    try:
        agent = _load(state, target, overrides)
    except OSError as exc:
        state.diagnostics.append(
            Diagnostic(
                codes.UNREADABLE, codes.E, f"Cannot read {target}: {exc.strerror or exc}.", None
            )
        )
        return LoadResult(
            None, state.diagnostics, state.sources, state.formula_count, state.formula_unparsed
        )
    state.diagnostics.extend(validate_agent(agent, single_file=agent.layout == "file"))
    diagnostics = sorted(state.diagnostics, key=sort_key)
    return LoadResult(
        agent, diagnostics, state.sources, state.formula_count, state.formula_unparsed
    )


def load_topic_text(text: str, path: str = "topic.yaml", *, name: str | None = None) -> LoadResult:
    """Load one topic from a string (tests, `postcall check -`): validated as a single file."""

    state = _State(Path("."))
    state.sources[path] = text
    fc = FileContext(path)
    node, diags = parse_yaml(text, path)
    fc.diagnostics.extend(diags)
    topic_name = name or topic_name_of(Path(path))[0]
    topic = build_topic(
        fc, node, name=topic_name, schema_name=f"agent.topic.{topic_name}", path=path
    )
    state.absorb(fc)
    topics = {topic.name: topic} if topic is not None else {}
    agent = Agent(
        name=topic_name,
        language="en-US",
        config=AgentConfig(name=topic_name),
        topics=MappingProxyType(topics),
        root=Path("."),
        bot_name="agent",
        layout="file",
    )
    state.diagnostics.extend(validate_agent(agent, single_file=True))
    return LoadResult(
        agent,
        sorted(state.diagnostics, key=sort_key),
        state.sources,
        state.formula_count,
        state.formula_unparsed,
    )


def _load(state: _State, target: Path, overrides: dict[str, str]) -> Agent:
    if target.is_file():
        return _load_single(state, target, overrides)
    root = target
    if (root / "agent.yaml").is_file() or (root / "agent.yml").is_file():
        return _load_folder(state, root, overrides)
    if root.name == "botcomponents" or (root / "botcomponents").is_dir():
        return _load_solution(
            state, root if root.name == "botcomponents" else root / "botcomponents", overrides
        )
    if (root / "agent.mcs.yml").is_file() or any(
        p.name.endswith(".mcs.yml") for p in root.glob("topics/*")
    ):
        return _load_workspace(state, root, overrides)
    return _load_folder(state, root, overrides)


def _make_agent(
    state: _State,
    files: list[_TopicFile],
    *,
    config: AgentConfig,
    bot: str | None,
    layout: Layout,
    globals_: dict[str, Expr | None],
    in_topics_folder: bool = True,
) -> Agent:
    bots = {f.bot for f in files if f.bot}
    bot_name = bot or (sorted(bots)[0] if len(bots) == 1 else _slug(config.name))
    by_schema = layout == "solution" and len(bots) > 1
    if by_schema:
        state.diagnostics.append(
            Diagnostic(
                codes.SEVERAL_BOTS,
                codes.INFO,
                f"The solution holds {len(bots)} bots ({', '.join(sorted(bots))}); topics are named <bot>.topic.<Name>.",
                None,
            )
        )
    topics: dict[str, Topic] = {}
    definitions: list[tuple[FileContext, YMap]] = []
    for tf in sorted(files, key=lambda f: f.display):
        fc, node = state.parse(tf.file, tf.display)
        kind = _root_kind(node)
        if kind == "BotDefinition" and isinstance(node, YMap):
            definitions.append((fc, node))
            continue
        if layout != "file" and kind in _OTHER_COMPONENT_KINDS:
            found = (
                _global_variable(fc, node)
                if kind in ("Variable", "GlobalVariableComponent")
                else None
            )
            if found is not None:
                globals_[found[0]] = found[1]
            else:
                state.info(tf.display, f"Skipped: a {kind} component, not a topic.")
            state.absorb(fc)
            continue
        if (
            layout != "file"
            and not in_topics_folder
            and kind != "AdaptiveDialog"
            and node is not None
        ):
            state.info(tf.display, f"Skipped: not a topic (kind {kind!r}).")
            continue
        schema_name = f"{tf.bot or bot_name}.topic.{tf.name}"
        name = schema_name if by_schema else tf.name
        topic = build_topic(fc, node, name=name, schema_name=schema_name, path=tf.display)
        state.absorb(fc)
        if topic is None:
            continue
        if name in topics:
            first = topics[name]
            state.diagnostics.append(
                Diagnostic(
                    codes.DUPLICATE_TOPIC,
                    codes.E,
                    f"Topic name '{name}' is used twice (also {first.path}); names come from file names.",
                    SourceSpan(tf.display, 1, 1),
                )
            )
            continue
        topics[name] = topic
    for fc, node in definitions:
        _add_component_topics(state, fc, node, topics, by_schema=by_schema)
    if not topics and layout != "file":
        state.diagnostics.append(
            Diagnostic(codes.NO_TOPICS, codes.W, f"No topics found under {state.root}.", None)
        )
    if layout != "file":
        _add_default_topics(state, topics, bot_name)
    entities = dict(state.entities)
    for key, value in state.entities.items():
        if ".entity." not in key:
            entities.setdefault(f"{bot_name}.entity.{key}", value)
    return Agent(
        name=config.name,
        language=config.language,
        config=config,
        topics=MappingProxyType(topics),
        root=state.root,
        bot_name=bot_name,
        layout=layout,
        global_variables=MappingProxyType(globals_),
        entities=MappingProxyType(entities),
    )


# System triggers an agent has once: a BotDefinition's default does not add a second one.
_SINGLE_SYSTEM_TRIGGERS = frozenset(
    "OnConversationStart OnUnknownIntent OnError OnEscalate OnSelectIntent OnSignIn OnSilence "
    "OnUnrecognizedSpeech OnUnknownDtmfKey".split()
)


def _add_component_topics(
    state: _State, fc: FileContext, node: YMap, topics: dict[str, Topic], *, by_schema: bool
) -> None:
    """The topics of a BotDefinition file: each DialogComponent's `dialog:` (by its schemaName);
    a topic the agent has as its own file wins (same name, or the same system trigger)."""
    own_names = {n.lower() for n in topics}
    own_system = {t.trigger.kind for t in topics.values() if t.trigger.kind in _SINGLE_SYSTEM_TRIGGERS}
    components = node.get("components")
    for comp in components.items if isinstance(components, YSeq) else ():
        if not isinstance(comp, YMap) or _root_kind(comp) != "DialogComponent":
            continue
        schema = comp.get("schemaName")
        dialog = comp.get("dialog")
        if not isinstance(schema, YScalar) or ".topic." not in schema.value or not isinstance(dialog, YMap):
            continue
        schema_name = schema.value.strip()
        name = schema_name if by_schema else schema_name.split(".topic.", 1)[1]
        if name.lower() in own_names or any(t.schema_name == schema_name for t in topics.values()):
            continue
        built = build_topic(fc, dialog, name=name, schema_name=schema_name, path=fc.path, embedded=True)
        if built is not None and built.trigger.kind not in own_system:
            topics[name] = built
    state.absorb(fc)


def _add_default_topics(state: _State, topics: dict[str, Topic], bot_name: str) -> None:
    """Copilot Studio's default system topics the agent redirects to but does not include."""
    known = {n.lower() for n in topics} | {t.schema_name.lower() for t in topics.values()}
    wanted: dict[str, tuple[str, SourceSpan]] = {}
    for topic in topics.values():
        for node in topic.walk():
            if not isinstance(node, (BeginDialog, ReplaceDialog)) or node.dialog.is_formula:
                continue
            ref = str(node.dialog.literal or "").strip()
            name = default_topic_name(ref)
            if not name or ref.lower() in known or name.lower() in known:
                continue
            wanted.setdefault(name, (ref, node.dialog.span))
    for name, (ref, span) in sorted(wanted.items()):
        display = f"{BUILTIN_PATH}/{name}.topic.yaml"
        text = DEFAULT_TOPICS[name]
        state.sources[display] = text
        fc = FileContext(display)
        root, diags = parse_yaml(text, display)
        fc.diagnostics.extend(diags)
        built = build_topic(fc, root, name=name, schema_name=f"{bot_name}.topic.{name}", path=display)
        state.absorb(fc)
        if built is None:  # pragma: no cover - the defaults are our own valid YAML
            continue
        topics[name] = built
        state.diagnostics.append(
            Diagnostic(
                codes.DEFAULT_SYSTEM_TOPIC,
                codes.INFO,
                f"'{ref}' is Copilot Studio's {name} system topic, which this agent does not "
                "include: its default behaviour runs (docs/compatibility.md).",
                SourceSpan(span.path, span.line, span.column),
            )
        )


def _load_single(state: _State, file: Path, overrides: dict[str, str]) -> Agent:
    name, bot = topic_name_of(file)
    config = AgentConfig(name=name)
    if overrides:
        config = replace(config, env=MappingProxyType(dict(overrides)))
    tf = _TopicFile(_display(state.root, _link(file)), file, name, bot)
    return _make_agent(state, [tf], config=config, bot=bot, layout="file", globals_={})


def _yaml_files(folder: Path, state: _State) -> list[Path]:
    """The YAML files under `folder`; a symlinked folder leading out of the agent is reported."""
    if not folder.is_dir():
        return []
    found = []
    for p in folder.rglob("*"):
        if p.is_symlink() and p.is_dir():
            outside = _outside(state.root, p)
            if outside is not None:
                state.diagnostics.append(Diagnostic(
                    codes.UNREADABLE, codes.E,
                    f"The folder is a symbolic link to {outside}, outside the agent folder; it is not "
                    "read. Copy the files into the agent folder instead.",
                    SourceSpan(_display(state.root, _link(p)), 1, 1),
                ))
        elif _is_yaml(p):
            found.append(p)
    return sorted(found)


def _topic_files(state: _State, files: list[Path]) -> list[_TopicFile]:
    out = []
    for f in files:
        name, bot = topic_name_of(f)
        out.append(_TopicFile(_display(state.root, _link(f)), f, name, bot))
    return out


def _load_folder(state: _State, root: Path, overrides: dict[str, str]) -> Agent:
    agent_file = root / "agent.yaml" if (root / "agent.yaml").is_file() else root / "agent.yml"
    bot: str | None = None
    if agent_file.is_file():
        fc, node = state.parse(agent_file, agent_file.name)
        config, bot = read_agent_yaml(
            fc, node, state.root, default_name=root.resolve().name, env_overrides=overrides
        )
        state.absorb(fc)
    else:
        fc = FileContext(".")
        config, _ = read_agent_yaml(
            fc, None, state.root, default_name=root.resolve().name, env_overrides=overrides
        )
        state.absorb(fc)
    topics_dir = root / "topics"
    globals_: dict[str, Expr | None] = {}
    for var_file in _yaml_files(root / "variables", state):
        vfc, vnode = state.parse(var_file, _display(state.root, _link(var_file)))
        found = _global_variable(vfc, vnode)
        if found is not None:
            globals_[found[0]] = found[1]
        state.absorb(vfc)
    for entity_file in _yaml_files(root / "entities", state):
        stem = entity_file.name.split(".", 1)[0]
        state.entity(entity_file, _display(state.root, _link(entity_file)), stem, None)
    if topics_dir.is_dir():
        files = _topic_files(state, _yaml_files(topics_dir, state))
        return _make_agent(state, files, config=config, bot=bot, layout="folder", globals_=globals_)
    loose = sorted(
        p for p in root.iterdir() if _is_yaml(p) and p.name not in ("agent.yaml", "agent.yml")
    )
    files = _topic_files(state, loose)
    return _make_agent(
        state,
        files,
        config=config,
        bot=bot,
        layout="folder",
        globals_=globals_,
        in_topics_folder=False,
    )


def _load_solution(state: _State, components: Path, overrides: dict[str, str]) -> Agent:
    files: list[_TopicFile] = []
    globals_: dict[str, Expr | None] = {}
    bots: set[str] = set()
    for comp in sorted(p for p in components.iterdir() if p.is_dir()):
        data = next(
            (comp / n for n in ("data", "data.yml", "data.yaml") if (comp / n).is_file()), None
        )
        display = _display(state.root, _link(comp))
        if ".entity." in comp.name and data is not None:
            state.entity(
                data, _display(state.root, _link(data)), comp.name.split(".entity.", 1)[1],
                comp.name,
            )
            continue
        if ".topic." not in comp.name:
            if data is not None:
                fc, node = state.parse(data, _display(state.root, _link(data)))
                if _root_kind(node) in ("GlobalVariableComponent", "Variable"):
                    found = _global_variable(fc, node)
                    if found is not None:
                        globals_[found[0]] = found[1]
                        state.absorb(fc)
                        continue
            state.info(display, f"Skipped component {comp.name}: not a topic.")
            continue
        bot, _, name = comp.name.partition(".topic.")
        bots.add(bot)
        if data is None:
            state.info(display, f"Skipped component {comp.name}: it has no data file.")
            continue
        if _LOCALE.search(name) and "." in name:
            state.info(
                display,
                f"Skipped component {comp.name}: a translation of topic {name.rsplit('.', 1)[0]}.",
            )
            continue
        files.append(_TopicFile(_display(state.root, _link(data)), data, name, bot))
    folder_name = components.parent.name if components.name == "botcomponents" else components.name
    only_bot = sorted(bots)[0] if len(bots) == 1 else None
    fc = FileContext(".")
    config, _ = read_agent_yaml(
        fc, None, state.root, default_name=only_bot or folder_name, env_overrides=overrides
    )
    state.absorb(fc)
    return _make_agent(
        state, files, config=config, bot=only_bot, layout="solution", globals_=globals_
    )


_WORKSPACE_SKIPPED = (
    "actions",
    "knowledge",
    "translations",
    "trigger",
    "triggers",
    "behaviors",
    "agents",
    "skills",
    "settings",
)


def _load_workspace(state: _State, root: Path, overrides: dict[str, str]) -> Agent:
    agent_file = root / "agent.mcs.yml"
    node: YNode | None = None
    fc = FileContext("agent.mcs.yml")
    if agent_file.is_file():
        fc, node = state.parse(agent_file, "agent.mcs.yml")
    config = read_workspace_agent(
        fc, node, default_name=root.resolve().name, env_overrides=overrides
    )
    state.absorb(fc)
    globals_: dict[str, Expr | None] = {}
    for var_file in _yaml_files(root / "variables", state):
        vfc, vnode = state.parse(var_file, _display(state.root, _link(var_file)))
        found = _global_variable(vfc, vnode)
        if found is not None:
            globals_[found[0]] = found[1]
        else:
            state.info(vfc.path, "Skipped: not a global variable file.")
        state.absorb(vfc)
    bot = _workspace_schema_name(state, root)
    for entity_file in _yaml_files(root / "entities", state):
        stem = entity_file.name.split(".", 1)[0]
        state.entity(
            entity_file, _display(state.root, _link(entity_file)), stem,
            f"{bot}.entity.{stem}" if bot else None,
        )
    for sub in _WORKSPACE_SKIPPED:
        for f in _yaml_files(root / sub, state):
            state.info(_display(state.root, _link(f)), f"Skipped: {sub}/ holds no topics.")
    files = _topic_files(state, _yaml_files(root / "topics", state))
    for extra in sorted(root.iterdir()):
        if _is_yaml(extra) and extra.is_file() and not extra.name.endswith(".mcs.yml"):
            if _outside(state.root, extra) is not None:  # parse() reports it; never sniff it
                files.extend(_topic_files(state, [extra]))
                continue
            head = extra.read_text(encoding="utf-8", errors="replace")[:4000]
            if re.search(r"^kind:\s*BotDefinition\s*$", head, re.MULTILINE):
                files.extend(_topic_files(state, [extra]))
    return _make_agent(state, files, config=config, bot=bot, layout="workspace", globals_=globals_)


def _workspace_schema_name(state: _State, root: Path) -> str | None:
    """The bot's schema name (settings.mcs.yml `schemaName`): the `<bot>` of `<bot>.topic.X`."""
    settings = root / "settings.mcs.yml"
    if not settings.is_file():
        return None
    fc, node = state.parse(settings, "settings.mcs.yml")
    value = node.get("schemaName") if isinstance(node, YMap) else None
    return value.value.strip() or None if isinstance(value, YScalar) and not value.is_null else None
