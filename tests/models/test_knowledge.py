"""The knowledge index: documents of every kind, problems named by path, rebuilt only on change,
website sources synced through allowed hosts from a real HTTP server, and the CLI."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner

from postcall.cli.main import cli
from postcall.knowledge.index import KnowledgeIndex
from postcall.lifecycle.knowledge import open_agent_index


def pdf_bytes(text: str) -> bytes:
    """A minimal one-page PDF whose page shows `text` (offsets computed, so pypdf reads it cleanly)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@pytest.fixture
def agent(tmp_path: Path) -> Path:
    root = tmp_path / "agent"
    files = root / "knowledge" / "files"
    files.mkdir(parents=True)
    (root / "agent.yaml").write_text("name: KB\nallowed_hosts: [127.0.0.1]\n")
    (root / "topics").mkdir()
    (files / "shipping.txt").write_text("Standard shipping takes three to five working days. Express shipping arrives the next day.")
    (files / "warranty.pdf").write_bytes(pdf_bytes("The warranty covers manufacturing defects for two years."))
    document = docx.Document()
    document.add_paragraph("Gift cards never expire and can be used in any store.")
    document.save(str(files / "giftcards.docx"))
    (files / "faq.html").write_text(
        "<html><head><title>FAQ</title><script>var x='ignore me';</script></head>"
        "<body><nav>Home</nav><p>Loyalty points are added to your account within 48 hours.</p></body></html>"
    )
    (files / "broken.docx").write_bytes(b"this is not a zip file")
    (files / "Price list.xlsx.mcs.yml").write_text("mcs.metadata:\n  componentName: Price list.xlsx\n")
    return root


def test_every_document_kind_is_searchable_and_problems_name_their_path(agent: Path) -> None:
    index = KnowledgeIndex(agent)
    assert index.ensure() is True
    for question, source in [
        ("how long does standard shipping take", "shipping.txt"),
        ("what does the warranty cover", "warranty.pdf"),
        ("do gift cards expire", "giftcards.docx"),
        ("when are loyalty points added", "faq.html"),
    ]:
        best = index.search(question)[0]
        assert best.source == source and best.confidence >= 0.5, (question, best)
    assert "ignore me" not in " ".join(p.text for p in index.search("ignore me var"))
    problems = {p.path: p.message for p in index.problems}
    assert "broken.docx cannot be read as DOCX" in problems["knowledge/files/broken.docx"]
    assert "place it at knowledge/files/Price list.xlsx" in problems["knowledge/files/Price list.xlsx.mcs.yml"]


def test_the_index_is_rebuilt_only_when_a_document_changes(agent: Path) -> None:
    assert KnowledgeIndex(agent).ensure() is True
    assert KnowledgeIndex(agent).ensure() is False
    (agent / "knowledge" / "files" / "shipping.txt").write_text("Shipping is free on orders over fifty dollars.")
    fresh = KnowledgeIndex(agent)
    assert fresh.ensure() is True
    assert fresh.search("is shipping free")[0].text.startswith("Shipping is free")


def test_check_warns_with_the_path_and_search_shows_the_answer(agent: Path) -> None:
    runner = CliRunner()
    checked = runner.invoke(cli, ["check", str(agent)])
    assert checked.exit_code == 0, checked.output
    assert "knowledge/files/broken.docx:1:1: warning KNW300" in checked.output
    found = runner.invoke(cli, ["knowledge", "search", str(agent), "do gift cards expire"])
    assert found.exit_code == 0
    assert found.output.splitlines()[0] == "answer: Gift cards never expire and can be used in any store."
    none = runner.invoke(cli, ["knowledge", "search", str(agent), "can I bring my dog"])
    assert none.output.startswith("no answer")


class _Site(BaseHTTPRequestHandler):
    pages = {
        "/help/": '<html><body><p>Welcome to the help centre.</p><a href="/help/billing">Billing</a><a href="/other">x</a></body></html>',
        "/help/billing": "<html><body><p>Invoices are emailed on the first day of each month.</p></body></html>",
    }

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        body = self.pages.get(self.path)
        self.send_response(200 if body else 404)
        self.send_header("content-type", "text/html; charset=utf-8")
        data = (body or "not found").encode()
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/help/"
    server.shutdown()
    server.server_close()


