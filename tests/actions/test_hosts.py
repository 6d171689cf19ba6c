"""Where HTTP actions may go: non-public addresses need an explicit allowed_hosts entry."""

from __future__ import annotations

import asyncio

import pytest

from postcall.actions.hosts import check_destination
from postcall.errors import ActionError


def resolver_to(*addresses: str):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


def check(url: str, allowed: tuple[str, ...], *addresses: str) -> list[str]:
    return asyncio.run(check_destination(url, allowed, resolver=resolver_to(*addresses) if addresses else None))


def refused(url: str, allowed: tuple[str, ...], *addresses: str) -> ActionError:
    with pytest.raises(ActionError) as raised:
        check(url, allowed, *addresses)
    return raised.value


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1:8080/x", "loopback"),
        ("http://[::1]/x", "loopback"),
        ("http://10.1.2.3/x", "private"),
        ("http://192.168.0.10/x", "private"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://0.0.0.0/", "unspecified"),
    ],
)
def test_non_public_addresses_are_refused_by_the_public_wildcard(url: str, kind: str) -> None:
    error = refused(url, ("*",))
    assert error.category == "refused_host" and error.retryable is False
    assert kind in str(error) and "allowed_hosts" in str(error)


def test_a_name_that_resolves_to_a_private_address_is_refused() -> None:
    error = refused("https://intranet.example/api", ("*",), "93.184.216.34", "10.0.0.7")
    assert "intranet.example (10.0.0.7)" in str(error)


def test_listed_names_addresses_and_networks_are_allowed() -> None:
    assert check("http://crm.internal:8080/cases", ("crm.internal",), "10.0.0.5") == ["10.0.0.5"]
    assert check("http://api.corp.example/x", ("*.corp.example",), "10.0.0.6") == ["10.0.0.6"]
    assert check("http://127.0.0.1:8765/cases/1", ("127.0.0.1",)) == ["127.0.0.1"]
    assert check("http://10.2.3.4/x", ("10.0.0.0/8",)) == ["10.2.3.4"]
    assert check("https://api.example.com/x", ("*",), "93.184.216.34") == ["93.184.216.34"]


def test_a_list_without_the_wildcard_refuses_unlisted_public_hosts() -> None:
    error = refused("https://api.example.com/x", ("crm.internal",), "93.184.216.34")
    assert "not listed" in str(error)
    assert "allowed_hosts is empty" in str(refused("https://api.example.com/x", ()))
    assert refused("https://corp.example/x", ("*.corp.example",), "10.0.0.1").category == "refused_host"


def test_malformed_urls_are_bad_requests_and_dns_failures_retryable() -> None:
    assert refused("ftp://example.com/x", ("*",)).category == "bad_request"
    assert refused("http:///nohost", ("*",)).category == "bad_request"
    assert refused("http://example.com:99999/", ("*",)).category == "bad_request"

    async def failing(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(ActionError) as raised:
        asyncio.run(check_destination("https://nowhere.invalid/", ("*",), resolver=failing))
    assert raised.value.category == "connection" and raised.value.retryable is True
