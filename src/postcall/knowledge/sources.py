"""An agent's knowledge sources, found on disk.

Copilot Studio exports a file uploaded as knowledge as an entry (`knowledge/files/<x>.mcs.yml`,
`mcs.metadata.componentName: Handbook.pdf`) without its content.  The operator places the
document itself under `knowledge/files/`; an entry is matched to it by name (exactly, then
ignoring case, then by the name without its extension).  An entry with no document is not a
fault: the source is simply empty, and `check` warns.  A document there without an entry is a
source of its own.  A `PublicSiteSearchSource` entry (`knowledge/<x>.mcs.yml`, `site: <url>`) is a
website source; `postcall knowledge sync` saves its pages under `knowledge/sites/<x>/`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from postcall.knowledge.documents import SUFFIXES
from postcall.knowledge.types import KnowledgeProblem


@dataclass(frozen=True, slots=True)
class Source:
    """One knowledge source: its name, the names topics may refer to it by, its documents."""

    name: str
    kind: str  # "file" or "site"
    documents: tuple[Path, ...] = ()
    url: str | None = None
    include_sub_pages: bool = True
    aliases: tuple[str, ...] = field(default=())
    entry: Path | None = None

    def matches(self, reference: str) -> bool:
        """Whether a topic's reference (a schema name like `cr1_bot.knowledge.Handbook_x1Y` or a
        plain name) names this source."""
        ref = reference.strip().lower()
        last = ref.rsplit(".", 1)[-1] if ".knowledge." in ref or ".file." in ref else ref
        for alias in (self.name, *self.aliases):
            a = alias.lower()
            if ref == a or last == a or ref.endswith("." + a):
                return True
        return False


def _entry(path: Path) -> dict[str, object] | None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _component_name(data: dict[str, object]) -> str | None:
    meta = data.get("mcs.metadata")
    if isinstance(meta, dict) and isinstance(meta.get("componentName"), str):
        return str(meta["componentName"]).strip() or None
    return None


def _find_document(folder: Path, name: str) -> Path | None:
    exact = folder / name
    if exact.is_file():
        return exact
    candidates = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES] if folder.is_dir() else []
    for p in candidates:
        if p.name.lower() == name.lower():
            return p
    stem = Path(name).stem.lower()
    for p in candidates:
        if p.stem.lower() == stem:
            return p
    return None


def _rel(root: Path, path: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def find_sources(root: Path) -> tuple[list[Source], list[KnowledgeProblem]]:
    """Every knowledge source of the agent at `root`, and what is wrong with them."""
    knowledge = root / "knowledge"
    files = knowledge / "files"
    sources: list[Source] = []
    problems: list[KnowledgeProblem] = []
    claimed: set[Path] = set()
    for entry in sorted(files.glob("*.mcs.yml")) if files.is_dir() else []:
        data = _entry(entry)
        if data is None:
            problems.append(KnowledgeProblem(_rel(root, entry), "is not a readable knowledge file entry (YAML mapping)."))
            continue
        component = _component_name(data) or entry.name.removesuffix(".mcs.yml")
        stem = entry.name.removesuffix(".mcs.yml")
        document = _find_document(files, component)
        if document is None:
            problems.append(KnowledgeProblem(
                _rel(root, entry),
                f"knowledge file {component!r} has no document: the export does not carry its content; "
                f"place it at {_rel(root, files / component)} (generative answers skip this source until then).",
            ))
        else:
            claimed.add(document.resolve())
        sources.append(Source(
            name=component, kind="file", documents=(document,) if document else (),
            aliases=(stem, Path(component).stem), entry=entry,
        ))
    for doc in sorted(files.iterdir()) if files.is_dir() else []:
        if doc.is_symlink() and not doc.exists():
            problems.append(KnowledgeProblem(
                _rel(root, doc), f"is a symbolic link to {os.readlink(doc)!r}, which does not exist; it is not indexed."))
            continue
        if doc.is_file() and doc.suffix.lower() in SUFFIXES and doc.resolve() not in claimed:
            sources.append(Source(name=doc.name, kind="file", documents=(doc,), aliases=(doc.stem,)))
    for entry in sorted(knowledge.glob("*.mcs.yml")) if knowledge.is_dir() else []:
        data = _entry(entry)
        if data is None or data.get("kind") != "PublicSiteSearchSource":
            continue
        stem = entry.name.removesuffix(".mcs.yml")
        site = data.get("site")
        if not isinstance(site, str) or not site.startswith(("http://", "https://")):
            problems.append(KnowledgeProblem(_rel(root, entry), f"PublicSiteSearchSource has no http(s) site ({site!r})."))
            continue
        pages = knowledge / "sites" / stem
        documents = tuple(sorted(p for p in pages.glob("*") if p.suffix.lower() in SUFFIXES)) if pages.is_dir() else ()
        sources.append(Source(
            name=_component_name(data) or stem, kind="site", documents=documents, url=site,
            include_sub_pages=bool(data.get("includeSubPages", True)), aliases=(stem,), entry=entry,
        ))
    return sources, problems
