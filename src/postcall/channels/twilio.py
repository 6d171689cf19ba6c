"""Twilio Programmable Voice: signed webhooks in, TwiML out.

Endpoints, all under `/channels/twilio/` (`POST`, form-encoded; `GET` with the parameters in the
query string is accepted too):

| endpoint      | Twilio sends it                                     | means for the runtime                 |
| ------------- | --------------------------------------------------- | ------------------------------------- |
| `voice`       | an incoming call (the number's voice URL)           | `CallStarted` (CallSid, From, To)     |
| `gather`      | `<Gather>`'s action: SpeechResult/Confidence/Digits | message, or the silence event         |
| `status`      | the call's status callback (CallStatus)             | terminal status → endOfConversation   |
| `dial`        | `<Dial>`'s action: DialCallStatus                   | transfer result                       |
| `dial-status` | the dialled leg's `answered` status callback        | transfer answered                     |
| `enqueue`     | `<Enqueue>`'s action: QueueResult                   | transfer result                       |
| `enqueue-wait`| `<Enqueue>`'s waitUrl: the caller is in the queue    | transfer answered (hand-off done)     |

Every request's `X-Twilio-Signature` is checked with the twilio package's `RequestValidator`
over the URL Twilio requested: the URL the request came to, or, when a public base URL is set
(behind a proxy), that URL with the public scheme, host, port and path prefix.  Translation is a
pure function of the verified parameters (`translate`, in `postcall.channels.twilio_translate`).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from postcall.channels.base import (
    DEFAULT_MAX_BODY_BYTES,
    ChannelInput,
    ChannelReply,
    WebhookRequest,
    check_body_size,
)
from postcall.channels.twilio_translate import CHANNEL_ID, ENDPOINTS, translate
from postcall.channels.twilio_twiml import (
    AgentTransferSettings,
    TwilioSettings,
    TwilioVoiceSettings,
    hold_twiml,
    render_twiml,
)
from postcall.engine.activity import AgentOutput, HangUp
from postcall.errors import ChannelError, ConfigError
from postcall.safetext import clean_text

__all__ = [
    "AgentTransferSettings",
    "TwilioChannel",
    "TwilioSettings",
    "TwilioVoiceSettings",
    "ENDPOINTS",
    "load_auth_token",
    "render_twiml",
    "translate",
]

log = logging.getLogger("postcall.channels.twilio")

TWIML_CONTENT_TYPE = "application/xml"


def load_auth_token(
    environ: Mapping[str, str] | None = None, secret_file: str | Path | None = None
) -> str:
    """The Twilio auth token: `TWILIO_AUTH_TOKEN` from the environment, else the named secret file.

    Raises ConfigError (never showing the token) when neither gives a non-empty value.
    """
    env = os.environ if environ is None else environ
    token = env.get("TWILIO_AUTH_TOKEN", "").strip()
    if token:
        return token
    if secret_file is not None:
        path = Path(secret_file)
        try:
            token = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"Cannot read the Twilio auth token file {str(path)!r}: {exc.strerror}."
            ) from None
        if token:
            return token
        raise ConfigError(f"The Twilio auth token file {str(path)!r} is empty.")
    raise ConfigError(
        "No Twilio auth token: set the environment variable TWILIO_AUTH_TOKEN "
        "or name a secret file in agent.yaml."
    )


class _MultiParams(dict[str, list[str]]):
    """Form fields in the shape RequestValidator reads repeated names from (`getall`)."""

    def getall(self, name: str) -> list[str]:
        return self[name]


class TwilioChannel:
    """The Twilio channel: verifies, translates, renders.  Holds no per-call state."""

    name = CHANNEL_ID

    def __init__(
        self,
        auth_token: str,
        public_base_url: str | None = None,
        voice: TwilioVoiceSettings | None = None,
        transfer_to_agent: AgentTransferSettings | None = None,
        caller_id: str | None = None,
        *,
        ring_timeout_s: int = 30,
        base_path: str = "/channels/twilio",
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        if not auth_token:
            raise ConfigError("The Twilio auth token is empty; set TWILIO_AUTH_TOKEN.")
        if public_base_url is not None:
            parts = urlsplit(public_base_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ConfigError(
                    f"The public base URL must be an http(s) URL like https://example.com, not {public_base_url!r}."
                )
        self._validator = RequestValidator(auth_token)
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self.base_path = "/" + base_path.strip("/")
        self.max_body_bytes = max_body_bytes
        self.settings = TwilioSettings(
            voice=voice or TwilioVoiceSettings(),
            transfer_to_agent=transfer_to_agent,
            caller_id=caller_id,
            ring_timeout_s=ring_timeout_s,
            base_url=self.public_base_url or "",
            base_path=self.base_path,
        )
        self._now = now or (lambda: dt.datetime.now(dt.UTC))

    def __repr__(self) -> str:
        return f"TwilioChannel(public_base_url={self.public_base_url!r})"  # never the token

    # -- requests ------------------------------------------------------------------------------

    @property
    def paths(self) -> tuple[str, ...]:
        """The URL paths the server mounts, one per endpoint."""
        return tuple(f"{self.base_path}/{endpoint}" for endpoint in ENDPOINTS)

    def endpoint(self, request: WebhookRequest) -> str:
        path = request.path.rstrip("/")
        prefix = self.base_path + "/"
        name = path[len(prefix) :] if path.startswith(prefix) else ""
        if name not in ENDPOINTS:
            raise ChannelError(f"No Twilio webhook at {path!r}.", status=404, field="path")
        return name

    def signed_url(self, request: WebhookRequest) -> str:
        """The URL Twilio signed: the request's own URL, or its public form behind a proxy."""
        if self.public_base_url is None:
            return request.url
        parts = urlsplit(request.url)
        public = urlsplit(self.public_base_url)
        return urlunsplit(
            (public.scheme, public.netloc, public.path.rstrip("/") + parts.path, parts.query, "")
        )

    def verify(self, request: WebhookRequest) -> dict[str, str]:
        """Check size and signature; return the signed parameters (one value per name).

        Raises ChannelError: 413 over the size limit, 400 for a body that is not form data or a
        method other than POST or GET, 403 for a missing or wrong signature.
        """
        check_body_size(request.body, self.max_body_bytes)
        if request.method == "POST":
            fields = request.form(self.max_body_bytes)
            signed: Mapping[str, Any] = _MultiParams(fields)
            # Checked over the raw values; what the runtime sees has NUL replaced (safetext.py).
            params = {clean_text(name): clean_text(values[-1]) for name, values in fields.items()}
        elif request.method == "GET":
            signed, params = {}, request.query
        else:
            raise ChannelError(
                f"Twilio webhooks use POST or GET, not {request.method!r}.",
                status=400,
                field="method",
            )
        signature = request.header(SIGNATURE_HEADER)
        if not signature:
            log.warning(
                "twilio webhook refused: no %s header (%s %s)",
                SIGNATURE_HEADER,
                request.method,
                request.path,
            )
            raise ChannelError(
                f"Missing {SIGNATURE_HEADER} header.", status=403, field=SIGNATURE_HEADER
            )
        algorithm = get_signature_algorithm(request.header(SIGNATURE_SETTINGS_HEADER))
        url = self.signed_url(request)
        try:
            valid = self._validator.validate(url, signed, signature, algorithm)
        except (ValueError, TypeError, UnicodeError):
            valid = False
        if not valid:
            log.warning(
                "twilio webhook refused: bad signature (%s %s)", request.method, request.path
            )
            raise ChannelError(
                f"{SIGNATURE_HEADER} does not match this request; the URL checked was {url!r}. "
                "Behind a proxy, set the public base URL.",
                status=403,
                field=SIGNATURE_HEADER,
            )
        return params

    def parse(self, request: WebhookRequest) -> ChannelInput:
        """Verify a webhook and say what it means.  Raises ChannelError (404, 413, 400, 403)."""
        endpoint = self.endpoint(request)
        params = self.verify(request)
        query = request.query
        return translate(endpoint, params, query, self._now())

    # -- replies -------------------------------------------------------------------------------

    def render(self, outputs: Sequence[AgentOutput], *, turn: int | None = None) -> str:
        return render_twiml(outputs, self.settings, turn=turn)

    def respond(
        self,
        request: WebhookRequest,
        outputs: Sequence[AgentOutput],
        *,
        turn: int | None = None,
        ended: bool = False,
    ) -> ChannelReply:
        """The reply to a webhook after the runtime ran its turn.

        Status callbacks get an empty `<Response/>` (Twilio ignores their body); the Enqueue
        waitUrl gets hold music; every other endpoint gets the turn's TwiML.  When the
        conversation has ended (`ended`) and the outputs do not hang up, a `<Hangup/>` is added,
        so a caller handed back by a finished transfer is not left on an open line.
        """
        endpoint = self.endpoint(request)
        if endpoint in ("status", "dial-status"):
            return self.ack()
        if endpoint == "enqueue-wait":
            return _twiml_reply(hold_twiml(self.settings.transfer_to_agent))
        if ended and not any(isinstance(output, HangUp) for output in outputs):
            outputs = [*outputs, HangUp()]
        return _twiml_reply(self.render(outputs, turn=turn))

    def ack(self) -> ChannelReply:
        return _twiml_reply('<?xml version="1.0" encoding="UTF-8"?><Response />')

    def error_reply(self, error: ChannelError) -> ChannelReply:
        """A plain-text reply for a refused webhook (Twilio shows it in its debugger)."""
        return ChannelReply(error.status, "text/plain; charset=utf-8", f"{error}\n".encode())


def _twiml_reply(twiml: str) -> ChannelReply:
    return ChannelReply(200, TWIML_CONTENT_TYPE, twiml.encode("utf-8"))
