"""A call-events provider that retries like a real one: a delivery refused by a dead or failing server is sent again.

Each conversation is driven by one thread, event after event, with `CallEventsClient`.  An event
whose delivery fails with a connection error (the server is down, or died mid-request) or a 5xx
is delivered again, with the same body (same conversation and sequence, so the server can tell a
redelivery), once `/healthz` answers again; a provider gives up after its own deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from postcall.devtools.events_client import CallEventsClient
from postcall.errors import ChannelError


@dataclass
class Delivery:
    """One event as delivered: how many times it was sent, and the reply that finally came back."""

    type: str
    sends: int = 0
    failures: list[str] = field(default_factory=list)
    reply: dict[str, Any] | None = None


class RetryingProvider:
    """Posts signed call events to `base_url`; retries failed deliveries once the server is healthy."""

    def __init__(self, base_url: str, secret: str, *, give_up_after_s: float = 120.0) -> None:
        self.base_url = base_url
        self.secret = secret
        self.give_up_after_s = give_up_after_s
        self._lock = threading.Lock()
        self.redeliveries = 0

    def client(self) -> CallEventsClient:
        return CallEventsClient(self.base_url, self.secret, timeout=60.0)

    def wait_healthy(self, deadline: float) -> None:
        """Poll `/healthz` until it answers 200; fail past `deadline` (monotonic seconds)."""
        with httpx.Client(base_url=self.base_url, timeout=2.0, trust_env=False) as probe:
            while True:
                try:
                    if probe.get("/healthz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() >= deadline:
                    raise AssertionError(
                        f"{self.base_url}/healthz did not answer within the provider's deadline."
                    )
                time.sleep(0.05)

    def deliver(self, client: CallEventsClient, event: Mapping[str, Any]) -> Delivery:
        """Deliver one event until the server accepts it (2xx); a 4xx is a test failure."""
        prepared = client.prepare(event)  # numbered and stamped once: every retry is the same event
        delivery = Delivery(str(event["type"]))
        deadline = time.monotonic() + self.give_up_after_s
        while True:
            delivery.sends += 1
            try:
                delivery.reply = client.send(prepared)
                return delivery
            except httpx.TransportError as exc:
                delivery.failures.append(type(exc).__name__)
            except ChannelError as exc:
                if exc.status < 500:
                    raise AssertionError(
                        f"{event['type']} of {event['conversation_id']} (sequence {prepared['sequence']}) "
                        f"was refused with {exc.status}: {exc}"
                    ) from None
                delivery.failures.append(f"HTTP {exc.status}")
            with self._lock:
                self.redeliveries += 1
            self.wait_healthy(deadline)
