"""Agent: the loaded topics of one agent, its global variables and its AgentConfig."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from postcall.topics.config import AgentConfig
from postcall.topics.model import (
    ClosedListEntity,
    CustomEntity,
    EntityReference,
    Expr,
    Question,
    Topic,
)

Layout = Literal["folder", "solution", "workspace", "file"]


@dataclass(frozen=True, slots=True)
class Agent:
    """An agent on disk, loaded.

    `topics` maps topic name -> Topic in load order (sorted by path).  `global_variables` maps
    the name of each declared global variable (without `Global.`) to its default value (None
    when it has none).  `bot_name` is the `<bot>` prefix of schema names (`<bot>.topic.<Name>`).
    """

    name: str
    language: str
    config: AgentConfig
    topics: Mapping[str, Topic]
    root: Path
    bot_name: str
    layout: Layout = "folder"
    global_variables: Mapping[str, Expr | None] = field(
        default_factory=lambda: MappingProxyType({})
    )
    entities: Mapping[str, CustomEntity] = field(default_factory=lambda: MappingProxyType({}))
    """Custom entities (entities/*.mcs.yml, `<bot>.entity.<Name>` components) by schema name
    `<bot>.entity.<Name>` and by short name."""

    def find_entity(self, ref: str | None) -> CustomEntity | None:
        """The custom entity an `entityId` names (schema name, or short name as a fallback)."""
        if not ref:
            return None
        ref = ref.strip()
        found = self.entities.get(ref)
        if found is None and ".entity." in ref:
            found = self.entities.get(ref.split(".entity.", 1)[1])
        return found

    @property
    def env(self) -> Mapping[str, str]:
        """`Env.<name>` values (agent.yaml `env:` with command-line overrides)."""
        return self.config.env

    def find_topic(self, ref: str) -> Topic | None:
        """The topic `ref` names: `<bot>.topic.<Name>`, a topic's schema name, or its short name;
        case-insensitive as a fallback."""
        ref = ref.strip()
        if ref in self.topics:
            return self.topics[ref]
        for topic in self.topics.values():
            if topic.schema_name == ref:
                return topic
        short = ref.split(".topic.", 1)[1] if ".topic." in ref else ref
        if short in self.topics:
            return self.topics[short]
        lowered = short.lower()
        for name, topic in self.topics.items():
            if name.lower() == lowered or topic.schema_name.lower() == ref.lower():
                return topic
        return None

    def topics_with_trigger(self, kind: str) -> tuple[Topic, ...]:
        """Topics whose trigger is `kind`, lowest `priority` first (stable in load order)."""
        found = [t for t in self.topics.values() if t.trigger.kind == kind]
        return tuple(sorted(found, key=lambda t: t.trigger.priority))

    def post_call_topics(self) -> tuple[Topic, ...]:
        """OnActivity topics with type EndOfConversation, lowest `priority` first."""
        found = [t for t in self.topics.values() if t.trigger.is_end_of_conversation]
        return tuple(sorted(found, key=lambda t: t.trigger.priority))

    def option_sets(self) -> dict[str, ClosedListEntity]:
        """Closed-list questions as option sets formulas may name: `'<question id>'.<option>`,
        `'<topic schema>.main.<question id>'`, `'<topic schema>.<question id>'` and the
        entity's display name (first one wins)."""
        sets: dict[str, ClosedListEntity] = {}
        for key, custom in self.entities.items():
            if isinstance(custom, ClosedListEntity):
                sets.setdefault(key, custom)
                if custom.option_set_name:
                    sets.setdefault(custom.option_set_name, custom)
        for topic in self.topics.values():
            for node in topic.walk():
                if isinstance(node, Question) and isinstance(node.entity, EntityReference):
                    ref = self.find_entity(node.entity.entity_id)
                    if isinstance(ref, ClosedListEntity):
                        for name in (node.id, f"{topic.schema_name}.main.{node.id}"):
                            sets.setdefault(name, ref)
                    continue
                if not isinstance(node, Question) or not isinstance(node.entity, ClosedListEntity):
                    continue
                names = [
                    node.id,
                    f"{topic.schema_name}.main.{node.id}",
                    f"{topic.schema_name}.{node.id}",
                ]
                if node.entity.display_name:
                    names.append(node.entity.display_name)
                if node.entity.option_set_name:
                    names.append(node.entity.option_set_name)
                for name in names:
                    sets.setdefault(name, node.entity)
        return sets
