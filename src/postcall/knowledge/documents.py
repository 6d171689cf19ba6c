"""Text out of documents, and passages out of text.

Each format goes through the library made for it: BeautifulSoup for HTML (scripts, styles and
navigation dropped), pypdf for PDF, python-docx for DOCX (paragraphs and table cells).  An
unreadable document raises `DocumentError` naming it; the index goes on with the others.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import docx
from bs4 import BeautifulSoup
from pypdf import PdfReader

SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")
PASSAGE_WORDS = 90
"""A passage is about this many words (whole sentences): short enough that the best one holds
a spoken answer, long enough to keep a sentence with its context."""


class DocumentError(Exception):
    """A document that cannot be read (corrupt, encrypted, not the format its name says)."""


def html_text(html: str) -> tuple[str, str | None]:
    """(text, title) of an HTML page."""
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


_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
FALLBACK_ENCODING = "cp1252"
"""Text that is not UTF-8 (and has no byte-order mark) is read as Windows-1252, the encoding of
most such files (saved by Windows editors and Office); statistical detection guesses wrong on
short Western text (a "Café" read as Central European), so it is not used."""


def decode_text(data: bytes, path: Path, notes: list[str] | None = None) -> str:
    """The text of a plain-text document: by its byte-order mark, else UTF-8, else Windows-1252
    (noted in `notes`, naming the file, for `check`)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if notes is not None:
            notes.append(f"{path.name} is not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); it was read as "
                         f"Windows-1252: save it as UTF-8 if its words look wrong.")
        return data.decode(FALLBACK_ENCODING, errors="replace")


def read_document(path: Path, notes: list[str] | None = None) -> tuple[str, str]:
    """(text, title) of a document; DocumentError if it cannot be read.  What was read but
    needs a look (a text file that is not UTF-8) is appended to `notes`."""
    suffix = path.suffix.lower()
    title = path.stem
    try:
        if suffix in (".txt",):
            return decode_text(path.read_bytes(), path, notes), title
        if suffix in (".md", ".markdown"):
            return _markdown_text(decode_text(path.read_bytes(), path, notes)), title
        if suffix in (".html", ".htm"):
            text, found = html_text(decode_text(path.read_bytes(), path, notes))
            return text, found or title
        if suffix == ".pdf":
            logging.getLogger("pypdf").setLevel(logging.ERROR)  # its repair notes are not ours to print
            reader = PdfReader(str(path))
            if reader.is_encrypted:
                raise DocumentError(f"{path.name} is an encrypted PDF; save it without a password.")
            pages = [page.extract_text() or "" for page in reader.pages]
            if reader.pages and not any(page.strip() for page in pages):
                raise DocumentError(f"{path.name} has no text layer (a scanned PDF?); nothing of it is indexed: "
                                    "run OCR on it or place a text version beside it.")
            return "\n\n".join(pages), title
        if suffix == ".docx":
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
