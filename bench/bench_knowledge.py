"""Knowledge answers without a model, and the runtime's overhead around a model call.

1. Knowledge: 10,000 passages of real English prose (the docstrings of this Python's standard
   library, cut into passages as the index cuts documents) are indexed by `postcall.knowledge`
   (SQLite FTS5; and PostgreSQL full text in the store's database unless --skip-postgres).  For questions made from sentences of the corpus (several seeds), the bench
   times, in the same run: a bare FTS5 query (MATCH + bm25 ORDER BY, the floor), the index's
   `search` (the query plus confidence scoring), and the whole answer a caller gets (search +
   the spoken sentence).  Goal: the answer's p99 at most 50 ms; reported also as a ratio to the
   bare query's p99.
2. Model overhead: the same chat completion sent to the local OpenAI-protocol server
   (postcall.devtools.openai_server) through `execute_action` (the action layer: allowed-hosts
   check, the openai SDK, the retry loop) and as a bare httpx POST with the same body,
   interleaved (the bare POST uses httpx2, the client the SDK itself uses).  Goal: the p50 difference at most 5 ms.

Writes the `## Knowledge and models` section of docs/benchmarks.md.

    .venv/bin/python bench/bench_knowledge.py [--quick] [--no-write]
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import datetime as dt
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
from _report import percentile as pct
from _report import write_section
from bench_durable import postgres

from postcall.actions import ActionRequest
from postcall.actions.execute import execute_action
from postcall.actions.model_endpoint import ModelEndpoint
from postcall.actions.retry import RetryPolicy
from postcall.actions.settings import ActionSettings
from postcall.devtools.openai_server import OpenAIServer
from postcall.knowledge.documents import passages
from postcall.knowledge.index import KnowledgeIndex
from postcall.knowledge.text import WORD, spoken_answer
from postcall.lifecycle.knowledge import open_agent_index
from postcall.store import open_store

REPO = Path(__file__).resolve().parent.parent
PASSAGES = 10_000


def docstrings() -> Iterator[str]:
    """The docstrings of this Python's standard library (tests, idlelib and site-packages left
    out), in a stable order: public prose both knowledge benches index."""
    root = Path(sys.base_prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    for path in sorted(root.rglob("*.py")):
        if "test" in path.parts or "site-packages" in path.parts or "idlelib" in path.parts:
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc:
                    yield doc


def corpus(limit: int) -> list[str]:
    """Passages from the standard library's docstrings, in a stable order."""
    out: list[str] = []
    for doc in docstrings():
        if len(doc.split()) >= 8:
            out.extend(p for p in passages(doc) if len(p.split()) >= 8)
            if len(out) >= limit:
                return out[:limit]
    return out


