"""The ASGI application: admin REST API, console, health, metrics, and the channels' routes.

`create_app(runtime)` builds it from a `ServerRuntime` that the lifecycle layer provides; this
module names exactly what the server uses of it.  The admin side (API, console, metrics) needs the
admin token; `/healthz`, `/readyz`, the OpenAPI document and the channels' webhooks do not (the
webhooks are authenticated by their providers' signatures).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from postcall import __version__
from postcall.diagnostics import Diagnostic
from postcall.lifecycle.watchdog import WatchdogFailure
from postcall.server.api.conversations import router as conversations_router
from postcall.server.api.health import router as health_router
from postcall.server.api.runs import router as runs_router
from postcall.server.api.summary import router as summary_router
from postcall.server.api.topics import router as topics_router
from postcall.server.auth import REVOKED_FILE, SessionCodec, SessionRevocations, load_admin_auth
from postcall.server.console.auth_routes import router as console_auth_router
from postcall.server.console.pages import router as console_router
from postcall.server.console.web import HERE as CONSOLE_DIR
from postcall.server.console.web import base_path, templates
from postcall.server.edges import InputGuardMiddleware
from postcall.server.metrics import RequestObservabilityMiddleware, build_registry
from postcall.server.security import SecurityHeadersMiddleware
from postcall.server.throttle import AuthMetrics, LoginThrottle
from postcall.store import Store
from postcall.topics import Agent


class ServerSettings(Protocol):
    """The settings the server reads (the lifecycle's settings object may hold more)."""

    @property
    def public_base_url(self) -> str | None:
        """The URL clients use (e.g. behind a TLS proxy); https here turns on HSTS and Secure cookies."""
        ...

    @property
    def data_dir(self) -> Path:
        """Where the admin token's hash and the session key are kept (`.postcall/` beside the agent)."""
        ...


class ServerRuntime(Protocol):
    """Exactly what `create_app` uses of the runtime the lifecycle layer provides."""

    @property
    def agent(self) -> Agent | None:
        """The loaded agent (None when it failed to load: the console then shows the diagnostics)."""
        ...

    @property
    def diagnostics(self) -> Sequence[Diagnostic]:
        """Every diagnostic of the agent's load."""
        ...

    @property
    def store(self) -> Store:
        """The store: conversations, runs, redrive, heartbeats (readiness reads executors' beats)."""
        ...

    @property
    def settings(self) -> ServerSettings: ...

    @property
    def channel_router(self) -> APIRouter | None:
        """The channels' routes (`/channels/*`), mounted without the admin token."""
        ...

    def live_conversations(self) -> int:
        """Conversations in progress (for the dashboard, the live pill and the metric)."""
        ...

    def watchdog_failures(self) -> Sequence[WatchdogFailure]:
        """Live conversations this process's watchdog fails to act on (console and metrics)."""
        ...

    def watchdog_failure_count(self) -> int:
        """Watchdog failures since this process started (the `postcall_watchdog_failures` metric)."""
        ...


LOGIN_MAX_FAILURES = 5  # wrong tokens per minute per address (or token prefix) at the console
API_MAX_FAILURES = 30  # ... and as bearer tokens on the API (scripts retry; humans type)

API_DESCRIPTION = """\
The admin API of a postcall server: conversations with their end reasons, transcripts and end
records; post-call runs step by step (secrets redacted); redrive of failed runs; the agent's
topics with their diagnostics.

Every route under `/api` needs `Authorization: Bearer <admin token>`.
"""


def create_app(runtime: ServerRuntime) -> FastAPI:
    """The server's ASGI app for this runtime."""
    settings = runtime.settings
    app = FastAPI(
        title="postcall",
        version=__version__,
        description=API_DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    auth = load_admin_auth(Path(settings.data_dir))
    registry, http_metrics = build_registry(runtime)
    auth_metrics = AuthMetrics(registry)
    app.state.login_throttle = LoginThrottle("console", auth_metrics, max_failures=LOGIN_MAX_FAILURES)
    app.state.api_throttle = LoginThrottle("api", auth_metrics, max_failures=API_MAX_FAILURES)
    app.state.runtime = runtime
    app.state.admin_auth = auth
    app.state.session_codec = SessionCodec(
        auth, revocations=SessionRevocations(Path(settings.data_dir) / REVOKED_FILE)
    )
    app.state.public_base_url = settings.public_base_url
    app.state.registry = registry
    _install_error_handlers(app)

    for router in (health_router, conversations_router, runs_router, topics_router,
                   summary_router, console_auth_router, console_router):
        app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=str(CONSOLE_DIR / "static")), name="static")

    @app.get("/docs", include_in_schema=False)
    async def api_docs(request: Request) -> Response:
        return templates.TemplateResponse(request, "apidocs.html", {"base": base_path(request)})

    if runtime.channel_router is not None:
        app.include_router(runtime.channel_router)

    # Outermost last: security headers wrap everything, including the clean 500.
    app.add_middleware(InputGuardMiddleware)
    app.add_middleware(RequestObservabilityMiddleware, metrics=http_metrics)
    app.add_middleware(SecurityHeadersMiddleware, public_base_url=settings.public_base_url)
    return app


def _field_name(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    where = {"query": "query parameter", "path": "path parameter", "header": "header",
             "cookie": "cookie", "body": "body field"}.get(parts[0] if parts else "", "field")
    name = ".".join(parts[1:]) if len(parts) > 1 else (parts[0] if parts else "?")
    if where == "body field" and len(parts) == 1:
        return "request body"
    return f"{where} {name!r}"


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for err in exc.errors():
            loc = tuple(err.get("loc", ()))
            errors.append({"field": _field_name(loc), "loc": [str(p) for p in loc],
                           "message": str(err.get("msg", "is invalid")).rstrip(".")})
        first = errors[0] if errors else {"field": "request", "message": "is invalid"}
        detail = f"Bad {first['field']}: {first['message']}."
        return JSONResponse(status_code=422, content={"detail": detail, "errors": errors})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code, content={"detail": exc.detail}, headers=exc.headers
        )

    # Any other exception is a genuine bug: RequestObservabilityMiddleware logs it with its
    # traceback and answers a plain 500 that leaks nothing.
