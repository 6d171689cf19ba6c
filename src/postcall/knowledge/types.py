"""Plain data shared by the knowledge index and the engine (which must not do I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Passage:
    """A passage a search found.

    `confidence` (0..1) is the share of the question's weighted terms the passage contains
    (terms weighted by how rare they are in the index): 1.0 when every meaningful word of the
    question is there.  `score` is FTS5's bm25 rank (higher is better here), used to order.
    """

    text: str
    source: str
    title: str
    url: str | None
    confidence: float
    score: float


@dataclass(frozen=True, slots=True)
class KnowledgeProblem:
    """Something `check` reports about the knowledge: `path` is relative to the agent folder."""

    path: str
    message: str
    severity: str = "warning"


class SourceInfo(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str: ...


class KnowledgeSearch(Protocol):
    """What the engine asks of the knowledge index (postcall.knowledge.index.KnowledgeIndex)."""

    def search(self, query: str, *, sources: Sequence[str] | None = None, limit: int = 3) -> list[Passage]: ...

    def source_names(self) -> list[str]: ...

    def sources(self) -> Sequence[SourceInfo]: ...

    def resolve(self, references: Sequence[str]) -> list[str]: ...
