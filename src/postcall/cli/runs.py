"""`postcall runs` (list and redrive post-call runs) and `postcall worker` (an executor process)."""

from __future__ import annotations

import importlib
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from postcall.errors import PostCallError
from postcall.redaction import redact_json
from postcall.store import Run, Store, open_store, resolve_database_url
from postcall.store.database import is_sqlite, printable_url, sqlalchemy_url

if TYPE_CHECKING:
    from postcall.durable.program import ProgramRegistry

STATUS_CHOICES = ("pending", "running", "succeeded", "failed")


class _RunsGroup(click.Group):
    """`postcall runs [AGENT]` lists; `postcall runs redrive ...` is a subcommand, not an agent."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # A group stops parsing at its first positional.  Reorder so that the group's options
        # come first wherever they were written (`postcall runs AGENT --status failed`), and
        # parse without the AGENT argument when a subcommand comes first.
        takes_value = {name for p in self.params if isinstance(p, click.Option) and not p.is_flag for name in p.opts}
        options: list[str] = []
        positionals: list[str] = []
        rest: list[str] = []
        i = 0
        while i < len(args):
            arg = args[i]
            if arg.startswith("-") and arg != "-":
                options.append(arg)
                if arg in takes_value and i + 1 < len(args):
                    options.append(args[i + 1])
                    i += 1
            elif arg in self.commands:
                rest = args[i:]
                break
            else:
                positionals.append(arg)
            i += 1
        args = options + positionals + rest
        if rest and not positionals:
            saved = self.params
            self.params = [p for p in saved if not isinstance(p, click.Argument)]
            try:
                return super().parse_args(ctx, args)
            finally:
                self.params = saved
                ctx.params.setdefault("agent", None)
        return super().parse_args(ctx, args)


def database_url(agent: str | None, db: str | None) -> str:
    """The database `serve AGENT` uses: --db, else $POSTCALL_DATABASE_URL, else AGENT/.postcall/postcall.db."""
    try:
        return resolve_database_url(agent or ".", db)
    except PostCallError as exc:
        raise click.ClickException(str(exc)) from exc


def _no_database_hint(agent: str | None, db: str | None) -> str:
    """What to do when the default database is missing: usually the agent folder was not given."""
    if agent is None and db is None:
        return " Give the agent folder (`postcall runs AGENT`) or --db URL, as for `postcall serve`."
    return ""


def _resolve_ids(store: Store, run_ids: Sequence[str]) -> list[str]:
    """Whole run ids from whole ids or unique prefixes (a clear error when one matches none or several)."""
    try:
        return [store.resolve_run_id(run_id) for run_id in run_ids]
    except PostCallError as exc:
        raise click.ClickException(str(exc)) from exc


def open_existing(url: str, *, must_exist: bool = True) -> Store | None:
    if must_exist and is_sqlite(url):
        path = sqlalchemy_url(url).database
        if path is None or not Path(path).exists():
            return None
    try:
        return open_store(url)
    except PostCallError as exc:
        raise click.ClickException(str(exc)) from exc
    except Exception as exc:  # a driver error (server down, bad credentials) with its own words
        raise click.ClickException(f"Could not open the database {printable_url(url)}: {exc}") from exc


def _short(text: str | None, width: int) -> str:
    text = (text or "").replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def _format_exchange(run: Run) -> list[str]:
    step = run.failing_step
    if step is None:
        return []
    lines = [f"    failing step {step.step} (node {step.node_id}, {step.kind}), attempt {step.attempt}:"]
    request = step.request or {}
    if "method" in request:
        lines.append(f"      request:  {request.get('method')} {request.get('url')}")
        for name, value in (request.get("headers") or {}).items():
            lines.append(f"                {name}: {value}")
        if request.get("body"):
            lines.append(f"                body: {_short(str(request['body']), 400)}")
    elif request:
        lines.append(f"      request:  {_short(json.dumps(request), 400)}")
    response = step.response
    if response and "status_code" in response:
        lines.append(f"      response: {response.get('status_code')}")
        for name, value in (response.get("headers") or {}).items():
            if name.lower() in ("content-type", "retry-after", "date"):
                lines.append(f"                {name}: {value}")
        if response.get("body"):
            lines.append(f"                body: {_short(str(response['body']), 400)}")
    elif response:
        lines.append(f"      response: {_short(json.dumps(response), 400)}")
    else:
        lines.append(f"      response: none ({step.error_category}: {step.error})")
    return lines


def _print_runs(runs: Sequence[Run], url: str, hint: str = "") -> None:
    if not runs:
        click.echo(f"No post-call runs in {printable_url(url)}.{hint}")
        return
    # Run ids are printed whole (they are copied into `redrive`, which also takes a unique prefix).
    width = max(len("RUN"), *(len(run.id) for run in runs))
    header = f"{'RUN':<{width}} {'STATUS':<10} {'ATTEMPTS':>8} {'REDRIVES':>8}  {'UPDATED':<19}  ERROR"
    click.echo(header)
    for run in runs:
        updated = run.updated_at.strftime("%Y-%m-%d %H:%M:%S")
        click.echo(
            f"{run.id:<{width}} {run.status:<10} {run.attempts:>8} {run.redrives:>8}  {updated:<19}  {_short(run.error, 80)}"
        )
        if run.status == "failed":
            for line in _format_exchange(run):
                click.echo(line)


@click.group(cls=_RunsGroup, invoke_without_command=True)
@click.argument("agent", required=False, type=click.Path(file_okay=True, dir_okay=True))
@click.option("--status", type=click.Choice(STATUS_CHOICES), help="Only runs in this status.")
@click.option("--conversation", "conversation_id", help="Only the runs of this conversation.")
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
@click.option("--db", "db", metavar="URL", help="Database URL (default: $POSTCALL_DATABASE_URL or AGENT/.postcall/postcall.db).")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.pass_context
def runs(
    ctx: click.Context, agent: str | None, status: str | None, conversation_id: str | None, fmt: str, db: str | None, limit: int
) -> None:
    """List post-call runs with their error, attempts and the failing request and response (secrets masked)."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = {"db": db, "agent": agent}
        return
    url = database_url(agent, db)
    store = open_existing(url)
    found: list[Run] = []
    if store is not None:
        try:
            found = store.list_runs(status=status, conversation_id=conversation_id, limit=limit, with_steps=True)
        finally:
            store.close()
    if fmt == "json":
        shown = [redact_json(r.to_json(with_steps=False)) for r in found]  # as the API shows them
        click.echo(json.dumps({"database": printable_url(url), "runs": shown}, indent=2))
    else:
        _print_runs(found, url, "" if store is not None else _no_database_hint(agent, db))


