"""`postcall serve`: the HTTP server (channels, API, console), the watchdog, and the executor process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import click
import structlog

from postcall import tracing
from postcall.errors import ConfigError, PostCallError

log = structlog.get_logger("postcall.serve")


def _parse_env(values: tuple[str, ...]) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE.", param_hint="--env")
        env[name] = value
    return env


class _Child:
    """A supervised child process, restarted when it dies while the server runs."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"supervise-{name}", daemon=True)

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, env=self.env)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stopping.is_set():
            proc = self.proc
            if proc is None:
                return
            code = proc.wait()
            if self._stopping.is_set():
                return
            log.warning("child_exited_restarting", child=self.name, returncode=code)
            if self._stopping.wait(1.0):
                return
            self.proc = subprocess.Popen(self.argv, env=self.env)

    def stop(self, timeout: float = 35.0) -> None:
        self._stopping.set()
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


GITIGNORE = (
    "# postcall's data folder: the database (transcripts, variables, post-call payloads) and secrets\n"
    "# (Twilio auth token, call-events secret, admin token hash, session key). Never commit it.\n"
    "*\n"
)


def write_gitignore(data_dir: Path) -> None:
    """`.postcall/.gitignore` ignoring everything, so `git add .` never commits secrets or call data."""
    path = data_dir / ".gitignore"
    if not path.exists():
        path.write_text(GITIGNORE, encoding="utf-8")


def _example_crm(agent_dir: Path, data_dir: Path, port: int) -> _Child:
    crm = agent_dir.parent / "crm" / "crm_app.py"
    if not crm.is_file():
        raise ConfigError(f"--with-example-crm: no example CRM at {str(crm)!r}.")
    return _Child(
        "example-crm",
        [sys.executable, str(crm), "--host", "127.0.0.1", "--port", str(port), "--db", str(data_dir / "crm.sqlite")],
    )


