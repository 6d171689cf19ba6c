"""`postcall knowledge sync`: website sources fetched into the agent folder, never at call time.

Each `PublicSiteSearchSource` entry's `site` is fetched through the action layer (agent.yaml
`allowed_hosts`, the private-address refusal, timeouts, retries with Retry-After), and, when
`includeSubPages` is true, the pages it links to under the same host and path, breadth first, up
to `max_pages`.  Pages are saved as `knowledge/sites/<entry>/<n>.html` with their URL beside
them (`<n>.html.url`), so they deploy with the agent like any document and the index is rebuilt
from them; pages no longer reached are removed.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx
from bs4 import BeautifulSoup

from postcall.actions import ActionRequest
from postcall.actions.execute import execute_action
from postcall.actions.http import http_client
from postcall.actions.settings import ActionSettings
from postcall.knowledge.sources import Source, find_sources

MAX_PAGES = 20


@dataclass
class SyncReport:
    source: str
    pages: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _links(html: str, base: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    out = []
    for a in soup.find_all("a", href=True):
        href = str(a.get("href") or "")
        url = urldefrag(urljoin(base, href))[0]
        if url.startswith(("http://", "https://")):
            out.append(url)
    return out


def _within(url: str, site: str) -> bool:
    u, s = urlsplit(url), urlsplit(site)
    prefix = s.path.rsplit("/", 1)[0] if not s.path.endswith("/") else s.path
    return u.netloc == s.netloc and u.path.startswith(prefix or "/")


async def _fetch(url: str, settings: ActionSettings, client: httpx.AsyncClient) -> tuple[str | None, str | None]:
    request = ActionRequest(
        kind="http", node_id="knowledge-sync", topic="knowledge", conversation_id="sync",
        idempotency_key=f"sync:{uuid.uuid4().hex}", payload={"method": "GET", "url": url, "headers": {"Accept": "text/html"}},
    )
    result = await execute_action(request, settings, http_client=client)
    if not result.ok:
        return None, result.error or f"HTTP {result.status_code}"
    content_type = result.headers.get("content-type", "")
    if "html" not in content_type and "text" not in content_type:
        return None, f"{url} is {content_type or 'not text'}, not a web page"
    return result.body or "", None


async def sync_source(root: Path, source: Source, settings: ActionSettings, *, max_pages: int = MAX_PAGES) -> SyncReport:
    report = SyncReport(source.name)
    assert source.url is not None and source.entry is not None
    folder = root / "knowledge" / "sites" / source.entry.name.removesuffix(".mcs.yml")
    staging = folder.with_name(folder.name + ".syncing")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    queue, seen = [source.url], {source.url}
    async with http_client() as client:
        while queue and len(report.pages) < max_pages:
            url = queue.pop(0)
            html, error = await _fetch(url, settings, client)
            if error is not None or html is None:
                report.errors.append(error or url)
                continue
            name = hashlib.sha256(url.encode()).hexdigest()[:16] + ".html"
            (staging / name).write_text(html, encoding="utf-8")
            (staging / (name + ".url")).write_text(url, encoding="utf-8")
            report.pages.append(url)
            if source.include_sub_pages:
                for link in _links(html, url):
                    if link not in seen and _within(link, source.url):
                        seen.add(link)
                        queue.append(link)
    if report.pages:  # replace the old pages only with a successful sync
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
    else:
        shutil.rmtree(staging, ignore_errors=True)
    return report


def sync_sites(root: Path, settings: ActionSettings, *, only: str | None = None, max_pages: int = MAX_PAGES) -> list[SyncReport]:
    sources, _ = find_sources(root)
    sites = [s for s in sources if s.kind == "site" and (only is None or s.matches(only))]
    return [asyncio.run(sync_source(root, s, settings, max_pages=max_pages)) for s in sites]
