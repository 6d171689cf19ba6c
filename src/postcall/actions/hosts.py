"""Where HTTP actions may go: resolves the host and refuses addresses the settings do not allow.

Topic authors write URLs, sometimes from Power Fx formulas fed by callers.  Without a check a
formula could make the runtime call its own admin endpoints or the cloud metadata service.
So an address that is not public (loopback, private, link-local, reserved, multicast) is
refused unless `allowed_hosts` names the host or the address; "*" admits public addresses only.
An entry may carry a port (`127.0.0.1:8765`, `[::1]:8765`): then only that port is allowed.
What an entry means is postcall/hostentries.py's (shared with `postcall check`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlsplit

from postcall.errors import ActionError
from postcall.hostentries import empty_refusal, parse_entries, refusal

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (the system resolver, without blocking the loop)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def _literal_address(host: str) -> list[str] | None:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        return None


def _destination(url: str) -> tuple[str, int]:
    """(host, port) of an http(s) URL; ActionError(category="bad_request") when it has none."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ActionError(f"The URL {url!r} is malformed: {exc}.", retryable=False, category="bad_request") from exc
    if parts.scheme not in ("http", "https"):
        raise ActionError(
            f"The URL {url!r} must start with http:// or https://.", retryable=False, category="bad_request"
        )
    host = (parts.hostname or "").lower()
    if not host:
        raise ActionError(f"The URL {url!r} has no host.", retryable=False, category="bad_request")
    return host, port or (443 if parts.scheme == "https" else 80)


async def check_destination(
    url: str, allowed_hosts: Sequence[str], *, resolver: Resolver | None = None
) -> list[str]:
    """Raise ActionError(category="refused_host") unless every address of the URL's host is allowed.

    Returns the resolved addresses.  A malformed URL raises category "bad_request"; a host that
    does not resolve raises category "connection" (retryable: DNS may come back).
    """
    host, port = _destination(url)
    if not allowed_hosts:
        raise ActionError(empty_refusal(host), retryable=False, category="refused_host")
    entries, _ = parse_entries(allowed_hosts)  # entries that can never match are warned about at load
    addresses = _literal_address(host)
    if addresses is None:
        try:
            addresses = await (resolver or resolve_host)(host, port)
        except (OSError, UnicodeError) as exc:
            raise ActionError(
                f"The host {host!r} could not be resolved: {exc}.", retryable=True, category="connection"
            ) from exc
        if not addresses:
            raise ActionError(f"The host {host!r} resolved to no address.", retryable=True, category="connection")
    refused = refusal(host, port, addresses, entries)  # the one rule (`postcall check` applies it too)
    if refused is not None:
        raise ActionError(refused, retryable=False, category="refused_host")
    return addresses
