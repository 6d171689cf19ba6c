"""The knowledge index, beside the conversations: SQLite FTS5 in `.postcall/knowledge.sqlite3`,
or PostgreSQL full text in the store's own database (store/knowledge.py) when that is PostgreSQL.

Why FTS5 on a laptop: it ships inside Python's sqlite3 (no service, no new dependency), ranks
with BM25, stems English (porter), and a query over 10,000 passages takes well under a
millisecond (bench/bench_knowledge.py).  On PostgreSQL the passages go in the database every
worker already shares (a generated tsvector, GIN, `ts_rank_cd`), so workers neither build nor
keep copies of their own.  The index is derived data: it is rebuilt from the agent folder when
the documents' fingerprint (paths, sizes, modification times) differs from the one it was built
from, and a reader never sees half an index (SQLite: a new file renamed over the old one;
PostgreSQL: one transaction).

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
from collections import Counter, OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from postcall.files import private_dir, private_file
from postcall.knowledge.documents import DocumentError, passages, read_document
from postcall.knowledge.sources import Source, find_sources
from postcall.knowledge.text import STOPWORDS, WORD, terms
from postcall.knowledge.types import KnowledgeProblem, Passage

INDEX_VERSION = 1
INDEX_FILE = "knowledge.sqlite3"
RERANK_WEIGHT = 0.4
VECTOR_CACHE = 10_000  # passage embeddings kept per index (about 1 KB each): a hit costs no tokenizing
"""Share of the embedding cosine in the order of the lexical candidates (bench/bench_knowledge_embeddings.py:
top-3 hits 37% -> 44% on paraphrased questions, every seed; 0 keeps the lexical order)."""

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


Row = tuple[str, str, str, str | None]
"""A passage to store: text, source, title, url."""
Hit = tuple[str, str, str, str | None, float]
"""A passage found: text, source, title, url, rank (higher is better)."""
Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    """What the rerank asks of an embedding model (postcall.understanding.embedding.StaticEmbedder)."""

    def embed(self, texts: Sequence[str]) -> Vectors: ...


class Backend(Protocol):
    """Where the passages are kept: an FTS5 file here, or the PostgreSQL database
    (postcall.store.knowledge.KnowledgeTables, handed in by the layer that opens the store)."""

    @property
    def location(self) -> str: ...

    def fingerprint(self) -> str | None: ...

    def rebuild(self, wanted: str, rows: Iterator[Row], terms: Mapping[str, int], meta: Mapping[str, str]) -> bool: ...

    def load(self) -> tuple[dict[str, str], dict[str, int]]: ...

    def search(self, words: Sequence[str], sources: Sequence[str] | None, limit: int, enough: int = 1) -> list[Hit]: ...

    def close(self) -> None: ...


class _FileIndex:
    """SQLite FTS5 in one file, rebuilt into a new file renamed over the old one."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / INDEX_FILE
        self._local = threading.local()

    @property
    def location(self) -> str:
        return str(self.path)

    def fingerprint(self) -> str | None:
        if not self.path.is_file():
            return None
        try:
            with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True) as db:
                row = db.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
            return str(row[0]) if row else None
        except sqlite3.Error:
            return None

    def rebuild(self, wanted: str, rows: Iterator[Row], terms: Mapping[str, int], meta: Mapping[str, str]) -> bool:
        private_dir(self.data_dir)  # the index holds the agent's documents: 0700 / 0600 like the rest
        tmp = self.path.with_suffix(f".building-{os.getpid()}")
        tmp.unlink(missing_ok=True)
        private_file(tmp)
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
            db.executemany("INSERT INTO passages(text, source, title, url) VALUES (?, ?, ?, ?)", rows)
            db.executemany("INSERT INTO df(term, n) VALUES (?, ?)", terms.items())
            db.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", [*meta.items(), ("fingerprint", wanted)])
            db.commit()
        finally:
            db.close()
        os.replace(tmp, self.path)
        self.close()
        return True

    def load(self) -> tuple[dict[str, str], dict[str, int]]:
        with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True) as db:
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            terms = dict(db.execute("SELECT term, n FROM df").fetchall())
        return meta, terms

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            self._local.db = db
        return db

    def search(self, words: Sequence[str], sources: Sequence[str] | None, limit: int, enough: int = 1) -> list[Hit]:
        sql = "SELECT text, source, title, url, -bm25(passages) FROM passages WHERE passages MATCH ?"
        params: list[object] = [" OR ".join(f'"{w}"' for w in words)]
        if sources is not None:
            sql += f" AND source IN ({','.join('?' * len(sources))})"
            params.extend(sources)
        sql += " ORDER BY bm25(passages) LIMIT ?"
        params.append(limit)
        return [(t, s, ti, u, float(r)) for t, s, ti, u, r in self._db().execute(sql, params).fetchall()]

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            del self._local.db


