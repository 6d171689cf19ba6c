"""A local server speaking OpenAI's chat-completions protocol, for tests, benches and demos.

Hosted language models cannot run here, so tests talk to this real HTTP server on 127.0.0.1
instead of an in-process mock: the official `openai` SDK sends its real requests over a real
socket, and what comes back has the shapes OpenAI documents for `POST /v1/chat/completions`
(the `chat.completion` object, `choices[].message` with `content` and `refusal`, `usage`) and
for errors (`{"error": {"message", "type", "param", "code"}}` with 400, 401, 404, 429 and 5xx,
`Retry-After` on 429/503).  Like OpenAI it refuses (400) a `json_schema` response format sent
with `strict: true` whose schema strict mode does not accept.

What it answers is decided by, in order:

1. `script`: a queue of `Scripted` replies (a status and headers, a refusal, a malformed body,
   a delay), consumed one per request, to play failures and retries;
2. `responder`: a function from the request's JSON to the assistant's text (tests set it);
3. the default: with `response_format` of type `json_schema`, a JSON object that fits the
   schema (first enum value, "example" strings, 0, false); otherwise a short grounded echo (the
   first sentence of the system message's passages when there are any, else the last user
   message).

Every request is kept in `requests` (so a test can assert what was sent, or that a replay sent
nothing).  `OpenAIServer().start()` binds a free port; `base_url` ends with `/v1` as the SDK
expects.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[dict[str, Any]], str]


@dataclass
class Scripted:
    """One scripted reply.  `status` other than 200 answers an OpenAI error object."""

    status: int = 200
    content: str | None = None
    refusal: str | None = None
    finish_reason: str = "stop"
    """"content_filter" plays Azure OpenAI's content filter withholding the answer."""
    headers: dict[str, str] = field(default_factory=dict)
    raw_body: str | None = None
    """Sent as is (a malformed answer); overrides everything else."""
    delay_s: float = 0.0
    error_message: str | None = None


_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", None),
}


def error_body(status: int, message: str, param: str | None = None) -> dict[str, Any]:
    kind, code = _ERROR_TYPES.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def example_for_schema(schema: Any) -> Any:
    """A value that fits a JSON schema (the simple subset prompts use)."""
    if not isinstance(schema, dict):
        return None
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {name: example_for_schema(sub) for name, sub in props.items()}
    if kind == "array":
        return [example_for_schema(schema.get("items") or {})]
    if kind == "integer" or kind == "number":
        return 0
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return "example"


def strict_schema_problem(schema: Any, context: tuple[str, ...] = ()) -> str | None:
    """OpenAI's refusal of a schema sent with `strict: true` (structured outputs): every object
    needs `additionalProperties: false` and every property in `required`.  Written here from
    OpenAI's documentation, apart from the runtime's own check, so a test can catch the runtime
    sending `strict: true` for a schema OpenAI would refuse."""
    if not isinstance(schema, dict):
        return None
    where = f"In context={context!r}, "
    if schema.get("type") == "object" or "properties" in schema:
        if schema.get("additionalProperties") is not False:
            return where + "'additionalProperties' is required to be supplied and to be false."
        props = schema.get("properties") or {}
        missing = [name for name in props if name not in (schema.get("required") or [])]
        if missing:
            return where + f"'required' is required to be supplied and to be an array including every key in properties. Missing '{missing[0]}'."
    for name, sub in (schema.get("properties") or {}).items():
        problem = strict_schema_problem(sub, (*context, "properties", name))
        if problem:
            return problem
    for key in ("items", "$defs", "anyOf"):
        sub = schema.get(key)
        subs = sub.values() if isinstance(sub, dict) and key == "$defs" else sub if isinstance(sub, list) else [sub]
        for item in subs:
            problem = strict_schema_problem(item, (*context, key))
            if problem:
                return problem
    return None


_SENTENCE = re.compile(r"(.+?[.!?])(\s|$)", re.S)


def default_reply(body: dict[str, Any]) -> str:
    fmt = body.get("response_format") or {}
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema") or {}
        return json.dumps(example_for_schema(schema))
    if isinstance(fmt, dict) and fmt.get("type") == "json_object":
        return "{}"
    messages = body.get("messages") or []
    system = " ".join(str(m.get("content") or "") for m in messages if m.get("role") in ("system", "developer"))
    # "[1] (title) text": the text after the title, up to the next numbered passage
    passages = re.findall(r"\[\d+\] (?:\([^)\n]*\) )?([^\[]+)", system)
    if passages:
        first = passages[0].strip()
        match = _SENTENCE.match(first)
        return (match.group(1) if match else first).strip()
    users = [m for m in messages if m.get("role") == "user"]
    return f"You said: {users[-1].get('content') if users else ''}".strip()


