"""Documents that cannot be read as they are get a `check` diagnostic naming their path (review-12
#10): a text file that is not UTF-8 is read as Windows-1252 (not as replacement characters) and
noted; a dangling symbolic link and a PDF with no text layer are named, the rest is indexed."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from click.testing import CliRunner
from pypdf import PdfWriter

from postcall.cli.main import cli
from postcall.knowledge.documents import decode_text
from postcall.knowledge.index import KnowledgeIndex

KB = Path(__file__).resolve().parent / "agents" / "kb"


def _agent(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(KB, root, ignore=shutil.ignore_patterns(".postcall"))
    files = root / "knowledge" / "files"
    (files / "cafe.txt").write_bytes("Our Café opens at nine on Sundays. The crème brûlée costs 5 €.".encode("cp1252"))
    (files / "ghost.txt").symlink_to(files / "moved-away.txt")
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    scanned = io.BytesIO()
    writer.write(scanned)
    (files / "scanned.pdf").write_bytes(scanned.getvalue())
    return root


def test_each_problem_names_its_path_and_the_rest_is_indexed(tmp_path: Path) -> None:
    root = _agent(tmp_path)
    index = KnowledgeIndex(root)
    index.ensure()
    problems = {p.path: p.message for p in index.problems}
    assert "not UTF-8" in problems["knowledge/files/cafe.txt"] and "Windows-1252" in problems["knowledge/files/cafe.txt"]
    assert "does not exist" in problems["knowledge/files/ghost.txt"]
    assert "no text layer" in problems["knowledge/files/scanned.pdf"]
    (best, *_) = index.search("when does the cafe open on sundays")
    assert "Our Café opens at nine on Sundays." in best.text and "\ufffd" not in best.text
    assert "crème brûlée costs 5 €" in best.text
    assert index.search("saturday opening hours")  # the good documents are still there
    out = CliRunner().invoke(cli, ["check", str(root)]).output
    for path in ("knowledge/files/cafe.txt", "knowledge/files/ghost.txt", "knowledge/files/scanned.pdf"):
        assert f"{path}:1:1: warning KNW300" in out, out


def test_text_with_a_byte_order_mark_or_in_utf8_is_not_noted(tmp_path: Path) -> None:
    notes: list[str] = []
    here = tmp_path / "a.txt"
    assert decode_text("Café".encode(), here, notes) == "Café"
    assert decode_text("\ufeffCafé".encode(), here, notes) == "Café"
    assert decode_text("Café".encode("utf-16"), here, notes) == "Café"
    assert notes == []
    assert decode_text(b"Caf\xe9", here, notes) == "Café" and len(notes) == 1 and "a.txt" in notes[0]