@click.command("serve")
@click.argument("agent", type=click.Path(exists=True))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--db", "db", metavar="URL", help="Database URL (default: $POSTCALL_DATABASE_URL or AGENT/.postcall/postcall.db).")
@click.option("--public-base-url", metavar="URL", help="The URL Twilio and browsers use (behind a proxy); signatures are checked against it.")
@click.option("--env", "env_items", multiple=True, metavar="NAME=VALUE", help="Override an agent env value (Env.NAME).")
@click.option("--workers", type=click.IntRange(min=0), default=1, show_default=True, help="Executor processes to start beside the server (0: run post-call runs elsewhere, e.g. `postcall worker`).")
@click.option("--concurrency", type=click.IntRange(min=1), default=None, help="Post-call runs at once per executor process (default: 4 on SQLite, 16 on PostgreSQL).")
@click.option("--with-example-crm", is_flag=True, help="Also start examples/crm (the example agent's CRM) on 127.0.0.1:8765.")
@click.option("--crm-port", type=click.IntRange(1, 65535), default=8765, show_default=True)
def serve(
    agent: str,
    host: str,
    port: int,
    db: str | None,
    public_base_url: str | None,
    env_items: tuple[str, ...],
    workers: int,
    concurrency: int | None,
    with_example_crm: bool,
    crm_port: int,
) -> None:
    """Serve AGENT: Twilio and call-events webhooks, the REST API, the console, post-call runs."""
    import uvicorn

    from postcall.cli.hint import call_hint
    from postcall.lifecycle.programs import ENV_OVERRIDES_VAR
    from postcall.lifecycle.runtime import RuntimeSettings, open_runtime, resolve_secret
    from postcall.logging import configure_logging
    from postcall.server.app import create_app
    from postcall.server.webhooks import build_channels, channel_router
    from postcall.store.database import printable_url

    env = _parse_env(env_items)
    configure_logging()
    children: list[_Child] = []
    try:
        agent_dir = Path(agent).resolve()
        data_dir = (agent_dir if agent_dir.is_dir() else agent_dir.parent) / ".postcall"
        if with_example_crm:
            children.append(_example_crm(agent_dir, data_dir, crm_port))
            children[-1].start()
        runtime = open_runtime(
            agent,
            database_url=db,
            env_overrides=env,
            settings=RuntimeSettings(host=host, port=port, public_base_url=public_base_url),
        )
        write_gitignore(runtime.settings.data_dir)
        base = public_base_url or f"http://{host}:{port}"

        def secret(name: str, env_var: str, secret_file: str | None) -> tuple[str, str | None]:
            return resolve_secret(runtime.settings.data_dir, name, env_var, secret_file)

        twilio, events = build_channels(runtime.agent, public_base_url=public_base_url, secret=secret)
        _, twilio_token_file = secret("twilio_auth_token", "TWILIO_AUTH_TOKEN", None if runtime.agent.config.channels.twilio is None else runtime.agent.config.channels.twilio.auth_token_file)
        runtime.channel_router = channel_router(runtime.sessions, twilio=twilio, events=events)
        app = create_app(runtime)
        for n in range(workers):
            argv = [sys.executable, "-m", "postcall.cli.main", "worker", str(agent_dir), "--db", runtime.store.url,
                    "--executor-id", f"serve-{os.getpid()}-{n}"]
            if concurrency is not None:
                argv += ["--concurrency", str(concurrency)]
            child = _Child(f"executor-{n}", argv, env={**os.environ, ENV_OVERRIDES_VAR: json.dumps(env)})
            child.start()
            children.append(child)
    except (PostCallError, OSError) as exc:
        for child in children:
            child.stop()
        raise click.ClickException(str(exc)) from None

    auth = app.state.admin_auth
    click.echo(f"postcall serving agent {runtime.agent.name!r} from {agent_dir}")
    click.echo(f"  console:        {base}/console")
    click.echo(f"  API docs:       {base}/docs")
    click.echo(f"  Twilio webhook: {base}/channels/twilio/voice  (status callback: {base}/channels/twilio/status)")
    click.echo(f"  call events:    {base}/channels/events")
    click.echo(f"  database:       {printable_url(runtime.store.url)}")
    if getattr(auth, "generated_token", None):
        click.echo(f"  admin token:    {auth.generated_token}   (printed once; stored hashed in {data_dir})")
    elif os.environ.get("POSTCALL_ADMIN_TOKEN"):
        click.echo("  admin token:    from POSTCALL_ADMIN_TOKEN")
    else:
        click.echo(f"  admin token:    generated at first start (stored hashed in {data_dir}); set POSTCALL_ADMIN_TOKEN to choose one")
    if with_example_crm:
        click.echo(f"  example CRM:    http://127.0.0.1:{crm_port}/cases/1001")
    click.echo("Place a simulated Twilio call in another terminal"
               + ("" if twilio_token_file else " (with the same TWILIO_AUTH_TOKEN in its environment)") + ":")
    click.echo(f"  {call_hint(runtime.agent, base, twilio_token_file)}")

    config = uvicorn.Config(app, host=host, port=port, log_level="warning", proxy_headers=False, lifespan="on")
    server = uvicorn.Server(config)

    async def main() -> None:
        async def watchdog() -> None:
            while not server.should_exit:
                try:
                    ended = await runtime.sessions.end_idle()
                    if tracing.enabled():
                        for cid in ended:  # a call the watchdog ended: its end in the call's trace
                            conv = await asyncio.to_thread(runtime.store.get_conversation, cid)
                            with tracing.call_span("postcall.watchdog_end", cid,
                                                   {tracing.END_REASON: conv.end_reason if conv else None}):
                                pass
                except Exception:  # the watchdog must outlive a bad conversation
                    log.exception("watchdog_failed")
                await asyncio.sleep(runtime.settings.watchdog_interval_s)

        async def purge() -> None:
            # The retention of agent.yaml, applied by every serve process on its own schedule:
            # purges are idempotent and skip runs in flight, so two servers may both run them.
            from postcall.lifecycle.retention import purge as run_purge

            retention = runtime.agent.config.retention
            interval = retention.purge_interval_minutes * 60.0
            if retention.keeps_everything or interval <= 0:
                return
            while not server.should_exit:
                try:
                    report = await asyncio.to_thread(run_purge, runtime.store, retention)
                    if report.total:
                        log.info("retention_purged", purged=report.purged, skipped_in_flight=report.skipped_in_flight)
                except Exception:  # a failed purge is retried at the next interval
                    log.exception("retention_purge_failed")
                await asyncio.sleep(interval)

        tasks = [asyncio.create_task(watchdog()), asyncio.create_task(purge())]
        try:
            await server.serve()
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await runtime.sessions.aclose()

    # uvicorn answers SIGTERM by shutting down, then raises the signal again under the handler
    # that was there before it started: with the default one the process would die on the spot,
    # leaving the executor and CRM children running.  Ours asks for the same graceful exit, so
    # the children are stopped below whenever the signal comes.
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: setattr(server, "should_exit", True))
    try:
        asyncio.run(main())
    finally:
        for child in reversed(children):
            child.stop()
        runtime.close()
        signal.signal(signal.SIGTERM, previous)


def register(group: click.Group) -> None:
    """Add `serve` to the `postcall` group."""
    group.add_command(serve)
