"""What an `allowed_hosts` entry of agent.yaml means, in one place (the checker, the runtime, the harness).

An entry is one of

- a host name, `crm.example.com`, or every name under a domain, `*.example.com` (or `.example.com`);
- an address or a network, `127.0.0.1`, `::1`, `10.0.0.0/8`, `fd00::/8`;
- `*`: any public address (loopback, private and link-local ones always need their own entry);
- any of these with a port, `127.0.0.1:8765`, `[::1]:8765`, `crm.example.com:443`, `*:443`:
  then only that port is allowed (the URL's own port, or 80/443 by its scheme).

Anything else can never match a URL (`http://host`, `host/path`, `host:99999`, `a.*.com`...):
`postcall check` warns about it and `postcall serve` logs it at start, instead of letting it
silently refuse every request.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["HostEntry", "entry_problem", "host_allowed", "network_allows", "parse_entries", "parse_entry",
           "public_allowed"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_NAME = re.compile(r"[\w-]+(\.[\w-]+)*\.?", re.UNICODE)


@dataclass(frozen=True, slots=True)
class HostEntry:
    raw: str
    port: int | None = None  # None: any port
    name: str | None = None  # an exact host name (lower case)
    suffix: str | None = None  # ".example.com": every name under example.com
    network: Network | None = None  # an address is a /32 or /128 network
    public: bool = False  # "*": any public address


def parse_entry(raw: str) -> HostEntry | str:
    """The entry, or why it can never match (a sentence)."""
    text = raw.strip().lower()
    if not text:
        return "it is empty"
    if "://" in text:
        return f"it is a URL; write the host alone ({_strip_scheme(text)!r})"
    host, port, problem = _split_port(text)
    if problem is not None:
        return problem
    if host == "*":
        return HostEntry(raw, port, public=True)
    if host.startswith("*.") or (host.startswith(".") and len(host) > 1):
        rest = host[2:] if host.startswith("*.") else host[1:]
        if not rest or "*" in rest or not _NAME.fullmatch(rest):
            return "a wildcard must be '*', or '*.' before a domain ('*.example.com')"
        return HostEntry(raw, port, suffix="." + rest.rstrip("."))
    if "*" in host:
        return "a wildcard must be '*', or '*.' before a domain ('*.example.com')"
    try:
        network = ipaddress.ip_network(host, strict=False)
    except ValueError:
        pass
    else:
        return HostEntry(raw, port, network=network)
    if "/" in host:
        return "it holds a path or is not a valid network ('10.0.0.0/8')"
    if ":" in host:
        return "an IPv6 address with a port is written in brackets ('[::1]:8765')"
    if not _NAME.fullmatch(host):
        return "it is not a host name, an address or a network"
    return HostEntry(raw, port, name=host.rstrip("."))


def parse_entries(entries: Iterable[str]) -> tuple[list[HostEntry], list[tuple[str, str]]]:
    """The usable entries, and (entry, why) for each that can never match."""
    good: list[HostEntry] = []
    bad: list[tuple[str, str]] = []
    for raw in entries:
        parsed = parse_entry(raw)
        if isinstance(parsed, str):
            bad.append((raw, parsed))
        else:
            good.append(parsed)
    return good, bad


def entry_problem(raw: str) -> str | None:
    parsed = parse_entry(raw)
    return parsed if isinstance(parsed, str) else None


def host_allowed(host: str, port: int, entries: Sequence[HostEntry]) -> bool:
    """Whether a host name entry (exact or a domain's) admits `host` on `port`."""
    host = host.lower().rstrip(".")
    for entry in entries:
        if entry.port is not None and entry.port != port:
            continue
        if entry.name is not None and entry.name == host:
            return True
        if entry.suffix is not None and host.endswith(entry.suffix) and host != entry.suffix[1:]:
            return True
    return False


def network_allows(address: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int,
                   entries: Sequence[HostEntry]) -> bool:
    """Whether an address or network entry admits `address` on `port`."""
    return any(
        entry.network is not None and entry.network.version == address.version and address in entry.network
        and (entry.port is None or entry.port == port)
        for entry in entries
    )


def public_allowed(port: int, entries: Sequence[HostEntry]) -> bool:
    """Whether a `*` entry admits public addresses on `port`."""
    return any(entry.public and (entry.port is None or entry.port == port) for entry in entries)


def _split_port(text: str) -> tuple[str, int | None, str | None]:
    """(host, port, problem): `[v6]:port`, `[v6]`, `host:port`, or the text without a port."""
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            return text, None, "a '[' without its ']'"
        host, rest = text[1:close], text[close + 1 :]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return text, None, "only an IPv6 address goes in brackets"
        if not rest:
            return host, None, None
        if not rest.startswith(":"):
            return text, None, "expected ':port' after ']'"
        port, problem = _port(rest[1:])
        return host, port, problem
    if text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port, problem = _port(port_text)
        return host, port, problem
    return text, None, None  # no port, or a bare IPv6 address


def _port(text: str) -> tuple[int | None, str | None]:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 65535:
        return None, f"the port {text!r} is not a number from 1 to 65535"
    return int(text), None


def _strip_scheme(text: str) -> str:
    rest = text.split("://", 1)[1]
    return rest.split("/", 1)[0]
