"""The agent's knowledge: documents and synced web pages, indexed for generative answers.

- `types.py`      Passage and KnowledgeProblem (plain data; the engine reads passages).
- `documents.py`  text out of plain text, Markdown, HTML (BeautifulSoup), PDF (pypdf), DOCX
                  (python-docx); cut into passages a sentence or two longer than a spoken answer.
- `sources.py`    which sources an agent has: `knowledge/files/*.mcs.yml` entries matched by
                  name to documents under `knowledge/files/`, loose documents there, and
                  `PublicSiteSearchSource` entries (`knowledge/*.mcs.yml`) whose pages
                  `postcall knowledge sync` saved under `knowledge/sites/<source>/`.
- `index.py`      the SQLite FTS5 index beside the conversations (`.postcall/knowledge.sqlite3`),
                  rebuilt only when a document changes; `search` returns scored passages.
- `sync.py`       `postcall knowledge sync`: website sources fetched through the action layer
                  (allowed hosts, timeouts, retries); never at call time.

docs/models.md says what is stored and why FTS5 (measured in bench/bench_knowledge.py).
"""

from __future__ import annotations

from postcall.knowledge.types import KnowledgeProblem, Passage

__all__ = ["KnowledgeProblem", "Passage"]
