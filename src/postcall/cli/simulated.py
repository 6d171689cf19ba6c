"""`postcall call --twilio URL`: a simulated Twilio call against a running server, for people without a Twilio account."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from typing import Any

import click
import httpx

from postcall.devtools.twilio_simulator import SimulatedCall, TwilioSimulator, TwilioSimulatorError
from postcall.errors import ChannelError

RUNS_WAIT_S = 15.0


def _token(auth_token_file: str | None) -> str:
    if auth_token_file is not None:
        with open(auth_token_file, encoding="utf-8") as handle:
            token = handle.read().strip()
    else:
        token = os.environ.get("TWILIO_AUTH_TOKEN", "").strip()
    if not token:
        raise click.UsageError("No Twilio auth token: set TWILIO_AUTH_TOKEN or pass --auth-token-file.")
    return token


def _server_view(base_url: str, call_sid: str, admin_token: str) -> dict[str, Any] | None:
    """The end and the post-call runs as the server recorded them (waits for runs to finish)."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    deadline = time.monotonic() + RUNS_WAIT_S
    with httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=10.0, trust_env=False) as client:
        while True:
            response = client.get(f"/api/conversations/{call_sid}")
            if response.status_code != 200:
                return None
            detail: dict[str, Any] = response.json()
            runs = detail.get("runs") or []
            settled = all(r.get("status") in ("succeeded", "failed") for r in runs)
            if (detail.get("status") == "ended" and settled) or time.monotonic() > deadline:
                return detail
            time.sleep(0.2)


def describe_steps(steps: Sequence[tuple[str, str | None]]) -> str:
    """Steps as they were written on the command line: `--say 'hi', --hang-up`."""
    return ", ".join(f"--{name}" + (f" {value!r}" if value is not None else "") for name, value in steps)


def ignored_note(steps: Sequence[tuple[str, str | None]], ended_by: str | None) -> str:
    """The sentence that says which steps were not played because the call was over (or bridged)."""
    who = {"agent": "the agent hung up", "caller": "the caller hung up", "twilio": "the call ended"}.get(
        ended_by or "", "the call was bridged to a person"
    )
    return f"note: {who} before the last {len(steps)} step(s); not played: {describe_steps(steps)}"


def _play(
    base_url: str, token: str, steps: Sequence[tuple[str, str | None]], call_sid: str | None
) -> tuple[SimulatedCall, list[tuple[str, str | None]]]:
    """Play `postcall call` steps: a --transfer-result answers the first transfer after it
    (answered when none was given); the caller hangs up when the steps run out.  Returns the
    call and the steps that came after its end (not played)."""
    simulator = TwilioSimulator(base_url, token, call_sid=call_sid)
    outcomes: list[str] = []

    def answer_transfers() -> None:
        while simulator.transfer_ringing:
            simulator.transfer_result(outcomes.pop(0) if outcomes else "answered")

    try:
        simulator.start()
        answer_transfers()
        ignored: list[tuple[str, str | None]] = []
        for index, (name, argument) in enumerate(steps):
            if simulator.call.ended_by is not None or simulator.bridged:
                ignored = list(steps[index:])
                break
            if name == "transfer-result":
                outcomes.append(argument or "answered")
                continue
            simulator.step(name, argument)
            answer_transfers()
        return simulator.finish(), ignored
    finally:
        simulator.close()


def simulated_call(
    base_url: str,
    steps: Sequence[tuple[str, str | None]],
    *,
    auth_token_file: str | None,
    admin_token: str | None,
    call_sid: str | None,
    fmt: str,
) -> None:
    token = _token(auth_token_file)
    try:
        call, ignored = _play(base_url, token, steps, call_sid)
    except (ChannelError, TwilioSimulatorError, httpx.HTTPError) as exc:
        raise click.ClickException(f"The server at {base_url} refused the simulated call: {exc}") from None
    view = _server_view(base_url, call.call_sid, admin_token) if admin_token else None
    if fmt == "json":
        out: dict[str, Any] = {
            "conversation_id": call.call_sid,
            "transcript": [{"from": "caller" if line.speaker == "caller" else "agent", "text": line.text}
                           for line in call.lines],
            "ended_by": call.ended_by,
            "ignored_steps": [{"step": name, "value": value} for name, value in ignored],
        }
        if view is not None:
            out["end"] = view.get("end_record")
            out["post_call_runs"] = view.get("runs")
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    click.echo(call.render())
    if ignored:
        click.echo(ignored_note(ignored, call.ended_by))
    if view is None:
        click.echo("(set POSTCALL_ADMIN_TOKEN or --admin-token to see the end reason and post-call runs)")
        return
    end = view.get("end_record") or {}
    click.echo(f"end: {end.get('reason')} (initiator {end.get('initiator')})")
    for run in view.get("runs") or []:
        click.echo(f"post-call {run.get('topic')!r}: {run.get('status')}" + (f" ({run.get('error')})" if run.get("error") else ""))
