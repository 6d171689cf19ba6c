"""A small real CRM for the examples, tests and benchmarks: cases in SQLite, updates applied once per Idempotency-Key.

Standalone on purpose (it imports nothing from postcall): it plays the backend that a voice
agent's topics call.  Run it with

    python examples/crm/crm_app.py --port 8765 --db crm.db

API (JSON everywhere):
    GET    /cases                     every case
    GET    /cases/{number}            one case: status, call end time, end reason, update count
    PATCH  /cases/{number}            {"status", "call_end_time", "end_reason", "call_summary"}; honours Idempotency-Key
    POST   /call-outcomes             the call-outcome workflow; honours Idempotency-Key
    GET    /call-outcomes             every recorded call outcome
    GET    /requests                  deliveries per Idempotency-Key, and how many were repeats
                                      (?times=1 adds the time of each key's first delivery)
    POST   /admin/faults              {"status": 503, "count": N | null, "delay_ms": 0, "retry_after": "1"}
    DELETE /admin/faults              answer normally again

A repeated Idempotency-Key gets the first answer back (with `Idempotent-Replayed: true`) and
changes nothing.  The key check and the change commit in one SQLite transaction taken with
BEGIN IMMEDIATE, so two deliveries of one key racing each other still apply once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

STATUSES = ("open", "in_progress", "waiting_on_customer", "resolved", "closed")
SEED_STATUSES = ("open", "in_progress", "waiting_on_customer", "resolved")
MAX_TEXT = 200
MAX_SUMMARY = 2000
PATCH_FIELDS = ("status", "call_end_time", "end_reason", "call_summary")

SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    number INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    call_end_time TEXT,
    end_reason TEXT,
    call_summary TEXT,
    update_count INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT
);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key TEXT PRIMARY KEY,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    body TEXT NOT NULL,
    first_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    faulted INTEGER NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS call_outcomes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL,
    case_number INTEGER,
    end_reason TEXT,
    data TEXT NOT NULL,
    at TEXT NOT NULL
);
"""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


@dataclass
class Faults:
    """The fault switch: answer `status` to the next `count` API requests (None: until cleared)."""

    status: int | None = None
    count: int | None = None
    delay_ms: int = 0
    retry_after: str | None = None


class CRM:
    def __init__(self, db_path: str, *, cases: int, first_case: int) -> None:
        self.db_path = db_path
        self.faults = Faults()
        self._faults_lock = threading.Lock()
        Path(db_path).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(cases)")}
            if "call_summary" not in columns:  # a CRM file from before call summaries
                conn.execute("ALTER TABLE cases ADD COLUMN call_summary TEXT")
            existing = conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0]
            if existing == 0:
                conn.executemany(
                    "INSERT INTO cases (number, title, status) VALUES (?, ?, ?)",
                    [
                        (number, f"Case {number}", SEED_STATUSES[i % len(SEED_STATUSES)])
                        for i, number in enumerate(range(first_case, first_case + cases))
                    ],
                )
            conn.commit()

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("PRAGMA busy_timeout=30000")
            yield conn
        finally:
            conn.close()

    def take_fault(self) -> tuple[int | None, int, str | None]:
        """(status to answer or None, delay in ms, Retry-After) for one API request."""
        with self._faults_lock:
            f = self.faults
            status = None
            if f.status is not None and (f.count is None or f.count > 0):
                status = f.status
                if f.count is not None:
                    f.count -= 1
            return status, f.delay_ms, f.retry_after if status is not None else None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _case_json(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "number": row["number"],
        "title": row["title"],
        "status": row["status"],
        "call_end_time": row["call_end_time"],
        "end_reason": row["end_reason"],
        "call_summary": row["call_summary"],
        "update_count": row["update_count"],
        "updated_at": row["updated_at"],
    }


def _case_number(request: Request) -> int | None:
    try:
        return int(request.path_params["number"])
    except (KeyError, ValueError):
        return None


async def _json_object(request: Request) -> dict[str, Any] | JSONResponse:
    raw = await request.body()
    try:
        data = json.loads(raw or b"{}")
    except ValueError as exc:
        return _error(400, f"The body is not valid JSON: {exc}.")
    if not isinstance(data, dict):
        return _error(400, "The body must be a JSON object.")
    return data


