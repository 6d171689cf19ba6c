"""The console's pages: dashboard, conversations, a conversation's timeline and runs, failed runs, topics.

Pages read through the same functions as the REST API (so both show the same thing) and never
fail on a bad query string: a filter that does not parse is named on the page and ignored.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, cast
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from postcall.server.api import conversations as conv_api
from postcall.server.api import runs as runs_api
from postcall.server.api.summary import build_summary
from postcall.server.api.topics import build_topics
from postcall.server.api.views import run_detail
from postcall.server.auth import Session
from postcall.server.console.chart import (
    RANGES,
    ChartBucket,
    RangeName,
    legend_reasons,
    render_chart,
)
from postcall.server.console.web import (
    LIVE_REFRESH_SECONDS,
    base_path,
    current_session,
    form_of,
    login_redirect,
    render,
    safe_next,
    templates,
)
from postcall.store import Store
from postcall.vocabulary import KNOWN_END_REASONS

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
MAX_FILTER_LENGTH = 200


# ----------------------------------------------------------------------------------------------
# Jinja filters


def _when(value: dt.datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(dt.UTC).strftime("%b %d, %H:%M:%S")


def _clock(value: dt.datetime | None) -> str:
    return "" if value is None else value.astimezone(dt.UTC).strftime("%H:%M:%S")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = float(seconds)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%".replace(".0%", "%")


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


def _http_pretty(view: Any) -> str:
    """A request or response view with a JSON body shown as JSON rather than as a string."""
    if isinstance(view, dict) and isinstance(view.get("body"), str):
        try:
            view = {**view, "body": json.loads(view["body"])}
        except ValueError:
            pass
    return _pretty(view)


templates.env.filters.update(
    when=_when, clock=_clock, duration=_duration, pct=_pct, pretty=_pretty, http_pretty=_http_pretty
)
templates.env.globals["known_reasons"] = KNOWN_END_REASONS


# ----------------------------------------------------------------------------------------------
# Helpers


def _session_or_login(request: Request) -> Session | Response:
    session, _ = current_session(request)
    if not session.authenticated:
        return login_redirect(request)
    return session


def _store(request: Request) -> Store:
    store: Store = request.app.state.runtime.store
    return store


def _parse_time(raw: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(raw.strip())
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _int(raw: str | None, default: int, low: int, high: int) -> int:
    try:
        value = int(raw) if raw else default
    except ValueError:
        return default
    return min(max(value, low), high)


# ----------------------------------------------------------------------------------------------
# Dashboard


@router.get("/console")
async def dashboard(request: Request) -> Response:
    session = _session_or_login(request)
    if isinstance(session, Response):
        return session
    window = request.query_params.get("range", "24h")
    if window not in RANGES:
        window = "24h"
    runtime = request.app.state.runtime
    now = dt.datetime.now(dt.UTC)

    def load() -> dict[str, Any]:
        summary = build_summary(runtime, cast(RangeName, window), now)
        failed = runtime.store.list_runs(status="failed", limit=8)
        recent = runtime.store.list_conversations(limit=8)
        return {"summary": summary, "failed": failed, "recent": recent}

    data = await run_in_threadpool(load)
    summary = data["summary"]
    buckets = [ChartBucket(b.start, b.end, b.counts) for b in summary.buckets]
    return render(request, session, "dashboard.html", {
        "title": "Dashboard",
        "active": "dashboard",
        "window": window,
        "windows": list(RANGES),
        "summary": summary,
        "chart": render_chart(buckets, range_name=window),
        "legend": legend_reasons(buckets),
        "failed_runs": data["failed"],
        "recent": data["recent"],
        "watchdog_failures": list(runtime.watchdog_failures())[:20],
        "live_count": summary.live_conversations,
        "refresh": LIVE_REFRESH_SECONDS if summary.live_conversations else 0,
    })


# ----------------------------------------------------------------------------------------------
# Conversations


@router.get("/console/conversations")
async def conversations(request: Request) -> Response:
    session = _session_or_login(request)
    if isinstance(session, Response):
        return session
    q = request.query_params
    problems: list[str] = []
    filters: dict[str, Any] = {}
    status = q.get("status", "")
    if status in ("live", "ended"):
        filters["status"] = status
    elif status:
        problems.append(f"Status {status[:40]!r} is not live or ended.")
    reason = q.get("end_reason", "")
    if reason in KNOWN_END_REASONS:
        filters["end_reason"] = reason
    elif reason:
        problems.append(f"End reason {reason[:40]!r} is not a known end reason.")
    caller = q.get("caller", "").strip()
    if caller:
        if len(caller) > MAX_FILTER_LENGTH or any(ord(c) < 32 or ord(c) == 127 for c in caller):
            problems.append("The caller filter is too long or holds control characters.")
        else:
            filters["caller"] = caller
    for name, label in (("started_after", "From"), ("started_before", "To")):
        raw = q.get(name, "").strip()
        if raw:
            try:
                filters[name] = _parse_time(raw)
            except ValueError:
                problems.append(f"{label} {raw[:40]!r} is not a date and time (YYYY-MM-DDTHH:MM).")
    offset = _int(q.get("offset"), 0, 0, 10_000_000)
    page = await run_in_threadpool(
        conv_api.list_page, _store(request),
        status=filters.get("status"), end_reason=filters.get("end_reason"),
        caller=filters.get("caller"), started_after=filters.get("started_after"),
        started_before=filters.get("started_before"), limit=PAGE_SIZE, offset=offset,
    )
    any_live = any(c.status == "live" for c in page.items)
    return render(request, session, "conversations.html", {
        "title": "Conversations",
        "active": "conversations",
        "page": page,
        "q": {k: q.get(k, "") for k in ("status", "end_reason", "caller", "started_after", "started_before")},
        "reasons": KNOWN_END_REASONS,
        "problems": problems,
        "query_without_offset": _query_without(request, "offset"),
        "refresh": LIVE_REFRESH_SECONDS if any_live else 0,
    })


def _query_without(request: Request, key: str) -> str:
    return urlencode([(k, v) for k, v in request.query_params.multi_items() if k != key])


@router.get("/console/conversations/{conversation_id:path}")
async def conversation(request: Request, conversation_id: str) -> Response:
    session = _session_or_login(request)
    if isinstance(session, Response):
        return session
    store = _store(request)
    agent = request.app.state.runtime.agent

    def load() -> Any:
        found = conv_api.detail(store, conversation_id)
        if found is None:
            return None
        runs = [store.get_run(r.id, with_steps=True) for r in found.runs]
        return found, [run_detail(r, agent) for r in runs if r is not None]

    loaded = await run_in_threadpool(load) if len(conversation_id) <= 500 else None
    if loaded is None:
        return _not_found(request, session, "conversation", conversation_id)
    detail, runs = loaded
    busy = detail.status == "live" or any(r.status in ("pending", "running") for r in runs)
    return render(request, session, "conversation.html", {
        "title": f"Conversation {conversation_id}",
        "active": "conversations",
        "c": detail,
        "runs": runs,
        "watchdog_failure": next((f for f in request.app.state.runtime.watchdog_failures()
                                  if f.conversation_id == conversation_id), None),
        "variables": detail.variables,
        "refresh": LIVE_REFRESH_SECONDS if busy else 0,
        "here": request.url.path,
    })


def _not_found(request: Request, session: Session, what: str, ident: str) -> Response:
    return render(request, session, "not_found.html", {
        "title": "Not found", "what": what, "ident": ident[:200],
    }, status_code=404)


# ----------------------------------------------------------------------------------------------
# Runs


@router.get("/console/runs")
async def runs(request: Request) -> Response:
    session = _session_or_login(request)
    if isinstance(session, Response):
        return session
    status = request.query_params.get("status", "failed")
    if status not in ("pending", "running", "succeeded", "failed", "all"):
        status = "failed"
    offset = _int(request.query_params.get("offset"), 0, 0, 10_000_000)
    page = await run_in_threadpool(
        runs_api.list_page, _store(request), status=None if status == "all" else status,
        conversation_id=None, topic=None, limit=PAGE_SIZE, offset=offset,
    )
    busy = any(r.status in ("pending", "running") for r in page.items)
    return render(request, session, "runs.html", {
        "title": "Post-call runs",
        "active": "runs",
        "page": page,
        "status": status,
        "statuses": ("failed", "pending", "running", "succeeded", "all"),
        "refresh": LIVE_REFRESH_SECONDS if busy else 0,
        "here": str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
    })


@router.get("/console/runs/{run_id:path}")
async def run(request: Request, run_id: str) -> Response:
    session = _session_or_login(request)
    if isinstance(session, Response):
        return session
    store = _store(request)
    agent = request.app.state.runtime.agent

    def load() -> Any:
        found = store.get_run(run_id, with_steps=True)
        return None if found is None else run_detail(found, agent)

    detail = await run_in_threadpool(load) if len(run_id) <= 500 else None
    if detail is None:
        return _not_found(request, session, "post-call run", run_id)
    return render(request, session, "run.html", {
        "title": f"Run {detail.topic}",
        "active": "runs",
        "r": detail,
        "refresh": LIVE_REFRESH_SECONDS if detail.status in ("pending", "running") else 0,
        "here": request.url.path,
    })


@router.post("/console/runs/{run_id:path}/redrive")
async def redrive(request: Request, run_id: str) -> Response:
    session = _session_or_login(request)
    if isinstance(session, Response):
        return session
    form = await form_of(request)
    back = safe_next(form.get("next") or f"/console/runs/{run_id}")
    joiner = "&" if "?" in back else "?"
    if not session.csrf_matches(form.get("csrf_token")):
        return RedirectResponse(f"{base_path(request)}{back}{joiner}flash=csrf", status_code=303)
    try:
        await run_in_threadpool(runs_api.redrive, _store(request), run_id)
    except HTTPException as exc:
        flash = "not-failed" if exc.status_code == 409 else "csrf"
        if exc.status_code == 404:
            return _not_found(request, session, "post-call run", run_id)
        return RedirectResponse(f"{base_path(request)}{back}{joiner}flash={flash}", status_code=303)
    return RedirectResponse(f"{base_path(request)}{back}{joiner}flash=redriven", status_code=303)


# ----------------------------------------------------------------------------------------------
# Topics


@router.get("/console/topics")
async def topics(request: Request) -> Response:
    session = _session_or_login(request)
    if isinstance(session, Response):
        return session
    data = build_topics(request.app.state.runtime)
    ordered = sorted(data.topics, key=lambda t: (not t.post_call, t.trigger.kind, t.name))
    unattached = [d for d in data.diagnostics
                  if not any(d in t.diagnostics for t in data.topics)]
    return render(request, session, "topics.html", {
        "title": "Topics",
        "active": "topics",
        "data": data,
        "topics": ordered,
        "unattached": unattached,
        "errors": sum(1 for d in data.diagnostics if d.severity == "error"),
        "warnings": sum(1 for d in data.diagnostics if d.severity == "warning"),
    })
