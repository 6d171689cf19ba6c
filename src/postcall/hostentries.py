"""What an `allowed_hosts` entry of agent.yaml means, and which requests the entries refuse, in
one place (the checker, the runtime, the harness).

An entry is one of

- a host name, `crm.example.com`, or every name under a domain, `*.example.com` (or `.example.com`);
- an address or a network, `127.0.0.1`, `::1`, `10.0.0.0/8`, `fd00::/8`;
- `*`: any public address (loopback, private and link-local ones always need their own entry);
- any of these with a port, `127.0.0.1:8765`, `[::1]:8765`, `crm.example.com:443`, `*:443`:
  then only that port is allowed (the URL's own port, or 80/443 by its scheme).

Anything else can never match a URL (`http://host`, `host/path`, `host:99999`, `a.*.com`...):
`postcall check` warns about it and `postcall serve` logs it at start, instead of letting it
silently refuse every request.

`refusal` is the rule a request is checked by (actions/hosts.py `check_destination`, with the
name resolved at each request); `refused_now` applies the same rule for `postcall check`, which
resolves nothing, so it warns only when every request would be refused: its warning and the
runtime never disagree.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["HostEntry", "empty_refusal", "entry_problem", "host_allowed", "network_allows", "parse_entries",
           "parse_entry", "public_allowed", "refusal", "refused_now"]

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


def _describe(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
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


def empty_refusal(host: str) -> str:
    return f"Refused to send an HTTP request to {host!r}: allowed_hosts is empty, so no host may be reached."


def refusal(host: str, port: int, addresses: Sequence[str], entries: Sequence[HostEntry]) -> str | None:
    """Why a request to `host`:`port`, which resolved to `addresses`, is refused; None: allowed.

    A listed name is allowed whatever it resolves to; otherwise every address must be listed
    (itself or a network holding it), or be public while `*` is listed.  Loopback, private and
    link-local addresses always need their own entry."""
    if host_allowed(host, port, entries):
        return None
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
        return f"Refused to send an HTTP request to {shown}: {reason}."
    return None


def refused_now(url: str, allowed_hosts: Sequence[str]) -> tuple[str, int, str] | None:
    """(host, port, why) when `refusal` refuses every request to `url` whatever its name resolves
    to, decided without resolving it (for `postcall check`: loading an agent does no I/O); None
    when it is allowed or depends on the addresses the name resolves to at the request.

    An address is judged by the rule itself.  A name listed in `allowed_hosts` is allowed; an
    unlisted name is refused for certain only when no address entry, network or `*` admits any
    address on its port (else it depends on what the name resolves to: `localhost` is allowed
    when it resolves to a listed 127.0.0.1, and a name resolving to a private address is refused
    by `*`); `localhost` is refused when neither 127.0.0.1 nor ::1 would be allowed.  A malformed URL is None too: its own diagnostic says what is wrong with it."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return None
    if not allowed_hosts:
        return host, port, empty_refusal(host)
    entries, _ = parse_entries(allowed_hosts)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" or host.endswith(".localhost"):  # always loopback (RFC 6761)
            refused = [refusal(host, port, [loopback], entries) for loopback in ("127.0.0.1", "::1")]
            return (host, port, refused[0]) if refused[0] is not None and refused[1] is not None else None
        if host_allowed(host, port, entries) or any(
            (entry.network is not None or entry.public) and entry.port in (None, port) for entry in entries
        ):
            return None
        return host, port, (f"Refused to send an HTTP request to {host}: it is not listed in allowed_hosts (for port "
                            f"{port}), and no address, network or '*' entry there admits what it resolves to.")
    why = refusal(host, port, [str(address)], entries)
    return None if why is None else (host, port, why)


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
