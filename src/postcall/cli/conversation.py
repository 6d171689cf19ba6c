"""`postcall chat` and `postcall call`: talk to an agent in the terminal, or script a call.

Both run the conversation in this process (postcall.testing.Conversation: real HTTP for backend
actions, post-call topics run right after the end) and print the transcript, the end and the
post-call runs.  `call` takes its steps as options and runs them in the order given.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Sequence
from typing import Any

import click

from postcall.cli.simulated import ignored_note
from postcall.clock import FixedClock, SystemClock
from postcall.engine.activity import TransferToPhoneNumber
from postcall.errors import TopicError
from postcall.testing import Conversation
from postcall.vocabulary import EndReason, TransferOutcome

TRANSFER_CHOICES = ("answered", "busy", "no-answer", "failed")

# Options of `call` that are steps, in command-line order (name -> takes a value).
STEP_OPTIONS: dict[str, bool] = {
    "--say": True,
    "--press": True,
    "--silence": False,
    "--transfer-result": True,
    "--hang-up": False,
}
VALUE_OPTIONS = ("--env", "--format", "--conversation-id", "--twilio", "--auth-token-file", "--admin-token")


def scan_steps(args: Sequence[str]) -> list[tuple[str, str | None]]:
    """The step options of a command line in the order written: [("say", "hi"), ("hang-up", None)]."""
    steps: list[tuple[str, str | None]] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            break
        name, eq, inline = arg.partition("=")
        if name in STEP_OPTIONS:
            if STEP_OPTIONS[name]:
                if eq:
                    value: str | None = inline
                elif i + 1 < len(args):
                    value = args[i + 1]
                    i += 1
                else:
                    value = None  # click reports the missing value
                steps.append((name[2:], value))
            else:
                steps.append((name[2:], None))
        elif name in VALUE_OPTIONS and not eq:
            i += 1
        i += 1
    return steps


class OrderedStepsCommand(click.Command):
    """A command that remembers the order of its step options (click groups them by name)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["postcall.steps"] = scan_steps(args)
        return super().parse_args(ctx, args)