def questions(texts: list[str], n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        words = [w for w in WORD.findall(rng.choice(texts)) if len(w) > 3]
        if len(words) >= 4:
            start = rng.randrange(0, max(1, len(words) - 4))
            out.append("how do I " + " ".join(words[start : start + rng.randint(3, 6)]))
    return out


def _bare_sqlite(index: KnowledgeIndex) -> tuple[Callable[[str], object], Callable[[], None]]:
    db = sqlite3.connect(f"file:{index.path}?mode=ro", uri=True)

    def run(q: str) -> object:
        return db.execute("SELECT rowid FROM passages WHERE passages MATCH ? ORDER BY bm25(passages) LIMIT 12",
                          (index.fts_query(q),)).fetchall()

    return run, db.close


def _bare_postgres(index: KnowledgeIndex, engine: Any) -> tuple[Callable[[str], object], Callable[[], None]]:
    raw = engine.raw_connection()
    cur = raw.cursor()

    def run(q: str) -> object:
        query = " | ".join(index.query_words(q))
        cur.execute("SELECT id FROM knowledge_passages, to_tsquery('english', %s) q WHERE tsv @@ q "
                    "ORDER BY ts_rank_cd(tsv, q) DESC LIMIT 12", (query,))
        return cur.fetchall()

    def close() -> None:
        cur.close()
        raw.close()

    return run, close


def bench_knowledge(n_questions: int, seeds: list[int], database_url: str | None = None) -> dict[str, Any]:
    """The knowledge timings on SQLite FTS5 (no `database_url`) or PostgreSQL full text."""
    texts = corpus(PASSAGES)
    store = open_store(database_url) if database_url else None
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = root / "knowledge" / "files"
        files.mkdir(parents=True)
        # one passage per paragraph, so the index holds exactly these passages
        for i in range(0, len(texts), 500):
            (files / f"part{i // 500:03}.txt").write_text("\n\n".join(texts[i : i + 500]), encoding="utf-8")
        index = open_agent_index(root, store=store)  # as the runtime opens it (the rerank on)
        t0 = time.perf_counter()
        index.ensure()
        build_s = time.perf_counter() - t0
        bare_query, close_bare = _bare_postgres(index, store.engine) if store is not None else _bare_sqlite(index)
        bare: list[float] = []
        search: list[float] = []
        answer: list[float] = []
        answered = 0
        for seed in seeds:
            for q in questions(texts, n_questions, seed):
                t = time.perf_counter()
                bare_query(q)
                bare.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                index.search(q, limit=3)
                search.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                found = index.search(q, limit=3)
                text = spoken_answer(q, found[0].text) if found and found[0].confidence >= 0.5 else None
                answer.append((time.perf_counter() - t) * 1000)
                answered += text is not None
        close_bare()
        index.close()
    if store is not None:
        store.close()
    return {
        "passages": index.passage_count, "build_s": build_s, "queries": len(bare), "answered": answered,
        "bare": bare, "search": search, "answer": answer,
    }


async def bench_model(n: int) -> dict[str, Any]:
    server = OpenAIServer(api_key="sk-bench").start()
    server.responder = lambda body: "We open at nine."
    os.environ["POSTCALL_MODEL_API_KEY"] = "sk-bench"
    settings = ActionSettings(
        retry=RetryPolicy(max_attempts=1), allowed_hosts=("127.0.0.1",),
        model=ModelEndpoint(base_url=server.base_url, model="local-model"),
    )
    messages = [{"role": "system", "content": "Answer from the passages. [1] We open at nine."},
                {"role": "user", "content": "When do you open?"}]
    body = {"model": "local-model", "messages": messages, "max_tokens": 300, "temperature": 0.2}
    via_layer: list[float] = []
    direct: list[float] = []
    async with httpx.AsyncClient() as client, httpx2.AsyncClient() as bare:
        for i in range(n + 10):
            request = ActionRequest(kind="model", node_id="gen", topic="bench", conversation_id="b",
                                    idempotency_key=f"b:{uuid.uuid4().hex}", payload={"messages": messages})
            t = time.perf_counter()
            result = await execute_action(request, settings, http_client=client)
            layer_ms = (time.perf_counter() - t) * 1000
            assert result.ok, result.error
            t = time.perf_counter()
            response = await bare.post(f"{server.base_url}/chat/completions", json=body,
                                       headers={"Authorization": "Bearer sk-bench"})
            response.json()
            direct_ms = (time.perf_counter() - t) * 1000
            if i >= 10:  # warm-up: connections, the SDK's first import
                via_layer.append(layer_ms)
                direct.append(direct_ms)
    server.stop()
    return {"calls": n, "layer": via_layer, "direct": direct}


def _rows(k: dict[str, Any], bare_name: str) -> list[str]:
    bare99, ans99 = pct(k["bare"], 0.99), pct(k["answer"], 0.99)
    return [
        f"| {bare_name} | {statistics.median(k['bare']):.2f} | {bare99:.2f} | 1.0x |",
        f"| index search (cold: the candidates embedded for the rerank) | {statistics.median(k['search']):.2f} | {pct(k['search'], 0.99):.2f} | {pct(k['search'], 0.99) / bare99:.1f}x |",
        f"| knowledge answer, no model (warm: the same candidates, embeddings cached) | {statistics.median(k['answer']):.2f} | {ans99:.2f} | {ans99 / bare99:.1f}x |",
    ]


def render(k: dict[str, Any], m: dict[str, Any], seeds: list[int], pg: dict[str, Any] | None = None) -> str:
    now = dt.date.today().isoformat()
    ans99 = pct(k["answer"], 0.99)
    lay50, dir50 = statistics.median(m["layer"]), statistics.median(m["direct"])
    lay99, dir99 = pct(m["layer"], 0.99), pct(m["direct"], 0.99)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "## Knowledge and models",
        "",
        "Written by `bench/bench_knowledge.py`. The index holds "
        f"{k['passages']:,} passages of real prose (the docstrings of Python's standard library, cut as "
        f"documents are cut; built in {k['build_s']:.1f} s). {k['queries']} questions made from the "
        f"corpus's own sentences (seeds {', '.join(map(str, seeds))}), {k['answered']} of them answered above "
        "the default confidence 0.5. Each question is timed three ways in the same run: a bare FTS5 "
        "query (MATCH, bm25 order, 12 rows: the floor), the index's search (the query, confidence "
        "scoring and the embedding rerank of its candidates, whose embeddings are computed then), and the "
        "whole answer without a model (search plus the spoken sentence; the candidates' embeddings are "
        "cached by then, as for any passage asked about before).",
        "",
        f"Python {platform.python_version()} on {platform.machine()} ({os.cpu_count()} CPUs shared with "
        f"seven other engineers' work, load average {load:.1f}), {now}.",
        "",
        "| what | p50 ms | p99 ms | p99 / bare FTS p99 |",
        "|---|---:|---:|---:|",
        *_rows(k, "bare FTS5 query"),
        "",
        f"Goal: the answer's p99 at most 50 ms: **{'met' if ans99 <= 50 else 'missed'}** ({ans99:.1f} ms).",
        "",
        *(_pg_lines(pg) if pg is not None else []),
        f"**Model call overhead.** {m['calls']} chat completions to the local OpenAI-protocol server "
        "(postcall.devtools.openai_server, 127.0.0.1), each sent through `execute_action` (allowed-hosts "
        "check, the openai SDK, the retry loop) and as a bare POST of the same body with httpx2 (the HTTP client the SDK uses), interleaved.",
        "",
        "| path | p50 ms | p99 ms |",
        "|---|---:|---:|",
        f"| bare POST (the endpoint's own time) | {dir50:.2f} | {dir99:.2f} |",
        f"| through the action layer | {lay50:.2f} | {lay99:.2f} |",
        f"| overhead | {lay50 - dir50:.2f} | {lay99 - dir99:.2f} |",
        "",
        f"Goal: at most 5 ms beyond the endpoint's own time (p50): **{'met' if lay50 - dir50 <= 5 else 'missed'}**.",
    ]
    return "\n".join(lines) + "\n"