class KnowledgeIndex:
    """The index of one agent folder (see the module docstring).  Safe to share between threads.

    `backend`: where the passages are (default: an FTS5 file under `data_dir`; the lifecycle
    hands in the store's PostgreSQL tables).  `embedder` and `rerank_weight`: the lexical
    candidates are re-ordered by (1 - w) x confidence + w x the cosine of the embedder (the
    recogniser's WordLlama model, handed in by the layer that loads it) between question and
    passage; without an embedder, or with 0, the lexical order stays.  `confidence` itself is unchanged (it is what
    `responseConfidence` is compared with).
    """

    def __init__(self, root: Path, data_dir: Path | None = None, *, backend: Backend | None = None,
                 embedder: Embedder | None = None, rerank_weight: float = RERANK_WEIGHT) -> None:
        self.root = root
        self.rerank_weight = rerank_weight
        self._embedder = embedder
        self._vectors: OrderedDict[str, Vectors] = OrderedDict()  # passage -> embedding
        self.data_dir = data_dir or root / ".postcall"
        self.path = self.data_dir / INDEX_FILE
        self.backend: Backend = backend if backend is not None else _FileIndex(self.data_dir)
        self._lock = threading.Lock()
        self._ready = False
        self._df: dict[str, int] = {}
        self._count = 0
        self._names: list[str] = []
        self._sources: list[Source] = []
        self.problems: list[KnowledgeProblem] = []

    @property
    def location(self) -> str:
        """Where the index lives, for people: the FTS5 file, or the PostgreSQL database."""
        return self.backend.location

    # -- building --------------------------------------------------------------------------

    def ensure(self) -> bool:
        """Open the index, rebuilding it first if a document changed.  True if it was rebuilt."""
        with self._lock:
            sources, problems = find_sources(self.root)
            wanted = fingerprint(sources)
            rebuilt = False
            if self.backend.fingerprint() != wanted:
                rebuilt = self._build(sources, problems, wanted)
            self._load()
            self._ready = True
            return rebuilt

    def _build(self, sources: list[Source], problems: list[KnowledgeProblem], wanted: str) -> bool:
        df: Counter[str] = Counter()
        problems = list(problems)
        count = 0

        def rows() -> Iterator[Row]:
            nonlocal count
            for source in sources:
                for doc in source.documents:
                    where = str(doc.relative_to(self.root)) if doc.is_relative_to(self.root) else str(doc)
                    notes: list[str] = []
                    try:
                        text, title = read_document(doc, notes)
                    except DocumentError as exc:
                        problems.append(KnowledgeProblem(where, str(exc)))
                        continue
                    problems.extend(KnowledgeProblem(where, note) for note in notes)
                    url = source.url if source.kind == "site" and len(source.documents) == 1 else (
                        _page_url(doc) if source.kind == "site" else None)
                    for passage in passages(text):
                        df.update(set(terms(passage)))
                        count += 1
                        yield passage, source.name, title, url

        collected = list(rows())  # read every document first: the counts and problems go in the same write
        meta = {
            "passages": str(count),
            "sources": json.dumps([s.name for s in sources]),
            "problems": json.dumps([[p.path, p.message, p.severity] for p in problems]),
        }
        return self.backend.rebuild(wanted, iter(collected), df, meta)

    def _load(self) -> None:
        meta, self._df = self.backend.load()
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

    def resolve(self, references: Sequence[str]) -> list[str]:
        """The source names that topic references name (unknown references name nothing)."""
        self._ensure_ready()
        return [s.name for s in self._sources if any(s.matches(r) for r in references)]

    @staticmethod
    def query_words(query: str) -> list[str]:
        """The words a search matches on: letters and digits only, stop words left out."""
        return list(dict.fromkeys(w for w in WORD.findall(query.lower()) if w not in STOPWORDS))

    def fts_query(self, query: str) -> str:
        """The FTS5 MATCH expression of `query` (for the bench's bare query)."""
        return " OR ".join(f'"{w}"' for w in self.query_words(query))

    def search(self, query: str, *, sources: Sequence[str] | None = None, limit: int = 3) -> list[Passage]:
        """The best passages for `query` (from `sources` only, when given), best first."""
        self._ensure_ready()
        words = self.query_words(query)
        if not words or (sources is not None and not sources):
            return []
        hits = self.backend.search(words, sources, max(limit * 4, 8))
        wanted = list(dict.fromkeys(terms(query)))
        weights = {t: math.log(1 + (self._count + 1) / (self._df.get(t, 0) + 0.5)) for t in wanted}
        total = sum(weights.values()) or 1.0
        found = []
        for text, source, title, url, rank in hits:
            have = set(terms(text))
            confidence = sum(w for t, w in weights.items() if t in have) / total
            found.append(Passage(text=text, source=source, title=title, url=url, confidence=round(confidence, 4), score=rank))
        found.sort(key=lambda p: (p.confidence, p.score), reverse=True)
        return self._rerank(query, found)[:limit]

    def _rerank(self, query: str, found: list[Passage]) -> list[Passage]:
        embedder = self._model()
        if embedder is None or len(found) < 2:
            return found
        with self._lock:
            missing = list(dict.fromkeys(p.text for p in found if p.text not in self._vectors))
        vectors = embedder.embed([query, *missing])
        with self._lock:
            for text, vector in zip(missing, vectors[1:], strict=True):
                self._vectors[text] = vector
            while len(self._vectors) > VECTOR_CACHE:
                self._vectors.popitem(last=False)
            passages_ = np.stack([self._vectors.get(p.text, vectors[0] * 0) for p in found])
        cosines = passages_ @ vectors[0]
        w = self.rerank_weight
        score = {id(p): (1 - w) * p.confidence + w * float(c) for p, c in zip(found, cosines, strict=True)}
        return sorted(found, key=lambda p: -score[id(p)])

    def _model(self) -> Embedder | None:
        return self._embedder if self.rerank_weight > 0 else None

    def close(self) -> None:
        self.backend.close()


def _page_url(doc: Path) -> str | None:
    """A synced page keeps its URL in a sidecar `<page>.url` file (written by sync)."""
    sidecar = doc.with_suffix(doc.suffix + ".url")
    try:
        return sidecar.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def open_index(root: Path, data_dir: Path | None = None, *, backend: Backend | None = None,
               embedder: Embedder | None = None) -> KnowledgeIndex:
    """The (lazily built) index of the agent folder at `root` (see KnowledgeIndex)."""
    return KnowledgeIndex(root, data_dir, backend=backend, embedder=embedder)
