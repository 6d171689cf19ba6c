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
from postcall.hostentries import host_allowed, network_allows, parse_entries, public_allowed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (the system resolver, without blocking the loop)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def _describe(address: IPAddress) -> str:
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address"
    return "a non-public address"


def _literal_address(host: str) -> list[str] | None:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        return None


async def check_destination(
    url: str, allowed_hosts: Sequence[str], *, resolver: Resolver | None = None
) -> list[str]:
    """Raise ActionError(category="refused_host") unless every address of the URL's host is allowed.

    Returns the resolved addresses.  A malformed URL raises category "bad_request"; a host that
    does not resolve raises category "connection" (retryable: DNS may come back).
    """
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
    if not allowed_hosts:
        raise ActionError(
            f"Refused to send an HTTP request to {host!r}: allowed_hosts is empty, so no host may be reached.",
            retryable=False,
            category="refused_host",
        )
    port = port or (443 if parts.scheme == "https" else 80)
    entries, _ = parse_entries(allowed_hosts)  # entries that can never match are warned about at load
    listed = host_allowed(host, port, entries)
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
    if listed:
        return addresses
    public_ok = public_allowed(port, entries)
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if network_allows(address, port, entries):
            continue
        if address.is_global and public_ok:
            continue
        if address.is_global:
            reason = f"it is not listed in allowed_hosts (for port {port})"
        else:
            reason = f"it is {_describe(address)}, which needs an explicit allowed_hosts entry (for port {port})"
        shown = host if host == text else f"{host} ({text})"
        raise ActionError(
            f"Refused to send an HTTP request to {shown}: {reason}.",
            retryable=False,
            category="refused_host",
        )
    return addresses
