"""Secrets never leave the process: masks credentials in headers, URLs and bodies before they are stored or shown.

A name is secret when it is one of the well-known credential headers (Authorization, Cookie,
...) or when it contains one of the words in `SECRET_WORDS` (token, secret, password, api key,
...), compared case-insensitively with `-` and `_` ignored.  Values under a secret name are
replaced by `REDACTED`; everything else is kept so that a failing request stays debuggable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
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
_BEARER = re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{6,}")


def _normalise(name: str) -> str:
    return _NORMALISE.sub("", name).lower()


def is_secret_name(name: str) -> bool:
    """Whether a header, query parameter or body field called `name` holds a secret."""
    norm = _normalise(name)
    if norm in SECRET_HEADERS:
        return True
    return any(word in norm for word in SECRET_WORDS)


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


def redact_json(value: Any) -> Any:
    """A deep copy of a JSON value with every value under a secret key masked."""
    if isinstance(value, Mapping):
        return {
            str(k): (REDACTED if is_secret_name(str(k)) and v is not None else redact_json(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_json(v) for v in value]
    if isinstance(value, str):
        return _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", value)
    return value


def redact_body(body: str | None, content_type: str | None = None) -> str | None:
    """Mask secret fields of a JSON or form-encoded body; other text only loses bearer tokens."""
    if body is None or body == "":
        return body
    ctype = (content_type or "").lower()
    stripped = body.lstrip()
    if "json" in ctype or stripped[:1] in ("{", "["):
        try:
            parsed = json.loads(body)
        except ValueError:
            pass
        else:
            return json.dumps(redact_json(parsed), ensure_ascii=False)
    if "x-www-form-urlencoded" in ctype:
        pairs = parse_qsl(body, keep_blank_values=True)
        return urlencode([(k, REDACTED if is_secret_name(k) else v) for k, v in pairs])
    return _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", body)


def truncate(text: str | None, limit: int) -> str | None:
    """Cut `text` to `limit` characters, saying how much was dropped."""
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit} more characters]"
