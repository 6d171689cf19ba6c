"""Secrets never leave the process: masks credentials in headers, URLs and bodies before they are stored or shown.

A name is secret when it is one of the well-known credential headers (Authorization, Cookie,
...) or when it contains one of the words in `SECRET_WORDS` (token, secret, password, api key,
...), compared case-insensitively with `-` and `_` ignored.  Values under a secret name are
replaced by `REDACTED`; everything else is kept so that a failing request stays debuggable.
A number under a name ending in "tokens" (a model's `prompt_tokens`, `total_tokens` usage) is
a count, not a credential, and is kept; a token's text (`token`, `api_token`) is masked.

`redact_json` is the one function every shown or logged payload passes (the API, the console,
`postcall runs --format json`, the log lines): besides secret keys at any depth it masks the
secret parameters of any `url` (or any text that is a URL), the secret fields of a `body` held as
JSON or form text, bearer tokens in any text, and every value registered as secret
(`register_secret_values`: the agent's `env` values whose names look like secrets, registered
when the agent is loaded to run), wherever such a value was copied to.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "[redacted]"

# Headers that carry credentials whatever their value looks like.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxyauthorization",
        "cookie",
        "setcookie",
        "xapikey",
        "apikey",
        "xauthtoken",
        "xtwiliosignature",
        "xpostcallsignature",
        "xhubsignature",
        "xhubsignature256",
        "ocpapimsubscriptionkey",
    }
)

# A field or parameter whose normalised name contains one of these is secret.
SECRET_WORDS = (
    "secret",
    "password",
    "passwd",
    "token",
    "apikey",
    "accesskey",
    "privatekey",
    "clientsecret",
    "credential",
    "signature",
    "sessionid",
    "authorization",
)

_NORMALISE = re.compile(r"[-_\s.]")
MIN_SECRET_VALUE_CHARS = 6  # shorter registered values would mask ordinary words
_SECRET_VALUES: set[str] = set()
_BODY_KEYS = frozenset({"body", "content", "data"})
_BEARER = re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{6,}")


def _normalise(name: str) -> str:
    return _NORMALISE.sub("", name).lower()


def is_secret_name(name: str) -> bool:
    """Whether a header, query parameter or body field called `name` holds a secret."""
    norm = _normalise(name)
    if norm in SECRET_HEADERS:
        return True
    return any(word in norm for word in SECRET_WORDS)


def _is_usage_count(name: str, value: Any) -> bool:
    """A model's usage numbers (`prompt_tokens`, `completion_tokens`, `total_tokens`,
    `cached_tokens`...) are counts, not secrets: a number under a name ending in "tokens", or
    OpenAI's `prompt_tokens_details` object (whose own fields are judged the same way)."""
    norm = _normalise(name)
    if isinstance(value, Mapping):
        return norm.endswith("tokensdetails")
    return isinstance(value, int | float) and not isinstance(value, bool) and norm.endswith("tokens")


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of `headers` with credential values masked (names are kept)."""
    return {name: (REDACTED if is_secret_name(name) else value) for name, value in headers.items()}


def redact_url(url: str) -> str:
    """Mask the password of the URL's user info and the values of secret query parameters."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{REDACTED}@{hostport}" if ":" in userinfo else f"{REDACTED}@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_secret_name(k) for k, _ in pairs):
            query = urlencode([(k, REDACTED if is_secret_name(k) else v) for k, v in pairs])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def register_secret_values(values: Iterable[str]) -> None:
    """Mask these values wherever they appear from now on (this process)."""
    _SECRET_VALUES.update(v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_VALUE_CHARS)


def redact_text(text: str) -> str:
    """`text` (an error message, a log line) with bearer tokens, registered secret values and the
    secret parts of a URL masked."""
    return _mask_text(text)


def _mask_text(text: str) -> str:
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    for secret in sorted(_SECRET_VALUES, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    if text[:8].lower().startswith(("http://", "https://")) and ("?" in text or "@" in text):
        text = redact_url(text)
    return text


def redact_json(value: Any) -> Any:
    """A deep copy of a JSON value with every secret masked (see the module docstring)."""
    if isinstance(value, Mapping):
        content_type = _content_type_of(value)
        out: dict[str, Any] = {}
        for k, v in value.items():
            key = str(k)
            if is_secret_name(key) and v is not None and not _is_usage_count(key, v):
                out[key] = REDACTED
            elif key.lower() in _BODY_KEYS and isinstance(v, str):
                out[key] = _mask_text(redact_body(v, content_type) or v)
            else:
                out[key] = redact_json(v)
        return out
    if isinstance(value, list | tuple):
        return [redact_json(v) for v in value]
    if isinstance(value, str):
        return _mask_text(value)
    return value


def _content_type_of(mapping: Mapping[Any, Any]) -> str | None:
    for key in ("content_type", "contentType"):
        found = mapping.get(key)
        if isinstance(found, str):
            return found
    headers = mapping.get("headers")
    if isinstance(headers, Mapping):
        for name, header in headers.items():
            if str(name).lower() == "content-type" and isinstance(header, str):
                return header
    return None


def redact_body(body: str | None, content_type: str | None = None) -> str | None:
    """Mask secret fields of a JSON or form-encoded body, bearer tokens and registered secret
    values in any body; a body with nothing to mask comes back unchanged (not reformatted)."""
    if body is None or body == "":
        return body
    ctype = (content_type or "").lower()
    stripped = body.lstrip()
    if "json" in ctype or stripped[:1] in ("{", "["):
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            pass
        else:
            masked = redact_json(parsed)
            if masked != parsed:
                return json.dumps(masked, ensure_ascii=False)
            return body
    if "x-www-form-urlencoded" in ctype or ("=" in stripped and " " not in stripped and "{" not in stripped[:1]):
        pairs = parse_qsl(body, keep_blank_values=True)
        if pairs and any(is_secret_name(k) for k, _ in pairs):
            return urlencode([(k, REDACTED if is_secret_name(k) else _mask_text(v)) for k, v in pairs])
    return _mask_text(body)


def truncate(text: str | None, limit: int) -> str | None:
    """Cut `text` to `limit` characters, saying how much was dropped."""
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit} more characters]"