def _pg_lines(pg: dict[str, Any]) -> list[str]:
    ans99 = pct(pg["answer"], 0.99)
    return [
        f"**PostgreSQL full text** (the index in the store's database: a generated tsvector, GIN, "
        f"`ts_rank_cd`; Debian's PostgreSQL on 127.0.0.1 started by the bench), the same {pg['passages']:,} "
        f"passages (built in {pg['build_s']:.1f} s) and questions, {pg['answered']} answered. The floor is the "
        "plain full-text query one would write, any word of the question (`a | b | c`) ranked by `ts_rank_cd`, "
        "12 rows, on a raw psycopg connection; the index asks first for the passages holding every word "
        "(selective, so fewer rows to rank) and widens to any word only when none does, hence a ratio below 1.",
        "",
        "| what | p50 ms | p99 ms | p99 / bare query p99 |",
        "|---|---:|---:|---:|",
        *_rows(pg, "bare tsquery"),
        "",
        f"Goal: the answer's p99 at most 50 ms: **{'met' if ans99 <= 50 else 'missed'}** ({ans99:.1f} ms).",
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer questions and calls")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md")
    parser.add_argument("--skip-postgres", action="store_true", help="SQLite FTS5 only")
    args = parser.parse_args(argv)
    seeds = [1, 2, 3]
    n = 50 if args.quick else 300
    k = bench_knowledge(n, seeds)
    pg = None
    if not args.skip_postgres:
        with postgres() as server:
            pg = bench_knowledge(n, seeds, server.create_database("bench_knowledge"))
    m = asyncio.run(bench_model(30 if args.quick else 200))
    section = render(k, m, seeds, pg)
    print(section)
    if not args.no_write:
        write_section("Knowledge and models", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