def create_app(db_path: str, *, cases: int = 10, first_case: int = 1001) -> Starlette:
    """The CRM as an ASGI app on the SQLite file `db_path` (seeded with `cases` cases from `first_case`)."""
    crm = CRM(db_path, cases=cases, first_case=first_case)

    def record_delivery(conn: sqlite3.Connection, key: str | None, request: Request, faulted: bool) -> None:
        conn.execute(
            "INSERT INTO deliveries (key, method, path, faulted, at) VALUES (?, ?, ?, ?, ?)",
            (key, request.method, request.url.path, int(faulted), _now()),
        )

    async def guarded(request: Request) -> Response | None:
        """Apply the fault switch; a faulted request is recorded and answered with the fault."""
        status, delay_ms, retry_after = crm.take_fault()
        if delay_ms:
            await _sleep(delay_ms / 1000)
        if status is None:
            return None
        with crm.connect() as conn:
            record_delivery(conn, request.headers.get("idempotency-key"), request, True)
        headers = {"Retry-After": retry_after} if retry_after else None
        return JSONResponse({"error": f"Injected fault: {status}."}, status_code=status, headers=headers)

    def idempotent(request: Request, apply: Any) -> Response:
        """Run `apply(conn) -> (status, body)` once per Idempotency-Key, in one write transaction."""
        key = request.headers.get("idempotency-key")
        with crm.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                record_delivery(conn, key, request, False)
                if key:
                    seen = conn.execute(
                        "SELECT method, path, status_code, body FROM idempotency_keys WHERE key = ?", (key,)
                    ).fetchone()
                    if seen is not None:
                        conn.execute("COMMIT")
                        if (seen["method"], seen["path"]) != (request.method, request.url.path):
                            return _error(
                                422,
                                f"Idempotency-Key {key!r} was first used for {seen['method']} {seen['path']}.",
                            )
                        return Response(
                            seen["body"],
                            status_code=seen["status_code"],
                            media_type="application/json",
                            headers={"Idempotent-Replayed": "true"},
                        )
                status, body = apply(conn)
                text = json.dumps(body)
                if key and status < 500:
                    conn.execute(
                        "INSERT INTO idempotency_keys (key, method, path, status_code, body, first_at) VALUES (?, ?, ?, ?, ?, ?)",
                        (key, request.method, request.url.path, status, text, _now()),
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return Response(text, status_code=status, media_type="application/json")

    async def list_cases(request: Request) -> Response:
        with crm.connect() as conn:
            rows = conn.execute("SELECT * FROM cases ORDER BY number").fetchall()
        return JSONResponse([_case_json(r) for r in rows])

    async def get_case(request: Request) -> Response:
        fault = await guarded(request)
        if fault is not None:
            return fault
        number = _case_number(request)
        if number is None:
            return _error(400, "The case number must be an integer.")
        with crm.connect() as conn:
            row = conn.execute("SELECT * FROM cases WHERE number = ?", (number,)).fetchone()
        if row is None:
            return _error(404, f"No case {number}.")
        return JSONResponse(_case_json(row))

    async def patch_case(request: Request) -> Response:
        fault = await guarded(request)
        if fault is not None:
            return fault
        number = _case_number(request)
        if number is None:
            return _error(400, "The case number must be an integer.")
        data = await _json_object(request)
        if isinstance(data, JSONResponse):
            return data
        unknown = sorted(set(data) - set(PATCH_FIELDS))
        if unknown:
            return _error(400, f"Unknown field(s) {', '.join(unknown)}; a case takes {', '.join(PATCH_FIELDS)}.")
        for name, value in data.items():
            limit = MAX_SUMMARY if name == "call_summary" else MAX_TEXT
            if value is not None and (not isinstance(value, str) or len(value) > limit):
                return _error(400, f"Field {name!r} must be a string of at most {limit} characters.")
        if "status" in data and data["status"] not in STATUSES:
            return _error(400, f"Status {data['status']!r} is not one of {', '.join(STATUSES)}.")

        def apply(conn: sqlite3.Connection) -> tuple[int, dict[str, Any]]:
            row = conn.execute("SELECT * FROM cases WHERE number = ?", (number,)).fetchone()
            if row is None:
                return 404, {"error": f"No case {number}."}
            fields = {k: v for k, v in data.items()}
            assignments = ", ".join(f"{k} = ?" for k in fields)
            conn.execute(
                f"UPDATE cases SET {assignments}{', ' if fields else ''}update_count = update_count + 1, updated_at = ? WHERE number = ?",
                (*fields.values(), _now(), number),
            )
            updated = conn.execute("SELECT * FROM cases WHERE number = ?", (number,)).fetchone()
            return 200, _case_json(updated)

        return idempotent(request, apply)

    async def post_outcome(request: Request) -> Response:
        fault = await guarded(request)
        if fault is not None:
            return fault
        data = await _json_object(request)
        if isinstance(data, JSONResponse):
            return data
        conversation_id = data.get("conversation_id")
        if not isinstance(conversation_id, str) or not conversation_id:
            return _error(400, "A call outcome needs a conversation_id string.")
        case_number = data.get("case_number")
        if case_number is not None and not isinstance(case_number, int):
            try:
                case_number = int(case_number)
            except (TypeError, ValueError):
                return _error(400, "case_number must be an integer.")

        def apply(conn: sqlite3.Connection) -> tuple[int, dict[str, Any]]:
            cursor = conn.execute(
                "INSERT INTO call_outcomes (conversation_id, case_number, end_reason, data, at) VALUES (?, ?, ?, ?, ?)",
                (conversation_id, case_number, data.get("end_reason"), json.dumps(data), _now()),
            )
            return 201, {"id": cursor.lastrowid, "conversation_id": conversation_id, "status": "recorded"}

        return idempotent(request, apply)

    async def list_outcomes(request: Request) -> Response:
        with crm.connect() as conn:
            rows = conn.execute("SELECT * FROM call_outcomes ORDER BY id").fetchall()
        return JSONResponse(
            [
                {"id": r["id"], "conversation_id": r["conversation_id"], "case_number": r["case_number"],
                 "end_reason": r["end_reason"], "data": json.loads(r["data"]), "at": r["at"]}
                for r in rows
            ]
        )

    async def requests_summary(request: Request) -> Response:
        with crm.connect() as conn:
            rows = conn.execute(
                "SELECT key, COUNT(*) AS n FROM deliveries WHERE faulted = 0 AND key IS NOT NULL GROUP BY key"
            ).fetchall()
            total = conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]
            faulted = conn.execute("SELECT COUNT(*) FROM deliveries WHERE faulted = 1").fetchone()[0]
        keys = {r["key"]: r["n"] for r in rows}
        summary: dict[str, Any] = {
            "total": total,
            "faulted": faulted,
            "keys": keys,
            "duplicates": sum(n - 1 for n in keys.values()),
            "duplicated_keys": sorted(k for k, n in keys.items() if n > 1),
        }
        if request.query_params.get("times"):
            with crm.connect() as conn:
                firsts = conn.execute(
                    "SELECT key, MIN(at) AS first FROM deliveries WHERE faulted = 0 AND key IS NOT NULL GROUP BY key"
                ).fetchall()
            summary["first_delivery"] = {r["key"]: r["first"] for r in firsts}
        return JSONResponse(summary)

    async def set_faults(request: Request) -> Response:
        data = await _json_object(request)
        if isinstance(data, JSONResponse):
            return data
        status = data.get("status")
        count = data.get("count")
        delay_ms = data.get("delay_ms", 0)
        retry_after = data.get("retry_after")
        if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
            return _error(400, "status must be an HTTP status code between 100 and 599.")
        if count is not None and (not isinstance(count, int) or count < 0):
            return _error(400, "count must be a non-negative integer or null (until cleared).")
        if not isinstance(delay_ms, int) or delay_ms < 0:
            return _error(400, "delay_ms must be a non-negative integer.")
        if retry_after is not None and not isinstance(retry_after, str | int):
            return _error(400, "retry_after must be a string or an integer.")
        with crm._faults_lock:
            crm.faults = Faults(status=status, count=count, delay_ms=delay_ms,
                                retry_after=None if retry_after is None else str(retry_after))
        return JSONResponse({"status": status, "count": count, "delay_ms": delay_ms, "retry_after": retry_after})

    async def clear_faults(request: Request) -> Response:
        with crm._faults_lock:
            crm.faults = Faults()
        return JSONResponse({"status": None, "count": None, "delay_ms": 0, "retry_after": None})

    app = Starlette(
        routes=[
            Route("/cases", list_cases, methods=["GET"]),
            Route("/cases/{number}", get_case, methods=["GET"]),
            Route("/cases/{number}", patch_case, methods=["PATCH"]),
            Route("/call-outcomes", post_outcome, methods=["POST"]),
            Route("/call-outcomes", list_outcomes, methods=["GET"]),
            Route("/requests", requests_summary, methods=["GET"]),
            Route("/admin/faults", set_faults, methods=["POST"]),
            Route("/admin/faults", clear_faults, methods=["DELETE"]),
        ]
    )
    app.state.crm = crm
    return app


async def _sleep(seconds: float) -> None:
    import anyio

    await anyio.sleep(seconds)


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="Example CRM: cases with idempotent updates.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--db", default="crm.db", help="SQLite file (created and seeded if missing)")
    parser.add_argument("--cases", type=int, default=10, help="how many cases to seed (numbers from 1001)")
    parser.add_argument("--first-case", type=int, default=1001)
    args = parser.parse_args(argv)
    app = create_app(args.db, cases=args.cases, first_case=args.first_case)
    print(f"CRM on http://{args.host}:{args.port} (database {args.db})", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