def _usage(body: dict[str, Any], content: str) -> dict[str, int]:
    prompt = sum(len(str(m.get("content") or "").split()) for m in body.get("messages") or [])
    completion = len(content.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


class OpenAIServer:
    """A real HTTP server on 127.0.0.1 speaking chat completions (see the module docstring)."""

    def __init__(self, *, api_key: str | None = "sk-test", model: str = "local-model", host: str = "127.0.0.1", port: int = 0,
                 echo_key: bool = False) -> None:
        self.api_key = api_key
        self.echo_key = echo_key
        """Every error message quotes the key the request presented (as OpenAI's 401 does, and
        some gateways do for every error): tests of the redaction can then fail."""
        self.model = model
        self.script: deque[Scripted] = deque()
        self.responder: Responder | None = None
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> OpenAIServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="openai-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- handling ----------------------------------------------------------------------------

    def answer(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) for one request."""
        status, out_headers, body = self._answer(path, headers, raw)
        if self.echo_key and status >= 400:
            presented = headers.get("authorization", "").removeprefix("Bearer ")
            try:
                data = json.loads(body)
                data["error"]["message"] = f"{data['error']['message']} (API key provided: {presented})"
                body = json.dumps(data).encode()
            except (ValueError, KeyError, TypeError):  # a scripted raw body: left as scripted
                pass
        return status, out_headers, body

    def _answer(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, str], bytes]:
        if path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            return self._error(404, f"Unknown request URL: POST {path}.")
        if self.api_key is not None:
            auth = headers.get("authorization", "")
            if auth != f"Bearer {self.api_key}":
                return self._error(401, "Incorrect API key provided.")
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self._error(400, "We could not parse the JSON body of your request.")
        if not isinstance(body, dict):
            return self._error(400, "The request body must be a JSON object.")
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            scripted = self.script.popleft() if self.script else None
        if not body.get("model"):
            return self._error(400, "you must provide a model parameter", "model")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return self._error(400, "'messages' must be a non-empty array.", "messages")
        for index, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in ("system", "developer", "user", "assistant", "tool"):
                return self._error(400, f"Invalid value for 'messages[{index}].role'.", f"messages[{index}].role")
        fmt = body.get("response_format")
        spec = fmt.get("json_schema") if isinstance(fmt, dict) and fmt.get("type") == "json_schema" else None
        if isinstance(spec, dict) and spec.get("strict") is True:
            problem = strict_schema_problem(spec.get("schema"))
            if problem:
                return self._error(400, f"Invalid schema for response_format '{spec.get('name')}': {problem}", "response_format")
        if scripted is not None:
            if scripted.delay_s:
                time.sleep(scripted.delay_s)
            if scripted.raw_body is not None:
                return scripted.status, {"content-type": "application/json", **scripted.headers}, scripted.raw_body.encode()
            if scripted.status != 200:
                status, hdrs, data = self._error(scripted.status, scripted.error_message or f"Scripted error {scripted.status}.")
                return status, {**hdrs, **scripted.headers}, data
        content: str | None
        refusal = scripted.refusal if scripted is not None else None
        if refusal is not None:
            content = None
        elif scripted is not None and scripted.content is not None:
            content = scripted.content
        elif self.responder is not None:
            content = self.responder(body)
        else:
            content = default_reply(body)
        completion = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(body.get("model")),
            "system_fingerprint": "fp_postcall_local",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": refusal, "annotations": []},
                    "logprobs": None,
                    "finish_reason": scripted.finish_reason if scripted is not None else "stop",
                }
            ],
            "usage": _usage(body, content or refusal or ""),
        }
        extra = scripted.headers if scripted is not None else {}
        return 200, {"content-type": "application/json", **extra}, json.dumps(completion).encode()

    def _error(self, status: int, message: str, param: str | None = None) -> tuple[int, dict[str, str], bytes]:
        return status, {"content-type": "application/json"}, json.dumps(error_body(status, message, param)).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body leave at once (no delayed-ACK stalls)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, out_headers, data = server.answer(self.path, headers, raw)
                self.send_response(status)
                for name, value in out_headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.rstrip("/") in ("/v1/models", "/models"):
                    data = json.dumps({"object": "list", "data": [{"id": server.model, "object": "model", "created": 0, "owned_by": "postcall"}]}).encode()
                    status = 200
                else:
                    data = json.dumps(error_body(404, f"Unknown request URL: GET {self.path}.")).encode()
                    status = 404
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def main() -> None:  # pragma: no cover - a manual helper: python -m postcall.devtools.openai_server
    parser = argparse.ArgumentParser(description="A local OpenAI-compatible chat-completions server (tests and demos).")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--api-key", default=None, help="require this bearer key (default: none)")
    args = parser.parse_args()
    server = OpenAIServer(api_key=args.api_key, port=args.port)
    print(f"OpenAI-compatible server on {server.base_url}", flush=True)
    try:
        server._server.serve_forever()
    except KeyboardInterrupt:
        server._server.server_close()


if __name__ == "__main__":  # pragma: no cover
    main()