def test_sync_fetches_a_site_and_its_sub_pages_through_allowed_hosts(agent: Path, site: str) -> None:
    (agent / "knowledge" / "Help centre.mcs.yml").write_text(f"kind: PublicSiteSearchSource\nsite: {site}\n")
    runner = CliRunner()
    result = runner.invoke(cli, ["knowledge", "sync", str(agent)])
    assert result.exit_code == 0, result.output
    assert "Help centre: 2 page(s)" in result.output
    best = KnowledgeIndex(agent).search("when are invoices emailed")[0]
    assert best.url == site + "billing" and best.source == "Help centre"
    (agent / "agent.yaml").write_text("name: KB\n")  # no allowed_hosts: loopback is refused
    refused = runner.invoke(cli, ["knowledge", "sync", str(agent)])
    assert refused.exit_code == 1 and "Refused" in refused.output
    assert KnowledgeIndex(agent).search("when are invoices emailed")  # the last good pages stay


def test_the_index_file_is_private(agent: Path) -> None:
    index = KnowledgeIndex(agent)
    index.ensure()
    assert oct(index.path.stat().st_mode & 0o777) == "0o600"
    assert oct(index.data_dir.stat().st_mode & 0o777) == "0o700"


# -- PostgreSQL full text: the index beside the conversations ---------------------------------


def test_on_postgresql_the_index_lives_in_the_database_and_workers_share_it(agent: Path, postgres_url: str) -> None:
    from postcall.store import open_store

    store = open_store(postgres_url)  # migration 0003 made the tables
    try:
        first = open_agent_index(agent, store=store)
        assert first.ensure() is True
        assert not first.path.exists()  # no FTS5 file: the passages are in PostgreSQL
        for question, source in [
            ("how long does standard shipping take", "shipping.txt"),
            ("what does the warranty cover", "warranty.pdf"),
            ("do gift cards expire", "giftcards.docx"),
            ("when are loyalty points added", "faq.html"),
        ]:
            best = first.search(question)[0]
            assert best.source == source and best.confidence >= 0.5, (question, best)
        assert {p.source for p in first.search("shipping days or gift cards", sources=["shipping.txt"])} == {"shipping.txt"}
        problems = {p.path: p.message for p in first.problems}
        assert "broken.docx cannot be read as DOCX" in problems["knowledge/files/broken.docx"]
        second = open_agent_index(agent, store=store)  # another worker on the same database
        assert second.ensure() is False and second.passage_count == first.passage_count
        (agent / "knowledge" / "files" / "shipping.txt").write_text("Shipping is free on orders over fifty dollars.")
        assert second.ensure() is True
        assert first.ensure() is False  # the documents' fingerprint is the database's now
        assert first.search("is shipping free")[0].text.startswith("Shipping is free")
        assert "three to five" not in " ".join(p.text for p in first.search("standard shipping days"))
    finally:
        store.close()


def test_on_sqlite_the_store_keeps_no_knowledge_tables_and_the_index_stays_fts5(agent: Path, tmp_path: Path) -> None:
    import sqlalchemy as sa

    from postcall.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'postcall.db'}")
    try:
        index = open_agent_index(agent, store=store)
        assert index.ensure() is True and index.path.is_file()
        assert not [t for t in sa.inspect(store.engine).get_table_names() if t.startswith("knowledge")]
        assert index.search("do gift cards expire")[0].source == "giftcards.docx"
    finally:
        store.close()


def test_the_cli_searches_the_postgresql_index(agent: Path, postgres_url: str) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli, ["knowledge", "list", str(agent), "--db", postgres_url])
    assert listed.exit_code == 0, listed.output
    assert listed.output.startswith("index: PostgreSQL full text in postgresql+psycopg://postgres@127.0.0.1:") and "rebuilt" in listed.output
    found = runner.invoke(cli, ["knowledge", "search", str(agent), "do gift cards expire", "--db", postgres_url])
    assert found.output.splitlines()[0] == "answer: Gift cards never expire and can be used in any store."