def _live_workers(store: Store, stale_after_s: float) -> list[str]:
    now, others = store.recovery_candidates("")
    return [w.executor_id for w in others if w.state == "running" and now - w.last_seen_epoch <= stale_after_s]


def _programs_for(agent_path: str, extra: Sequence[str], store: Store | None = None) -> ProgramRegistry:
    """The registry an executor started here runs, built explicitly: the agent's post-call topics
    (lifecycle), then each `--install MODULE:FUNCTION` the user named, called with the registry and
    the agent path to register programs of its own (drills and tests add the developer tools'
    scripted program with `--install postcall.devtools.scripted:install`)."""
    from postcall.durable.program import ProgramRegistry
    from postcall.lifecycle import programs as lifecycle_programs

    programs = ProgramRegistry()
    try:
        lifecycle_programs.register_agent_at(programs, agent_path, store=store)
    except PostCallError as exc:
        raise click.ClickException(str(exc)) from exc
    for hook in extra:
        module_name, _, attr = hook.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise click.ClickException(f"Could not import the program hook {hook!r}: {exc}") from exc
        function: Callable[..., Any] | None = getattr(module, attr, None) if attr else None
        if function is None:
            raise click.ClickException(f"The program hook {hook!r} does not exist (give MODULE:FUNCTION).")
        try:
            function(programs, agent_path)
        except PostCallError as exc:
            raise click.ClickException(str(exc)) from exc
    return programs


