"""Opening an agent's knowledge index with what only the layers above it have.

`postcall.knowledge` sits below the store and the understanding layer (docs/design.md), so the
index is handed its two optional parts here: the store's PostgreSQL tables when the database
is PostgreSQL (store/knowledge.py; otherwise an FTS5 file beside the database) and the
recogniser's embedding model for the rerank of its candidates (without the `wordllama`
package, the lexical order).  The server, the test harness and the CLI open it the same way; the
server and the worker also build it as they open (`build_index_at_open`), not in a caller's turn.
"""

from __future__ import annotations

from pathlib import Path

from postcall.knowledge.index import Embedder, KnowledgeIndex, open_index
from postcall.logging import get_logger
from postcall.store import Store
from postcall.store.knowledge import knowledge_tables
from postcall.understanding.embedding import ModelUnavailable, load_embedder

log = get_logger(__name__)


def knowledge_embedder() -> Embedder | None:
    """The recogniser's embedding model (loaded once per process), or None when not installed."""
    try:
        return load_embedder()
    except ModelUnavailable:
        return None


def open_agent_index(root: Path, data_dir: Path | None = None, store: Store | None = None) -> KnowledgeIndex:
    """The index of the agent folder at `root`: in `store`'s database when it is PostgreSQL."""
    backend = knowledge_tables(store.engine) if store is not None else None
    return open_index(root, data_dir, backend=backend, embedder=knowledge_embedder())


def build_index_at_open(index: KnowledgeIndex) -> bool:
    """Build or refresh the agent's index now, while the runtime opens (`postcall serve`, a
    worker), so that no caller's turn pays for it; True when the index is ready.

    An agent without a `knowledge/` folder is left alone (nothing to index).  A failure is
    logged (`knowledge_index_build_failed`) and never stops the start: searches then try again,
    and `postcall check` reports it (KNW301)."""
    if not (index.root / "knowledge").is_dir():
        return False
    try:
        index.ensure()
    except Exception as exc:  # any backend failure (a locked file, a database error): logged, not fatal
        log.error("knowledge_index_build_failed", index=index.location, error=f"{type(exc).__name__}: {exc}")
        return False
    return True
