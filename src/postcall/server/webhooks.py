"""The channels' webhooks: HTTP in, channel translation, a lifecycle turn, the channel's reply out.

Authentication is the provider's signature, checked by the channel before anything is recorded;
the admin token never applies here.  Bodies are read up to a limit (413 beyond it), and every
refusal is the channel's own 4xx reply naming the field at fault.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response

from postcall import tracing
from postcall.channels.base import (
    Acknowledge,
    ActivityInput,
    CallStarted,
    ChannelInput,
    ChannelReply,
    WebhookRequest,
    error_reply,
)
from postcall.channels.events import EventsChannel
from postcall.channels.twilio import TwilioChannel
from postcall.channels.twilio_twiml import AgentTransferSettings, TwilioVoiceSettings
from postcall.errors import ChannelError
from postcall.lifecycle.session import (
    ForeignConversationError,
    Sessions,
    TurnOutcome,
    UnknownConversationError,
)
from postcall.topics.agent import Agent

log = structlog.get_logger("postcall.webhooks")

MAX_BODY_BYTES = 64 * 1024


class _Channel(Protocol):
    def parse(self, request: WebhookRequest) -> ChannelInput: ...
    def error_reply(self, error: ChannelError) -> ChannelReply: ...


def _response(reply: ChannelReply) -> Response:
    return Response(
        content=reply.body, status_code=reply.status, media_type=reply.content_type, headers=dict(reply.headers)
    )


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ChannelError(f"The request body is {declared} bytes; the limit is {limit} bytes.", status=413, field="body")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ChannelError(f"The request body exceeds the limit of {limit} bytes.", status=413, field="body")
        chunks.append(chunk)
    return b"".join(chunks)


async def _run(sessions: Sessions, channel_name: str, inp: ChannelInput) -> TurnOutcome | None:
    if isinstance(inp, Acknowledge):
        return None
    # One span per webhook turn, in the call's own trace (postcall/tracing.py).
    kind = "start" if isinstance(inp, CallStarted) else str(getattr(inp.activity, "type", "activity"))
    with tracing.call_span("postcall.turn", inp.conversation_id,
                           {"postcall.channel": channel_name, "postcall.activity": kind, "postcall.event_id": inp.event_id}) as span:
        outcome = await _turn(sessions, channel_name, inp)
        if outcome is not None and outcome.ended:
            tracing.set_attributes(span, **{tracing.END_REASON: outcome.end_reason, "postcall.ended": True})
        return outcome


async def _turn(sessions: Sessions, channel_name: str, inp: ChannelInput) -> TurnOutcome | None:
    if isinstance(inp, CallStarted):
        return await sessions.start(
            inp.conversation_id,
            channel=channel_name,
            caller=inp.caller,
            callee=inp.callee,
            event_id=inp.event_id,
            sequence=inp.sequence,
        )
    if isinstance(inp, ActivityInput):
        return await sessions.handle(  # UnknownConversationError when there is no such call
            inp.conversation_id, inp.activity, event_id=inp.event_id, sequence=inp.sequence,
            channel=channel_name,  # ForeignConversationError when another channel started it
        )
    return None


def _endpoint(
    sessions: Sessions,
    channel: _Channel,
    channel_name: str,
    render: Callable[[WebhookRequest, TurnOutcome | None], ChannelReply],
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            body = await _read_body(request, MAX_BODY_BYTES)
            wreq = WebhookRequest.build(request.method, str(request.url), dict(request.headers), body)
            inp = channel.parse(wreq)
        except ChannelError as exc:
            log.warning("webhook_refused", channel=channel_name, status=exc.status, field=exc.field, reason=str(exc))
            return _response(channel.error_reply(exc))
        try:
            outcome = await _run(sessions, channel_name, inp)
        except ForeignConversationError as exc:
            log.warning("webhook_foreign_conversation", channel=channel_name, owner=exc.owner,
                        conversation_id=exc.conversation_id)
            return _response(channel.error_reply(ChannelError(str(exc), status=409, field="conversation_id")))
        except UnknownConversationError as exc:
            log.warning("webhook_unknown_conversation", channel=channel_name, conversation_id=exc.conversation_id)
            return _response(channel.error_reply(ChannelError(str(exc), status=404, field="conversation_id")))
        return _response(render(wreq, outcome))

    return endpoint


@dataclass(frozen=True, slots=True)
class _RouteName:
    path: str


def _add_route(router: APIRouter, path: str, endpoint: Callable[[Request], Awaitable[Response]],
               *, methods: list[str]) -> None:
    """Mount a plain Starlette route that, like FastAPI's, names its path template in the scope
    (the request log's and the metrics' `route` label)."""
    name = _RouteName(path)

    async def named(request: Request) -> Response:
        request.scope["route"] = name
        return await endpoint(request)

    router.add_route(path, named, methods=methods, include_in_schema=False)


def channel_router(
    sessions: Sessions,
    *,
    twilio: TwilioChannel | None,
    events: EventsChannel | None,
) -> APIRouter:
    """The /channels/* routes for the configured channels (unconfigured ones answer 503).

    Plain Starlette routes (`add_route`), not FastAPI's: a webhook reads its raw body itself,
    so FastAPI's parameter and dependency handling would only add work to every call's turn.
    """
    router = APIRouter(include_in_schema=False)

    if twilio is not None:
        tw = twilio

        def render_twilio(wreq: WebhookRequest, outcome: TurnOutcome | None) -> ChannelReply:
            if outcome is None:
                return tw.ack()
            return tw.respond(wreq, list(outcome.outputs), turn=outcome.turn, ended=outcome.ended)

        twilio_endpoint = _endpoint(sessions, tw, "twilio", render_twilio)
        for path in tw.paths:
            _add_route(router, path, twilio_endpoint, methods=["POST", "GET"])
    else:
        _add_route(router, "/channels/twilio/{rest:path}", _unconfigured("Twilio", "TWILIO_AUTH_TOKEN"), methods=["POST", "GET"])

    if events is not None:
        ev = events

        def render_events(wreq: WebhookRequest, outcome: TurnOutcome | None) -> ChannelReply:
            if outcome is None:
                return ev.respond([], ended=None)
            return ev.respond(list(outcome.outputs), ended=outcome.ended, end_reason=outcome.end_reason)

        _add_route(router, "/channels/events", _endpoint(sessions, ev, "events", render_events), methods=["POST"])
    else:
        _add_route(router, "/channels/events", _unconfigured("call-events", "POSTCALL_EVENTS_SECRET"), methods=["POST"])
    return router


def _unconfigured(name: str, env_var: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return _response(
            error_reply(ChannelError(f"The {name} channel is not configured; set {env_var}.", status=503))
        )

    return endpoint


# ----------------------------------------------------------------------------------------------
# Building the channels from agent.yaml and the environment


def build_channels(
    agent: object,
    *,
    public_base_url: str | None,
    secret: Callable[[str, str, str | None], tuple[str, str | None]],
) -> tuple[TwilioChannel, EventsChannel]:
    """The Twilio and call-events channels of an agent.

    `secret(name, env_var, file)` returns a secret and where it came from: the environment
    variable, the secret file named in agent.yaml, or (for development) a file generated once
    under the agent's `.postcall/`.  Secrets never come from agent.yaml in clear.
    """

    assert isinstance(agent, Agent)
    config = agent.config
    tw_conf = config.channels.twilio
    token, _ = secret("twilio_auth_token", "TWILIO_AUTH_TOKEN", tw_conf.auth_token_file if tw_conf else None)
    voice = TwilioVoiceSettings(
        voice=config.voice.voice,
        language=config.voice.language or agent.language,
        input_timeout_s=max(1, config.voice.silence_timeout_ms // 1000),
    )
    transfer = None
    if tw_conf is not None and tw_conf.transfer_to_agent is not None:
        t = tw_conf.transfer_to_agent
        transfer = AgentTransferSettings(mode=t.mode, workflow_sid=t.workflow_sid, target=t.target)
    twilio = TwilioChannel(
        token,
        public_base_url=(tw_conf.public_base_url if tw_conf and tw_conf.public_base_url else public_base_url),
        voice=voice,
        transfer_to_agent=transfer,
        caller_id=tw_conf.caller_id if tw_conf else None,
    )
    ev_conf = config.channels.events
    events_secret, _ = secret("events_secret", "POSTCALL_EVENTS_SECRET", ev_conf.secret_file if ev_conf else None)
    events = EventsChannel(
        events_secret, replay_window_s=ev_conf.replay_window_seconds if ev_conf else 300
    )
    return twilio, events
