"""Opening an agent's knowledge index with what only the layers above it have.

`postcall.knowledge` sits below the store and the understanding layer (docs/design.md), so the
index is handed its two optional parts here: the store's PostgreSQL tables when the database
is PostgreSQL (store/knowledge.py; otherwise an FTS5 file beside the database) and the
recogniser's embedding model for the rerank of its candidates (without the `wordllama`
package, the lexical order).  The server, the test harness and the CLI open it the same way.
"""

from __future__ import annotations

from pathlib import Path

from postcall.knowledge.index import Embedder, KnowledgeIndex, open_index
from postcall.store import Store
from postcall.store.knowledge import knowledge_tables
from postcall.understanding.embedding import ModelUnavailable, load_embedder


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