@runs.command("redrive")
@click.argument("run_ids", nargs=-1, metavar="[RUN_ID]...")
@click.option("--all-failed", is_flag=True, help="Redrive every failed run.")
@click.option("--agent", "agent", default=None, type=click.Path(), help="The agent folder (for the default database and its programs); `postcall runs AGENT redrive ...` gives it too [default: .].")
@click.option("--db", "db", metavar="URL", help="Database URL.")
@click.option("--wait/--no-wait", default=None, help="Wait for the runs to finish (default: only when no worker is running).")
@click.option("--timeout", "timeout_s", type=float, default=300.0, show_default=True, help="Seconds to wait.")
@click.option("--install", "hooks", multiple=True, metavar="MODULE:FUNCTION", help="Extra program hook(s) to call with (program registry, agent path).")
@click.pass_context
def redrive(
    ctx: click.Context, run_ids: tuple[str, ...], all_failed: bool, agent: str | None, db: str | None, wait: bool | None, timeout_s: float, hooks: tuple[str, ...]
) -> None:
    """Resume failed runs from their failed step; completed steps are not repeated.

    The run keeps its id and its Idempotency-Keys.  If no worker is running, the runs are
    executed here (this needs the agent's programs) and the command waits for them.
    """
    if not run_ids and not all_failed:
        raise click.UsageError("Give RUN_ID(s) or --all-failed.")
    parent = ctx.obj or {}
    given_agent = agent or parent.get("agent")
    agent = given_agent or "."
    db = db or parent.get("db")
    url = database_url(agent, db)
    store = open_existing(url)
    if store is None:
        raise click.ClickException(
            f"No database at {printable_url(url)}: nothing has run yet.{_no_database_hint(given_agent, db)}"
        )
    try:
        try:
            results = store.redrive_all_failed() if all_failed else [store.redrive(r) for r in _resolve_ids(store, run_ids)]
        except PostCallError as exc:
            raise click.ClickException(str(exc)) from exc
        if not results:
            click.echo("No failed runs to redrive.")
            return
        for result in results:
            click.echo(f"redriven {result.run_id} from step {result.from_step}")
        workers = _live_workers(store, stale_after_s=15.0)
        ids = [r.run_id for r in results]
        if workers:
            click.echo(f"handed to the running worker(s): {', '.join(workers)}")
            if wait:
                _wait_and_report(store, ids, timeout_s)
            return
        if wait is False:
            click.echo("No worker is running: the runs will execute when one starts.")
            return
        from postcall.durable import Executor, ExecutorConfig

        programs = _programs_for(agent, hooks, store)
        executor = Executor(ExecutorConfig(database_url=url, agent=str(Path(agent).resolve())), programs, store=store)
        try:
            executor.start()
        except Exception as exc:
            raise click.ClickException(f"Could not start an executor to run the redriven runs: {exc}") from exc
        try:
            _wait_and_report(store, ids, timeout_s, executor=executor)
        finally:
            executor.stop()
    finally:
        store.close()


def _wait_and_report(store: Store, run_ids: list[str], timeout_s: float, executor: Any = None) -> None:
    deadline = time.monotonic() + timeout_s
    statuses: dict[str, str] = {}
    while time.monotonic() < deadline:
        statuses = {}
        for run_id in run_ids:
            run = store.get_run(run_id, with_steps=False)
            statuses[run_id] = run.status if run else "missing"
        if all(s in ("succeeded", "failed") for s in statuses.values()):
            break
        time.sleep(0.1)
    failed = False
    for run_id, status in statuses.items():
        click.echo(f"{run_id}: {status}")
        failed = failed or status != "succeeded"
    if failed:
        raise click.ClickException("Not every redriven run succeeded; see `postcall runs --status failed`.")


