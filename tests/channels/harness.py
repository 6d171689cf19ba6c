"""A real HTTP server on 127.0.0.1 for the channel tests, and a scripted stand-in for the runtime.

The server is the standard library's ThreadingHTTPServer: it turns each request into a
`WebhookRequest` exactly as the real server will, hands it to a channel, and writes the reply.

`ScriptedRuntime` plays the part of lifecycle + engine (written elsewhere) with a tiny agent and
the end rules the engine applies: the first end wins; a transfer answered ends the call as
BLIND_TRANSFER (phone number) or CCAAS_TRANSFER (agent); busy/no-answer/failed gives the call
back to the agent; the caller leaving while the agent has the call is CUSTOMER_HANGUP, with the
transfer abandoned if one was ringing; HangUp is AGENT_HANGUP; a repeated event id is answered
with the reply stored the first time and changes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from twilio.request_validator import RequestValidator

from postcall.channels.base import (
    Acknowledge,
    ActivityInput,
    CallStarted,
    ChannelInput,
    ChannelReply,
    WebhookRequest,
)
from postcall.channels.events import EventsChannel
from postcall.channels.twilio import TwilioChannel
from postcall.engine.activity import (
    AgentOutput,
    HangUp,
    Listen,
    Say,
    Transfer,
    TransferToAgent,
    TransferToPhoneNumber,
)
from postcall.errors import ChannelError
from postcall.vocabulary import ActivityType, ChannelEvent, EndReason

Handler = Callable[[WebhookRequest], ChannelReply]


class WebhookServer:
    """Serves `handle` on 127.0.0.1 (a free port) in a background thread."""

    def __init__(self, handle: Handler) -> None:
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = WebhookRequest.build(
                    self.command, f"{outer.url}{self.path}", dict(self.headers.items()), body
                )
                reply = handle(request)
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )

    def __enter__(self) -> WebhookServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@dataclass
class Conversation:
    conversation_id: str
    turn: int = 0
    transfer: str | None = None  # "phone" or "agent" while a transfer rings
    end_reason: EndReason | None = None
    transfer_abandoned: bool = False
    end_signals: int = 0  # every end signal seen, including ignored repeats
    inputs: list[ChannelInput] = field(default_factory=list)
    replies: dict[str, ChannelReply] = field(default_factory=dict)
    duplicates: int = 0
    caller_lines: list[str] = field(default_factory=list)


class ScriptedRuntime:
    """The runtime's part in the tests: dedupe, a scripted agent, exactly one end."""

    PHONE = "+14155550142"

    def __init__(
        self,
        twilio: TwilioChannel | None = None,
        events: EventsChannel | None = None,
        *,
        auth_token: str | None = None,
    ) -> None:
        self.twilio, self.events = twilio, events
        self.conversations: dict[str, Conversation] = {}
        self.refused: list[ChannelError] = []
        self.unsigned: list[str] = []  # requests RequestValidator itself rejected
        self._validator = RequestValidator(auth_token) if auth_token else None
        self._lock = threading.Lock()

    # -- HTTP entry points ---------------------------------------------------------------------

    def handle_twilio(self, request: WebhookRequest) -> ChannelReply:
        assert self.twilio is not None
        self._check_with_request_validator(request)
        try:
            inp = self.twilio.parse(request)
        except ChannelError as error:
            self.refused.append(error)
            return self.twilio.error_reply(error)
        with self._lock:
            conv = self._conversation(inp)
            if inp.event_id is not None and inp.event_id in conv.replies:
                conv.duplicates += 1
                return conv.replies[inp.event_id]
            outputs = self._turn(conv, inp)
            conv.turn += 1
            reply = self.twilio.respond(
                request, outputs, turn=conv.turn, ended=conv.end_reason is not None
            )
            if inp.event_id is not None:
                conv.replies[inp.event_id] = reply
            return reply

    def handle_events(self, request: WebhookRequest) -> ChannelReply:
        assert self.events is not None
        try:
            inp = self.events.parse(request)
        except ChannelError as error:
            self.refused.append(error)
            return self.events.error_reply(error)
        with self._lock:
            if not isinstance(inp, CallStarted) and inp.conversation_id not in self.conversations:
                error = ChannelError(
                    f"Unknown conversation {inp.conversation_id!r}.",
                    status=404,
                    field="conversation_id",
                )
                self.refused.append(error)
                return self.events.error_reply(error)
            conv = self._conversation(inp)
            if inp.event_id is not None and inp.event_id in conv.replies:
                conv.duplicates += 1
                return conv.replies[inp.event_id]
            outputs = self._turn(conv, inp)
            conv.turn += 1
            reply = self.events.respond(
                outputs, ended=conv.end_reason is not None, end_reason=conv.end_reason
            )
            if inp.event_id is not None:
                conv.replies[inp.event_id] = reply
            return reply

    def _check_with_request_validator(self, request: WebhookRequest) -> None:
        # Belt and braces: twilio's own RequestValidator, independent of the channel's code path.
        if self._validator is None or self.twilio is None:
            return
        params = dict(request.form()) if request.method == "POST" else {}
        flat = {name: values[-1] for name, values in params.items()}
        url = self.twilio.signed_url(request)
        if not self._validator.validate(url, flat, request.header("X-Twilio-Signature") or ""):
            self.unsigned.append(request.path)

    # -- the scripted agent and the end rules --------------------------------------------------

    def _conversation(self, inp: ChannelInput) -> Conversation:
        return self.conversations.setdefault(inp.conversation_id, Conversation(inp.conversation_id))

    def _end(self, conv: Conversation, reason: EndReason) -> None:
        conv.end_signals += 1
        if conv.end_reason is None:
            conv.end_reason = reason

    def _turn(self, conv: Conversation, inp: ChannelInput) -> list[AgentOutput]:
        conv.inputs.append(inp)
        if isinstance(inp, Acknowledge):
            return []
        if isinstance(inp, CallStarted):
            return [Say("Hello, how can I help?"), Listen()]
        assert isinstance(inp, ActivityInput)
        activity = inp.activity
        if activity.type == ActivityType.END_OF_CONVERSATION:
            if conv.end_reason is None and conv.transfer is not None:
                conv.transfer_abandoned = True
            self._end(conv, EndReason.CUSTOMER_HANGUP)
            return []
        if conv.end_reason is not None:
            return []  # late news about a finished conversation
        if activity.type == ActivityType.EVENT and activity.name == ChannelEvent.TRANSFER_RESULT:
            outcome = activity.value["outcome"]
            if conv.transfer is None:
                return []
            kind, conv.transfer = conv.transfer, None
            if outcome == "answered":
                self._end(
                    conv, EndReason.BLIND_TRANSFER if kind == "phone" else EndReason.CCAAS_TRANSFER
                )
                return []
            if outcome == "abandoned":
                conv.transfer_abandoned = True
                self._end(conv, EndReason.CUSTOMER_HANGUP)
                return []
            return [
                Say(f"The transfer did not go through ({outcome}). I can help you myself."),
                Listen(),
            ]
        if conv.transfer is not None:
            return []
        if activity.type == ActivityType.EVENT and activity.name == ChannelEvent.SILENCE:
            return [Say("Are you still there?"), Listen()]
        if activity.dtmf:
            conv.caller_lines.append(activity.dtmf)
            return [Say(f"You pressed {activity.dtmf}."), Listen()]
        text = (activity.text or "").lower()
        conv.caller_lines.append(text)
        if "bye" in text:
            self._end(conv, EndReason.AGENT_HANGUP)
            return [Say("Goodbye."), HangUp()]
        if "agent" in text:
            conv.transfer = "agent"
            return [
                Say("Connecting you to an agent."),
                Transfer(
                    TransferToAgent(
                        message_to_agent="Caller asked for a person", context={"topic": "billing"}
                    )
                ),
            ]
        if "transfer" in text:
            conv.transfer = "phone"
            return [Say("Transferring you now."), Transfer(TransferToPhoneNumber(self.PHONE))]
        return [Say(f"You said: {activity.text}."), Listen()]
