"""What every admin API route shares: the bearer-token check, the runtime, documented error answers."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials

from postcall.server.api.models import Problem
from postcall.server.auth import bearer_scheme, require_admin_token
from postcall.server.runtime import ServerRuntime
from postcall.store import Store

# Ids and free text in paths and queries: no control characters (PostgreSQL refuses NUL).
SAFE_TEXT = r"^[^\x00-\x1f\x7f]+$"
MAX_ID_LENGTH = 500


def api_auth(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> None:
    require_admin_token(request, credentials)


def runtime_of(request: Request) -> ServerRuntime:
    runtime: ServerRuntime = request.app.state.runtime
    return runtime


def store_of(request: Request) -> Store:
    store: Store = request.app.state.runtime.store
    return store


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A naive time from a query is taken as UTC."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def not_found(what: str, ident: str) -> HTTPException:
    shown = ident if len(ident) <= 80 else ident[:80] + "..."
    return HTTPException(status_code=404, detail=f"No {what} {shown!r}.")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Missing or wrong admin token."},
    422: {"model": Problem, "description": "A parameter is invalid; `detail` names it."},
}
NOT_FOUND_RESPONSE: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "No such record."},
}
