"""Failed logins: throttled per client address and per token prefix, logged and counted.

Each wrong admin token (the console's login form, or a bearer token on the API) is noted under
two keys: the client's address, and the first characters of the token it presented (so that
guesses spread over many addresses but sharing what they already know still slow down).  Once a
key has `max_failures` failures within `window_s` seconds, attempts under it are answered 429
with `Retry-After` (the seconds until its oldest failure leaves the window) without the token
being checked.  A success clears its address.  Every failure is a `login_failed` log line (the
address, never the token) and counts in `postcall_login_failures_total`; every refusal in
`postcall_login_throttled_total`.

Kept in memory per process: a restart forgets, and so does each of several servers (each then
allows its own `max_failures`).  The admin token is at least 16 random characters, so the
throttle only has to make guessing slower, not impossible.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter

from postcall.logging import get_logger

log = get_logger("postcall.server.auth")

PREFIX_CHARS = 8
MAX_KEYS = 10_000  # keys remembered at most (the oldest are forgotten first)


class AuthMetrics:
    """The failed-login counters of one app's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.failures = Counter(
            "postcall_login_failures", "Wrong admin tokens presented, by where (console, api).",
            ["via"], registry=registry,
        )
        self.throttled = Counter(
            "postcall_login_throttled", "Login attempts refused with 429 after too many failures.",
            ["via"], registry=registry,
        )


class LoginThrottle:
    """A sliding window of failures per key (see the module docstring)."""

    def __init__(
        self,
        via: str,
        metrics: AuthMetrics,
        *,
        max_failures: int,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.via = via
        self.metrics = metrics
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def keys(client: str | None, token: str | None) -> tuple[str, ...]:
        keys = [f"addr:{client or 'unknown'}"]
        if token:
            keys.append(f"prefix:{token[:PREFIX_CHARS]}")
        return tuple(keys)

    def retry_after(self, client: str | None, token: str | None) -> int | None:
        """Seconds to wait when this attempt must be refused now, else None."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key in self.keys(client, token):
                times = self._recent(key, now)
                if times is not None and len(times) >= self.max_failures:
                    wait = max(wait, times[0] + self.window_s - now)
        if wait <= 0:
            return None
        self.metrics.throttled.labels(self.via).inc()
        log.warning("login_throttled", via=self.via, client=client, retry_after_s=math.ceil(wait))
        return max(1, math.ceil(wait))

    def failed(self, client: str | None, token: str | None) -> None:
        now = self.clock()
        with self._lock:
            for key in self.keys(client, token):
                times = self._recent(key, now)
                if times is None:
                    times = self._failures[key] = deque()
                times.append(now)
            while len(self._failures) > MAX_KEYS:
                self._failures.pop(next(iter(self._failures)))
        self.metrics.failures.labels(self.via).inc()
        log.warning("login_failed", via=self.via, client=client)

    def succeeded(self, client: str | None) -> None:
        with self._lock:
            self._failures.pop(self.keys(client, None)[0], None)

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times