def test_a_call_on_postgresql_is_answered_from_the_database_index(tmp_path: Path, postgres_url: str) -> None:
    import asyncio
    import datetime as dt
    import shutil

    import sqlalchemy as sa

    from postcall.channels.base import message_activity
    from postcall.clock import FixedClock
    from postcall.lifecycle.runtime import open_runtime

    root = tmp_path / "kb"
    shutil.copytree(Path(__file__).resolve().parent / "agents" / "kb", root, ignore=shutil.ignore_patterns(".postcall"))
    start = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    rt = open_runtime(root, database_url=postgres_url, clock=FixedClock(start))
    try:
        asyncio.run(rt.sessions.start("CA-pg", channel="twilio", caller="+15550100111", event_id="CA-pg:0"))
        activity = message_activity("CA-pg:1", start, channel_id="twilio", text="what are your opening hours on saturdays")
        outcome = asyncio.run(rt.sessions.handle("CA-pg", activity, event_id="CA-pg:1"))
        said = [o.text for o in outcome.outputs if type(o).__name__ == "Say"]  # type: ignore[attr-defined]
        assert any("Saturdays we open at 10 am" in s for s in said), said
        with rt.store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM knowledge_passages")).scalar() > 0
        assert not (rt.settings.data_dir / "knowledge.sqlite3").exists()
    finally:
        rt.close()


def test_workers_starting_together_on_postgresql_build_the_index_once(agent: Path, postgres_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from postcall.store import open_store

    store = open_store(postgres_url)
    try:
        workers = [open_agent_index(agent, store=store) for _ in range(3)]
        with ThreadPoolExecutor(3) as pool:
            rebuilt = list(pool.map(lambda index: index.ensure(), workers))
        assert sorted(rebuilt) == [False, False, True]  # the advisory lock: one builds, the others find it built
        assert {w.passage_count for w in workers} == {workers[0].passage_count} and workers[0].passage_count > 0
    finally:
        store.close()


POST_CALL_SEARCH = """\
kind: AdaptiveDialog
beginDialog:
  kind: OnActivity
  id: main
  type: EndOfConversation
  actions:
    - kind: SearchAndSummarizeContent
      id: search
      userInput: ="do gift cards expire"
      autoSend: false
      variable: Topic.Answer
    - kind: HttpRequestAction
      id: log
      method: Post
      url: http://127.0.0.1:9/log
      body:
        kind: JsonRequestContent
        content: "={answer: Topic.Answer}"
"""


def test_a_worker_on_postgresql_searches_the_database_index(agent: Path, postgres_url: str) -> None:
    """A post-call worker (`postcall worker --db postgresql://...`) registers the agent with the store
    it runs on, so its topics search the same index the server's calls do, not an FTS5 file."""
    import datetime as dt

    from postcall.durable.program import ProgramRegistry
    from postcall.engine import Engine
    from postcall.engine.activity import Activity
    from postcall.lifecycle.programs import PROGRAM, register_agent_at, topic_runs
    from postcall.store import open_store
    from postcall.topics import load_agent
    from postcall.vocabulary import ActivityType

    (agent / "topics" / "Logged.topic.yaml").write_text(POST_CALL_SEARCH)
    loaded = load_agent(agent).agent
    assert loaded is not None
    engine = Engine(loaded)
    t0 = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC)
    state = engine.new_state("kb-worker-1", now=t0)
    ended = engine.turn(state, Activity(type=ActivityType.END_OF_CONVERSATION, id="1", timestamp=t0,
                                        value={"initiator": "caller"}), now=t0)
    assert ended.end_snapshot is not None and ended.post_call_topics == ("Logged",)
    store = open_store(postgres_url)
    try:
        programs = ProgramRegistry()
        register_agent_at(programs, agent, store=store)
        (run,) = topic_runs(ended.post_call_topics, ended.end_snapshot)
        request = programs.build(PROGRAM, dict(run.input)).start()
        assert request is not None and "Gift cards never expire" in request.to_json()["payload"]["body"]
        assert not open_agent_index(agent).path.exists()  # nothing was indexed into an FTS5 file
    finally:
        store.close()
