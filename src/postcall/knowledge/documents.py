"""Text out of documents, and passages out of text.

Each format goes through the library made for it: BeautifulSoup for HTML (scripts, styles and
navigation dropped), pypdf for PDF, python-docx for DOCX (paragraphs and table cells).  An
unreadable document raises `DocumentError` naming it; the index goes on with the others.
"""

from __future__ import annotations

import re
from pathlib import Path

SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")
PASSAGE_WORDS = 90
"""A passage is about this many words (whole sentences): short enough that the best one holds
a spoken answer, long enough to keep a sentence with its context."""


class DocumentError(Exception):
    """A document that cannot be read (corrupt, encrypted, not the format its name says)."""


def html_text(html: str) -> tuple[str, str | None]:
    """(text, title) of an HTML page."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    for tag in soup(["script", "style", "noscript", "nav", "header", "footer", "template", "svg"]):
        tag.decompose()
    blocks = [el.get_text(" ", strip=True) for el in soup.find_all(["h1", "h2", "h3", "h4", "p", "li", "td", "th", "pre", "blockquote", "dd", "dt"])]
    text = "\n\n".join(b for b in blocks if b)
    if not text.strip():
        text = soup.get_text("\n", strip=True)
    return text, title


def _markdown_text(text: str) -> str:
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"^[ \t]{0,3}(#{1,6}|[-*+]|\d+\.)[ \t]+", "", text, flags=re.M)
    return re.sub(r"[*_`>|]", " ", text)


def read_document(path: Path) -> tuple[str, str]:
    """(text, title) of a document; DocumentError if it cannot be read."""
    suffix = path.suffix.lower()
    title = path.stem
    try:
        if suffix in (".txt",):
            return path.read_text(encoding="utf-8", errors="replace"), title
        if suffix in (".md", ".markdown"):
            return _markdown_text(path.read_text(encoding="utf-8", errors="replace")), title
        if suffix in (".html", ".htm"):
            text, found = html_text(path.read_text(encoding="utf-8", errors="replace"))
            return text, found or title
        if suffix == ".pdf":
            import logging

            from pypdf import PdfReader

            logging.getLogger("pypdf").setLevel(logging.ERROR)  # its repair notes are not ours to print
            reader = PdfReader(str(path))
            if reader.is_encrypted:
                raise DocumentError(f"{path.name} is an encrypted PDF; save it without a password.")
            pages = [page.extract_text() or "" for page in reader.pages]
            return "\n\n".join(pages), title
        if suffix == ".docx":
            import docx

            document = docx.Document(str(path))
            parts = [p.text for p in document.paragraphs]
            for table in document.tables:
                for row in table.rows:
                    parts.append(" | ".join(cell.text for cell in row.cells))
            return "\n\n".join(parts), title
    except DocumentError:
        raise
    except Exception as exc:  # each library raises its own errors for a broken file
        raise DocumentError(f"{path.name} cannot be read as {suffix[1:].upper()}: {type(exc).__name__}: {exc}") from exc
    raise DocumentError(f"{path.name}: {suffix or 'no extension'} is not a document kind postcall reads ({', '.join(SUFFIXES)}).")


_SENTENCES = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def sentences(text: str) -> list[str]:
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        block = " ".join(block.split())
        if block:
            out.extend(s.strip() for s in _SENTENCES.split(block) if s.strip())
    return out


def passages(text: str, *, words: int = PASSAGE_WORDS) -> list[str]:
    """Whole sentences grouped into passages of about `words` words (paragraph breaks kept)."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        current: list[str] = []
        count = 0
        for sentence in sentences(block):
            n = len(sentence.split())
            if current and count + n > words:
                out.append(" ".join(current))
                current, count = [], 0
            current.append(sentence)
            count += n
        if current:
            out.append(" ".join(current))
    # very short blocks (headings) join the passage after them
    merged: list[str] = []
    carry = ""
    for p in out:
        if len(p.split()) < 6 and not p.rstrip().endswith((".", "!", "?")):
            carry = f"{carry} {p}".strip()
            continue
        merged.append(f"{carry}\n{p}" if carry else p)
        carry = ""
    if carry:
        merged.append(carry)
    return merged