def parse_env(values: Sequence[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in values:
        name, eq, value = item.partition("=")
        if not eq or not name.strip():
            raise click.BadParameter(f"{item!r} is not NAME=VALUE.", param_hint="--env")
        env[name.strip()] = value
    return env


def open_conversation(agent: str, env: dict[str, str], conversation_id: str | None) -> Conversation:
    try:
        return Conversation(
            agent,
            env=env,
            clock=FixedClock(SystemClock().now().replace(microsecond=0)),
            conversation_id=conversation_id or f"cli-{uuid.uuid4().hex[:12]}",
            in_test_mode=True,
            channel_id="cli",
        )
    except TopicError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1) from exc


# ---------------------------------------------------------------------------------------------
# printing


def _step_line(step: dict[str, Any]) -> str | None:
    request = step.get("request")
    if not request:
        return None
    result = step.get("result") or {}
    payload = request.get("payload", {})
    if request["kind"] == "http":
        what = f"{payload.get('method')} {payload.get('url')}"
    elif request["kind"] == "flow":
        what = f"flow {payload.get('flow_id')}"
    elif request["kind"] == "model":  # a prompt or a generative answer: the purpose, never the text
        what = f"model {payload.get('purpose') or 'call'} at {request.get('node_id')}"
    elif request["kind"] == "log":
        what = f"log {payload.get('event_name')}"
    else:
        what = str(request["kind"])
    if not result:
        got = "not run"
    elif result.get("status_code") is not None:
        got = f"HTTP {result['status_code']}"
    else:
        got = "ok" if result.get("ok") else f"failed: {result.get('error')}"
    return f"    {what} -> {got}"


def print_report(conv: Conversation, *, transcript: bool = True) -> None:
    if transcript:
        for line in conv.transcript:
            prefix = {"caller": "caller: ", "agent": "agent:  "}.get(line.who, "")
            click.echo(f"{prefix}{line.text}")
    end = conv.end
    if end is not None:
        click.echo(f"end: {end.reason} (initiator {end.initiator}, {end.source}"
                   + (f", raw {end.raw!r}" if end.raw else "") + ")")
        if end.transfer is not None:
            click.echo(f"  transfer to {end.transfer.target}: {end.transfer.outcome}")
    for run in conv.post_call_runs:
        click.echo(f"post-call {run.topic!r}: {run.status}" + (f" ({run.error})" if run.error else ""))
        for step in run.steps:
            step_line = _step_line(step)
            if step_line:
                click.echo(step_line)
        for warning in run.warnings:
            click.echo(f"    warning: {warning}")


def report_json(conv: Conversation) -> dict[str, Any]:
    return conv.to_json()


def answer_transfers(conv: Conversation, outcomes: list[str]) -> None:
    """Answer every ringing transfer: the next configured outcome, else answered."""
    while not conv.ended and conv.state.waiting_for == "transfer":
        conv.transfer_result(outcomes.pop(0) if outcomes else str(TransferOutcome.ANSWERED))


def run_script(conv: Conversation, steps: Sequence[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    """Run `call` steps in order; the caller hangs up when they run out and the call goes on.

    Returns the steps that came after the end of the call (not played)."""
    outcomes: list[str] = []
    conv.start()
    answer_transfers(conv, outcomes)
    for index, (kind, value) in enumerate(steps):
        if conv.ended:
            return list(steps[index:])
        if kind == "say":
            conv.say(value or "")
        elif kind == "press":
            conv.press(value or "")
        elif kind == "silence":
            conv.silence()
        elif kind == "transfer-result":
            outcomes.append(value or "answered")
        elif kind == "hang-up":
            conv.hang_up()
        answer_transfers(conv, outcomes)
    if not conv.ended:
        conv.hang_up()
    return []


# ---------------------------------------------------------------------------------------------
# commands


@click.command(cls=OrderedStepsCommand)
@click.argument("agent", required=False, type=click.Path(exists=True))
@click.option("--say", "says", multiple=True, metavar="TEXT", help="The caller says TEXT.")
@click.option("--press", "presses", multiple=True, metavar="DIGITS", help="The caller keys DIGITS.")
@click.option("--silence", "silences", count=True, help="The caller says nothing (a listen timeout).")
@click.option(
    "--transfer-result", "transfer_results", multiple=True,
    type=click.Choice(TRANSFER_CHOICES),
    help="How the channel answers the first transfer after this option (default: answered).",
)
@click.option("--hang-up", "hang_ups", count=True, help="The caller hangs up.")
@click.option("--env", "env", multiple=True, metavar="NAME=VALUE", help="Override an Env value.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--conversation-id", default=None, help="Conversation id (default: random).")
@click.option("--twilio", "twilio_url", metavar="URL", help="Drive a running `postcall serve` at URL exactly as Twilio would (signed webhooks) instead of running AGENT here.")
@click.option("--auth-token-file", type=click.Path(exists=True, dir_okay=False), help="With --twilio: the file holding the Twilio auth token (default: $TWILIO_AUTH_TOKEN).")
@click.option("--admin-token", envvar="POSTCALL_ADMIN_TOKEN", help="With --twilio: the server's admin token, to print the end and the post-call runs (default: $POSTCALL_ADMIN_TOKEN).")
@click.pass_context
def call(
    ctx: click.Context,
    agent: str,
    says: tuple[str, ...],
    presses: tuple[str, ...],
    silences: int,
    transfer_results: tuple[str, ...],
    hang_ups: int,
    env: tuple[str, ...],
    fmt: str,
    conversation_id: str | None,
    twilio_url: str | None,
    auth_token_file: str | None,
    admin_token: str | None,
) -> None:
    """Run a scripted call against AGENT; steps run in the order given.

    Example: postcall call examples/contoso-support --say "case status" --press 12345# --hang-up

    With --twilio URL the call goes to a running server through its Twilio webhooks instead.
    """
    steps: list[tuple[str, str | None]] = ctx.meta.get("postcall.steps", [])
    if twilio_url is not None:
        from postcall.cli.simulated import simulated_call

        simulated_call(twilio_url, steps, auth_token_file=auth_token_file, admin_token=admin_token,
                       call_sid=conversation_id, fmt=fmt)
        return
    if agent is None:
        raise click.UsageError("Give AGENT (run the call here) or --twilio URL (call a running server).")
    conv = open_conversation(agent, parse_env(env), conversation_id)
    try:
        ignored = run_script(conv, steps)
        if fmt == "json":
            report = report_json(conv)
            report["ignored_steps"] = [{"step": name, "value": value} for name, value in ignored]
            click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        else:
            print_report(conv)
            if ignored:
                reason = str(conv.end.reason) if conv.end is not None else ""
                ended_by = {str(EndReason.AGENT_HANGUP): "agent", str(EndReason.CUSTOMER_HANGUP): "caller"}.get(
                    reason, None if reason.endswith("TRANSFER") else "twilio"
                )
                click.echo(ignored_note(ignored, ended_by))
    finally:
        conv.close()


CHAT_HELP = (
    "Type what the caller says. Commands: /press DIGITS, /silence, /transfer "
    "answered|busy|no-answer|failed, /hangup (or Ctrl-D), /help."
)


def explain_lines(conv: Conversation, since: int) -> list[str]:
    """The recogniser's decisions in the turns after `since`: outcome, reason, top candidates,
    and what the engine did with each (Recognition.taken)."""
    lines: list[str] = []
    for result in conv.results[since:]:
        for rec in result.recognitions:
            who = f" ({rec.recognizer})" if rec.recognizer else ""
            lines.append(f"  [recognizer{who}] {rec.outcome}: {rec.reason}")
            chosen = {m.topic for m in rec.chosen}
            for match in rec.ranked[:3]:
                mark = "*" if match.topic in chosen else " "
                phrase = f"  (nearest phrase: {match.phrase!r})" if match.phrase else ""
                lines.append(f"   {mark} {match.score:5.2f}  {match.topic}{phrase}")
            if rec.taken is not None:
                lines.append(f"  [engine] {rec.taken.why}")
    return lines


def _chat_show(conv: Conversation, before: int) -> int:
    for line in conv.transcript[before:]:
        if line.who == "agent":
            click.echo(f"agent: {line.text}")
        elif line.who == "system":
            click.echo(line.text)
    return len(conv.transcript)


@click.command()
@click.argument("agent", type=click.Path(exists=True))
@click.option("--env", "env", multiple=True, metavar="NAME=VALUE", help="Override an Env value.")
@click.option("--conversation-id", default=None, help="Conversation id (default: random).")
@click.option("--explain", is_flag=True, help="Show, per turn, the top candidate topics with their scores and why the recogniser decided as it did.")
def chat(agent: str, env: tuple[str, ...], conversation_id: str | None, explain: bool) -> None:
    """Talk to AGENT in the terminal, as the caller.  Ctrl-D hangs up."""
    conv = open_conversation(agent, parse_env(env), conversation_id)
    click.echo(CHAT_HELP)
    shown = 0
    turns = 0
    try:
        conv.start()
        shown = _chat_show(conv, shown)
        while not conv.ended:
            if conv.state.waiting_for == "transfer":
                target = conv.transfers[-1].target if conv.transfers else None
                where = target.phone_number if isinstance(target, TransferToPhoneNumber) else "an agent"
                click.echo(f"(transfer to {where} is ringing: /transfer answered|busy|no-answer|failed)")
            click.echo("caller> ", nl=False)
            line = sys.stdin.readline()
            if not line:
                click.echo("(caller hung up)")
                conv.hang_up()
                break
            text = line.strip()
            if not text:
                continue
            if text.startswith("/"):
                command, _, arg = text[1:].partition(" ")
                arg = arg.strip()
                if command == "press" and arg:
                    conv.press(arg)
                elif command == "silence":
                    conv.silence()
                elif command == "transfer" and arg in TRANSFER_CHOICES:
                    conv.transfer_result(arg)
                elif command in ("hangup", "hang-up", "quit", "exit"):
                    conv.hang_up()
                else:
                    click.echo(CHAT_HELP)
            else:
                turns = len(conv.results)
                conv.say(text)
                if explain:
                    for line in explain_lines(conv, turns):
                        click.echo(line)
            shown = _chat_show(conv, shown)
        shown = _chat_show(conv, shown)
        print_report(conv, transcript=False)
    finally:
        conv.close()


def register(group: click.Group) -> None:
    """Add this module's commands to the `postcall` group."""
    group.add_command(chat)
    group.add_command(call)
