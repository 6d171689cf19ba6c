"""The executor: DBOS launched on the store's database, dequeuing post-call runs, beating, taking over the dead.

One per process (DBOS is a process-wide singleton).  `postcall serve` starts `postcall worker`
processes beside the server; each runs one.  An executor runs the programs of the
`ProgramRegistry` it is given at construction, and only those.  Every process gets its own executor id; the pinned
application version (`postcall.store.APP_VERSION`) lets any of them recover any run.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from postcall.durable.program import ProgramRegistry
from postcall.durable.runtime import RunRuntime, install_runtime
from postcall.durable.takeover import (
    HOSTNAME,
    TakeoverPolicy,
    process_start_token,
    take_over_dead_workers,
)
from postcall.errors import ConfigError
from postcall.logging import get_logger
from postcall.store import APP_NAME, APP_VERSION, DEFAULT_QUEUE, Store, open_store
from postcall.store.database import create_engine, is_sqlite, printable_url
from postcall.store.dbos_link import dbos_serializer

log = get_logger("postcall.executor")

TERMINAL = frozenset({"succeeded", "failed"})
SQLITE_CONCURRENCY = 8  # measured (bench/bench_durable.py): steadier than 4 once runs became synchronous workflows
POSTGRES_CONCURRENCY = 16

_lock = threading.Lock()
_running: Executor | None = None


def new_executor_id() -> str:
    """Unique per process: host, pid and a random suffix (a restarted process is a new executor)."""
    return f"{HOSTNAME}-{os.getpid()}-{secrets.token_hex(3)}"


@dataclass(frozen=True, slots=True)
class ExecutorConfig:
    """How an executor runs.  Defaults suit one `postcall serve` on SQLite."""

    database_url: str
    executor_id: str = field(default_factory=new_executor_id)
    concurrency: int | None = None
    """Runs executing at once in this process (DBOS queue worker_concurrency; stored with the
    queue, so the last worker to start sets it for all).  None: 4 on SQLite (one writer at a
    time: more runs only wait for the lock; measured in bench/bench_durable.py), 16 on PostgreSQL."""
    queue_name: str = DEFAULT_QUEUE
    polling_interval_s: float = 0.02
    """How often the queue is polled for runs; bounds the hang-up-to-first-step latency (at 50 ms
    the p99 hang-up-to-CRM latency exceeded 100 ms in bench/bench_durable.py; at 20 ms it did not)."""
    heartbeat_interval_s: float = 2.0
    stale_after_s: float = 15.0
    """A worker silent this long is dead and its runs are taken over (see takeover.py)."""
    check_local_pids: bool = True
    drain_timeout_s: float = 30.0
    """On stop, how long runs may take to finish their current step before being handed back."""
    agent: str | None = None
    record_attempts: bool = True
    dbos_log_level: str = "WARNING"

    @property
    def effective_concurrency(self) -> int:
        if self.concurrency is not None:
            return self.concurrency
        return SQLITE_CONCURRENCY if is_sqlite(self.database_url) else POSTGRES_CONCURRENCY

    def __post_init__(self) -> None:
        problems = []
        if self.concurrency is not None and self.concurrency < 1:
            problems.append(f"concurrency must be at least 1, not {self.concurrency!r}")
        if self.polling_interval_s <= 0 or self.heartbeat_interval_s <= 0:
            problems.append("polling_interval_s and heartbeat_interval_s must be positive")
        if self.stale_after_s <= self.heartbeat_interval_s:
            problems.append(
                f"stale_after_s ({self.stale_after_s:g}) must exceed heartbeat_interval_s ({self.heartbeat_interval_s:g}), "
                "or live workers would be taken over"
            )
        if problems:
            raise ConfigError("Invalid executor settings: " + "; ".join(problems) + ".")


def _dbos_instance() -> Any:
    from dbos._dbos import _get_dbos_instance

    return _get_dbos_instance()


class Executor:
    """Runs post-call runs from the queue until stopped.  Use as a context manager or start()/stop().

    `programs` is what it can run: a run naming a program not in it fails, saying which are.
    """

    def __init__(self, config: ExecutorConfig, programs: ProgramRegistry, *, store: Store | None = None) -> None:
        self.config = config
        self.programs = programs
        self._own_store = store is None
        self.store = store
        self._stop = threading.Event()
        self._beat_thread: threading.Thread | None = None
        self._runtime: RunRuntime | None = None
        self.started = False
        self.taken_over: list[str] = []
        self._engine: Any = None  # DBOS's engine on SQLite (see _dbos_engine)

    @property
    def executor_id(self) -> str:
        return self.config.executor_id

    def __enter__(self) -> Executor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        global _running
        with _lock:
            if _running is not None:
                raise ConfigError(
                    f"An executor ({_running.executor_id}) already runs in this process; DBOS allows one per process."
                )
            _running = self
        try:
            self._start()
        except BaseException:
            with _lock:
                _running = None
            raise

    def _start(self) -> None:
        from dbos import DBOS

        from postcall.durable import workflow as _workflow  # noqa: F401  (registers the workflow with DBOS)

        cfg = self.config
        if self.store is None:
            self.store = open_store(cfg.database_url, queue_name=cfg.queue_name)
        self._runtime = RunRuntime(self.store, self.programs, cfg.executor_id, record_attempts=cfg.record_attempts)
        install_runtime(self._runtime)
        DBOS(
            config={
                "name": APP_NAME,
                "system_database_url": cfg.database_url,
                "application_version": APP_VERSION,
                "executor_id": cfg.executor_id,
                "serializer": dbos_serializer(),
                "log_level": cfg.dbos_log_level,
                "sys_db_pool_size": max(10, cfg.effective_concurrency + 4),
                # Runs are synchronous workflows, a thread each (durable/runtime.py); DBOS's own
                # default (cores + 4) would cap the concurrency below what the queue allows.
                "max_executor_threads": cfg.effective_concurrency + 8,
                "notification_listener_polling_interval_sec": 0.1,
                # On SQLite DBOS writes through our engine, so its checkpoints take turns with
                # every other writer through the file's write gate (store/sqlite_gate.py).
                "system_database_engine": self._dbos_engine(),
            }
        )
        DBOS.listen_queues([cfg.queue_name])
        # Launched from a thread without an event loop, so that async runs get DBOS's own loop
        # even when the caller (a server's lifespan) is inside one.
        errors: list[BaseException] = []

        def launch() -> None:
            try:
                DBOS.launch()
                DBOS.register_queue(
                    cfg.queue_name,
                    worker_concurrency=cfg.effective_concurrency,
                    polling_interval_sec=cfg.polling_interval_s,
                    on_conflict="always_update",
                )
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=launch, name="postcall-dbos-launch")
        thread.start()
        thread.join()
        if errors:
            DBOS.destroy()
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None
            install_runtime(None)
            raise errors[0]
        self.store.register_worker(
            executor_id=cfg.executor_id,
            hostname=HOSTNAME,
            pid=os.getpid(),
            process_start=process_start_token(os.getpid()),
            agent=cfg.agent,
            app_version=APP_VERSION,
            queue_name=cfg.queue_name,
            concurrency=cfg.effective_concurrency,
        )
        self._stop.clear()
        self._beat_thread = threading.Thread(target=self._beat_loop, name="postcall-heartbeat", daemon=True)
        self._beat_thread.start()
        self.started = True
        log.info(
            "executor_started",
            executor_id=cfg.executor_id,
            database=printable_url(cfg.database_url),
            queue=cfg.queue_name,
            concurrency=cfg.effective_concurrency,
            app_version=APP_VERSION,
        )

    # -- heartbeats and takeover --------------------------------------------------------

    def _recover(self, dead_executor_id: str) -> int:
        from dbos import DBOS

        # DBOS re-enqueues exactly the PENDING workflows still owned by that executor, so a
        # second recovery of the same executor (or one racing a restart) re-enqueues nothing.
        return len(DBOS._recover_pending_workflows([dead_executor_id]))

    def recover_dead_workers(self) -> list[str]:
        """One takeover pass (the heartbeat thread runs one every interval)."""
        assert self.store is not None
        policy = TakeoverPolicy(stale_after_s=self.config.stale_after_s, check_local_pids=self.config.check_local_pids)
        recovered = take_over_dead_workers(self.store, self.executor_id, policy, self._recover)
        self.taken_over.extend(recovered)
        return recovered

    def _beat_loop(self) -> None:
        assert self.store is not None
        first = True
        while first or not self._stop.wait(self.config.heartbeat_interval_s):
            first = False
            try:
                before = self.store.heartbeat(self.executor_id)
                if before == "dead":
                    log.warning("executor_was_declared_dead", executor_id=self.executor_id)
                if not (self._runtime and self._runtime.draining):
                    self.recover_dead_workers()
            except Exception:
                log.exception("heartbeat_failed", executor_id=self.executor_id)

    # -- waiting and stopping -----------------------------------------------------------

    def wait_for_runs(self, run_ids: Iterable[str], *, timeout_s: float = 60.0, poll_s: float = 0.05) -> dict[str, str]:
        """Poll the store until every run is succeeded or failed (or time is up); their statuses."""
        assert self.store is not None
        pending = list(run_ids)
        statuses: dict[str, str] = {}
        deadline = time.monotonic() + timeout_s
        while True:
            for run_id in list(pending):
                run = self.store.get_run(run_id, with_steps=False)
                statuses[run_id] = run.status if run else "missing"
                if run is not None and run.status in TERMINAL:
                    pending.remove(run_id)
            if not pending or time.monotonic() >= deadline:
                return statuses
            time.sleep(poll_s)

    def stop(self, *, drain: bool = True) -> list[str]:
        """Stop; with `drain`, runs finish their current step and are handed back. Returns the handed-back run ids."""
        global _running
        if not self.started:
            return []
        from dbos import DBOS

        assert self.store is not None and self._runtime is not None
        handed_back: list[str] = []
        if drain:
            self._runtime.start_draining()
            self._safe(lambda: self.store.set_worker_state(self.executor_id, "draining") if self.store else None)
            # Stop dequeuing (DBOS has no public pause): its queue threads watch these events.
            for event in getattr(_dbos_instance(), "background_thread_stop_events", []):
                event.set()
            deadline = time.monotonic() + self.config.drain_timeout_s
            while time.monotonic() < deadline and not self._runtime.active() <= self._runtime.parked():
                time.sleep(0.02)
            still_running = self._runtime.active() - self._runtime.parked()
            if still_running:
                log.warning("drain_timeout", executor_id=self.executor_id, runs=sorted(still_running))
            handed_back = sorted(self._runtime.active())
            if handed_back:
                self._safe(lambda: self._recover(self.executor_id))
                self._safe(lambda: self.store.release_runs(handed_back) if self.store else None)
                log.info("runs_handed_back", executor_id=self.executor_id, runs=handed_back)
        # Parked runs (handed back above) end their threads now; so does any run that reaches its
        # next step after this stop (drain=False): none starts another step.
        self._runtime.release_parked()
        self._stop.set()
        if self._beat_thread is not None:
            self._beat_thread.join(timeout=10)
        self._safe(lambda: self.store.set_worker_state(self.executor_id, "stopped") if self.store else None)
        DBOS.destroy(workflow_completion_timeout_sec=0)
        self._runtime.close()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        install_runtime(None)
        if self._own_store:
            self.store.close()
        self.started = False
        with _lock:
            _running = None
        log.info("executor_stopped", executor_id=self.executor_id, handed_back=len(handed_back))
        return handed_back

    def _dbos_engine(self) -> Any:
        """DBOS's engine on SQLite: ours (WAL, synchronous=FULL, the write gate); None: DBOS makes its own."""
        cfg = self.config
        if not is_sqlite(cfg.database_url):
            return None
        self._engine = create_engine(cfg.database_url, pool_size=max(10, cfg.effective_concurrency + 4))
        return self._engine

    @staticmethod
    def _safe(action: Any) -> None:
        try:
            action()
        except Exception:
            log.exception("executor_stop_step_failed")
