"""The knowledge index's passages in the database, beside the conversations (PostgreSQL).

On PostgreSQL (`Dialect.knowledge_in_database`) the index is three tables made by migration
0003: `knowledge_passages` (each passage with a stored, generated `tsvector` of its text under
the `english` configuration, GIN-indexed), `knowledge_terms` (how many passages hold each term,
for the index's confidence) and `knowledge_meta` (the documents' fingerprint, the sources, the
problems found).  Several workers share one index: the first to see changed documents rebuilds
it in one transaction under an advisory lock (the others wait, then find it built), and readers
see the old index or the new one, never half of one.  Candidates are the passages holding every
word of the question (widened to any word when too few do), ranked by `ts_rank_cd` (cover
density); the index re-orders them by its confidence, as it does FTS5's bm25 candidates.

On SQLite the index stays an FTS5 file beside the database (postcall/knowledge/index.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from postcall.store.dialects import dialect_named

TS_CONFIG = "english"
_REBUILD_LOCK = 0x6B6E6F77  # "know": the same in every process rebuilding this database's index
_BATCH = 1000

metadata = sa.MetaData()
knowledge_passages = sa.Table(
    "knowledge_passages", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("url", sa.Text, nullable=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("tsv", postgresql.TSVECTOR, sa.Computed(f"to_tsvector('{TS_CONFIG}', text)", persisted=True)),
)
knowledge_terms = sa.Table(
    "knowledge_terms", metadata,
    sa.Column("term", sa.Text, primary_key=True),
    sa.Column("n", sa.Integer, nullable=False),
)
knowledge_meta = sa.Table(
    "knowledge_meta", metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

Row = tuple[str, str, str, str | None]
"""A passage to store: text, source, title, url."""
Hit = tuple[str, str, str, str | None, float]
"""A passage found: text, source, title, url, rank (higher is better)."""


def knowledge_tables(engine: sa.Engine) -> KnowledgeTables | None:
    """The index's tables when this database holds the knowledge index (PostgreSQL); None where
    it is an FTS5 file beside the database (SQLite)."""
    return KnowledgeTables(engine) if dialect_named(engine.dialect.name).knowledge_in_database else None


class KnowledgeTables:
    """The index's tables in one database (see the module docstring)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @property
    def location(self) -> str:
        return f"PostgreSQL full text in {self.engine.url.render_as_string(hide_password=True)} (knowledge_passages)"

    def close(self) -> None:
        """Nothing: the store owns the engine."""

    def fingerprint(self) -> str | None:
        with self.engine.connect() as conn:
            return _fingerprint(conn)

    def rebuild(self, wanted: str, rows: Iterable[Row], terms: Mapping[str, int], meta: Mapping[str, str]) -> bool:
        """Replace the index with `rows` unless another process just built `wanted`; True if it did."""
        with self.engine.begin() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _REBUILD_LOCK})
            if _fingerprint(conn) == wanted:
                return False
            conn.execute(knowledge_passages.delete())
            conn.execute(knowledge_terms.delete())
            conn.execute(knowledge_meta.delete())
            batch: list[dict[str, object]] = []
            for text, source, title, url in rows:
                batch.append({"text": text, "source": source, "title": title, "url": url})
                if len(batch) >= _BATCH:
                    conn.execute(knowledge_passages.insert(), batch)
                    batch = []
            if batch:
                conn.execute(knowledge_passages.insert(), batch)
            if terms:
                conn.execute(knowledge_terms.insert(), [{"term": t, "n": n} for t, n in terms.items()])
            conn.execute(knowledge_meta.insert(), [{"key": k, "value": v} for k, v in {**meta, "fingerprint": wanted}.items()])
            conn.execute(sa.text("ANALYZE knowledge_passages"))  # the planner's row estimates for the new passages
        return True

    def load(self) -> tuple[dict[str, str], dict[str, int]]:
        """The index's meta values and its term counts."""
        with self.engine.connect() as conn:
            meta = {str(k): str(v) for k, v in conn.execute(sa.select(knowledge_meta.c.key, knowledge_meta.c.value))}
            terms = {str(t): int(n) for t, n in conn.execute(sa.select(knowledge_terms.c.term, knowledge_terms.c.n))}
        return meta, terms

    def search(self, words: Sequence[str], sources: Sequence[str] | None, limit: int, enough: int = 1) -> list[Hit]:
        """Passages holding `words` (plain words: letters and digits), best `ts_rank_cd` first.

        Passages holding every word are the candidates when there are at least `enough` of them:
        that query is selective (the GIN index finds few rows to rank) and its passages are the
        ones the index's confidence puts first anyway.  Otherwise the query widens to any of the
        words, which may match a good share of the passages and costs a rank for each (on
        10,000 passages the every-word query cut the answer's p99 from 87 ms to 24 ms and
        answered more questions, bench/bench_knowledge.py).
        """
        if not words:
            return []
        hits = self._query(" & ".join(words), sources, limit)
        if len(hits) < enough and len(words) > 1:
            seen = {hit[0] for hit in hits}
            hits += [hit for hit in self._query(" | ".join(words), sources, limit) if hit[0] not in seen]
        return hits[:limit]

    def _query(self, tsquery: str, sources: Sequence[str] | None, limit: int) -> list[Hit]:
        query = sa.func.to_tsquery(sa.literal_column(f"'{TS_CONFIG}'"), tsquery)
        rank = sa.func.ts_rank_cd(knowledge_passages.c.tsv, query)
        p = knowledge_passages.c
        statement = sa.select(p.text, p.source, p.title, p.url, rank).where(p.tsv.bool_op("@@")(query))
        if sources is not None:
            statement = statement.where(p.source.in_(list(sources)))
        statement = statement.order_by(rank.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [(r[0], r[1], r[2], r[3], float(r[4])) for r in conn.execute(statement)]


def _fingerprint(conn: sa.Connection) -> str | None:
    value = conn.execute(sa.select(knowledge_meta.c.value).where(knowledge_meta.c.key == "fingerprint")).scalar()
    return None if value is None else str(value)