@click.command("worker")
@click.argument("agent", type=click.Path())
@click.option("--db", "db", metavar="URL", help="Database URL, usually postgresql://... shared by every worker.")
@click.option("--concurrency", type=click.IntRange(min=1), default=None, help="Runs executing at once in this worker [default: 4 on SQLite, 16 on PostgreSQL].")
@click.option("--executor-id", help="This worker's executor id (default: host-pid-random).")
@click.option("--poll", "poll_s", type=float, default=0.02, show_default=True, help="Queue polling interval, seconds.")
@click.option("--heartbeat", "heartbeat_s", type=float, default=2.0, show_default=True, help="Heartbeat interval, seconds.")
@click.option("--stale-after", "stale_after_s", type=float, default=15.0, show_default=True, help="A worker silent this long is taken over.")
@click.option("--no-local-pid-check", is_flag=True, help="Detect dead workers on this host by heartbeat only.")
@click.option("--drain-timeout", "drain_timeout_s", type=float, default=30.0, show_default=True, help="On SIGTERM, seconds to finish current steps.")
@click.option("--install", "hooks", multiple=True, metavar="MODULE:FUNCTION", help="Extra program hook(s) to call with (program registry, agent path).")
@click.option("--env", "env_items", multiple=True, metavar="NAME=VALUE", help="Override an agent env value (Env.NAME), as `serve --env` does.")
@click.option("--log-level", default="INFO", show_default=True, type=click.Choice(("DEBUG", "INFO", "WARNING", "ERROR")))
def worker(
    agent: str,
    db: str | None,
    concurrency: int | None,
    executor_id: str | None,
    poll_s: float,
    heartbeat_s: float,
    stale_after_s: float,
    no_local_pid_check: bool,
    drain_timeout_s: float,
    hooks: tuple[str, ...],
    env_items: tuple[str, ...],
    log_level: str,
) -> None:
    """Run post-call runs of AGENT from the shared database until SIGTERM (then finish the current steps and stop)."""
    if env_items:
        from postcall.cli.serve import _parse_env
        from postcall.lifecycle.programs import ENV_OVERRIDES_VAR

        merged = {**json.loads(os.environ.get(ENV_OVERRIDES_VAR) or "{}"), **_parse_env(env_items)}
        os.environ[ENV_OVERRIDES_VAR] = json.dumps(merged)
    from postcall.durable import Executor, ExecutorConfig
    from postcall.durable.executor import new_executor_id
    from postcall.logging import configure_logging, get_logger

    configure_logging(level=log_level)
    log = get_logger("postcall.worker")
    url = database_url(agent, db)
    try:
        config = ExecutorConfig(
            database_url=url,
            executor_id=executor_id or new_executor_id(),
            concurrency=concurrency,
            polling_interval_s=poll_s,
            heartbeat_interval_s=heartbeat_s,
            stale_after_s=stale_after_s,
            check_local_pids=not no_local_pid_check,
            drain_timeout_s=drain_timeout_s,
            agent=str(Path(agent).resolve()),
        )
    except PostCallError as exc:
        raise click.ClickException(str(exc)) from exc
    store = open_existing(url, must_exist=False)
    assert store is not None
    programs = _programs_for(agent, hooks, store)
    executor = Executor(config, programs, store=store)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        executor.start()
    except PostCallError as exc:
        store.close()
        raise click.ClickException(str(exc)) from exc
    except Exception as exc:  # DBOS could not launch: the database refused, most often
        store.close()
        raise click.ClickException(f"The executor could not start on {printable_url(url)}: {exc}") from exc
    log.info("worker_ready", executor_id=config.executor_id, database=printable_url(url), programs=programs.names())
    click.echo(f"worker {config.executor_id} running on {printable_url(url)}", err=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        handed_back = executor.stop(drain=True)
        store.close()
        log.info("worker_exit", executor_id=config.executor_id, handed_back=handed_back)


def register(group: click.Group) -> None:
    """Add `runs` (with `redrive`) and `worker` to the `postcall` group."""
    group.add_command(runs)
    group.add_command(worker)
