"""The knowledge index: SQLite FTS5 in `.postcall/knowledge.sqlite3`, beside the conversations.

Why FTS5: it ships inside Python's sqlite3 (no service, no new dependency), ranks with BM25,
stems English (porter), and a query over 10,000 passages takes well under a millisecond
(bench/bench_knowledge.py).  The index is derived data: each process builds it from the agent
folder when the documents' fingerprint (paths, sizes, modification times) differs from the one
it was built from, into a new file renamed over the old one, so a reader never sees half an
index.  Several workers on PostgreSQL each keep their own copy beside their agent folder.

`confidence` of a passage is the share of the question's meaningful words it holds, each word
weighted by its rarity in the index (inverse document frequency), so a passage that answers
"what are your opening hours" must hold "opening" and "hours", not only "your".
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from postcall.files import private_dir, private_file
from postcall.knowledge.documents import DocumentError, passages, read_document
from postcall.knowledge.sources import Source, find_sources
from postcall.knowledge.text import STOPWORDS, WORD, terms
from postcall.knowledge.types import KnowledgeProblem, Passage

INDEX_VERSION = 1
INDEX_FILE = "knowledge.sqlite3"

def fingerprint(sources: Sequence[Source]) -> str:
    h = hashlib.sha256(f"v{INDEX_VERSION}".encode())
    for source in sources:
        h.update(f"\0{source.kind}\0{source.name}\0{source.url or ''}".encode())
        for doc in source.documents:
            try:
                st = doc.stat()
                h.update(f"\0{doc}\0{st.st_size}\0{st.st_mtime_ns}".encode())
            except OSError:
                h.update(f"\0{doc}\0missing".encode())
    return h.hexdigest()


class KnowledgeIndex:
    """The index of one agent folder (see the module docstring).  Safe to share between threads."""

    def __init__(self, root: Path, data_dir: Path | None = None) -> None:
        self.root = root
        self.data_dir = data_dir or root / ".postcall"
        self.path = self.data_dir / INDEX_FILE
        self._lock = threading.Lock()
        self._local = threading.local()
        self._ready = False
        self._df: dict[str, int] = {}
        self._count = 0
        self._names: list[str] = []
        self._sources: list[Source] = []
        self.problems: list[KnowledgeProblem] = []

    # -- building --------------------------------------------------------------------------

    def ensure(self) -> bool:
        """Open the index, rebuilding it first if a document changed.  True if it was rebuilt."""
        with self._lock:
            sources, problems = find_sources(self.root)
            wanted = fingerprint(sources)
            rebuilt = False
            if self._stored_fingerprint() != wanted:
                self._build(sources, problems, wanted)
                rebuilt = True
            self._load()
            self._ready = True
            return rebuilt

    def _stored_fingerprint(self) -> str | None:
        if not self.path.is_file():
            return None
        try:
            with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True) as db:
                row = db.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
            return str(row[0]) if row else None
        except sqlite3.Error:
            return None

    def _build(self, sources: list[Source], problems: list[KnowledgeProblem], wanted: str) -> None:
        private_dir(self.data_dir)  # the index holds the agent's documents: 0700 / 0600 like the rest
        tmp = self.path.with_suffix(f".building-{os.getpid()}")
        tmp.unlink(missing_ok=True)
        private_file(tmp)
        df: Counter[str] = Counter()
        problems = list(problems)
        db = sqlite3.connect(tmp)
        try:
            db.executescript(
                """
                CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE VIRTUAL TABLE passages USING fts5(
                    text, source UNINDEXED, title UNINDEXED, url UNINDEXED, tokenize = 'porter unicode61');
                CREATE TABLE df(term TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
                """
            )
            count = 0
            for source in sources:
                for doc in source.documents:
                    try:
                        text, title = read_document(doc)
                    except DocumentError as exc:
                        problems.append(KnowledgeProblem(str(doc.relative_to(self.root)) if doc.is_relative_to(self.root) else str(doc), str(exc)))
                        continue
                    url = source.url if source.kind == "site" and len(source.documents) == 1 else (
                        _page_url(doc) if source.kind == "site" else None)
                    rows = []
                    for passage in passages(text):
                        rows.append((passage, source.name, title, url))
                        df.update(set(terms(passage)))
                    db.executemany("INSERT INTO passages(text, source, title, url) VALUES (?, ?, ?, ?)", rows)
                    count += len(rows)
            db.executemany("INSERT INTO df(term, n) VALUES (?, ?)", df.items())
            db.executemany(
                "INSERT INTO meta(key, value) VALUES (?, ?)",
                [
                    ("fingerprint", wanted),
                    ("passages", str(count)),
                    ("sources", json.dumps([s.name for s in sources])),
                    ("problems", json.dumps([[p.path, p.message, p.severity] for p in problems])),
                ],
            )
            db.commit()
        finally:
            db.close()
        os.replace(tmp, self.path)
        if hasattr(self._local, "db"):
            del self._local.db

    def _load(self) -> None:
        with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True) as db:
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            self._df = dict(db.execute("SELECT term, n FROM df").fetchall())
        self._count = int(meta.get("passages", "0"))
        self._names = list(json.loads(meta.get("sources", "[]")))
        self.problems = [KnowledgeProblem(p, m, s) for p, m, s in json.loads(meta.get("problems", "[]"))]
        self._sources, _ = find_sources(self.root)

    # -- reading ---------------------------------------------------------------------------

    @property
    def passage_count(self) -> int:
        self._ensure_ready()
        return self._count

    def source_names(self) -> list[str]:
        self._ensure_ready()
        return list(self._names)

    def sources(self) -> list[Source]:
        self._ensure_ready()
        return list(self._sources)

    def _ensure_ready(self) -> None:
        if not self._ready:
            self.ensure()

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            self._local.db = db
        return db

    def resolve(self, references: Sequence[str]) -> list[str]:
        """The source names that topic references name (unknown references name nothing)."""
        self._ensure_ready()
        return [s.name for s in self._sources if any(s.matches(r) for r in references)]

    def fts_query(self, query: str) -> str:
        words = [w for w in WORD.findall(query.lower()) if w not in STOPWORDS]
        return " OR ".join(f'"{w}"' for w in words)

    def search(self, query: str, *, sources: Sequence[str] | None = None, limit: int = 3) -> list[Passage]:
        """The best passages for `query` (from `sources` only, when given), best first."""
        self._ensure_ready()
        match = self.fts_query(query)
        if not match or (sources is not None and not sources):
            return []
        sql = "SELECT text, source, title, url, bm25(passages) FROM passages WHERE passages MATCH ?"
        params: list[object] = [match]
        if sources is not None:
            sql += f" AND source IN ({','.join('?' * len(sources))})"
            params.extend(sources)
        sql += " ORDER BY bm25(passages) LIMIT ?"
        params.append(max(limit * 4, 8))
        rows = self._db().execute(sql, params).fetchall()
        wanted = list(dict.fromkeys(terms(query)))
        weights = {t: math.log(1 + (self._count + 1) / (self._df.get(t, 0) + 0.5)) for t in wanted}
        total = sum(weights.values()) or 1.0
        found = []
        for text, source, title, url, rank in rows:
            have = set(terms(text))
            confidence = sum(w for t, w in weights.items() if t in have) / total
            found.append(Passage(text=text, source=source, title=title, url=url, confidence=round(confidence, 4), score=-float(rank)))
        found.sort(key=lambda p: (p.confidence, p.score), reverse=True)
        return found[:limit]

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            del self._local.db


def _page_url(doc: Path) -> str | None:
    """A synced page keeps its URL in a sidecar `<page>.url` file (written by sync)."""
    sidecar = doc.with_suffix(doc.suffix + ".url")
    try:
        return sidecar.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def open_index(root: Path, data_dir: Path | None = None) -> KnowledgeIndex:
    """The (lazily built) index of the agent folder at `root`."""
    return KnowledgeIndex(root, data_dir)
