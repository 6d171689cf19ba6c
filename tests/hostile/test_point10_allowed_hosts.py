"""Point 10 of issue 16: `allowed_hosts` entries with a port mean what users expect, and entries that
can never match are warned about at `check` and at start.

`127.0.0.1:8765` used to match nothing, silently.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from hostile.world import copy_agent
from postcall.actions.hosts import check_destination
from postcall.errors import ActionError
from postcall.lifecycle.runtime import open_runtime
from postcall.topics import load_agent


def _check(url: str, allowed: tuple[str, ...], *addresses: str) -> list[str]:
    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return asyncio.run(check_destination(url, allowed, resolver=resolve if addresses else None))


def _refused(url: str, allowed: tuple[str, ...], *addresses: str) -> str:
    with pytest.raises(ActionError) as raised:
        _check(url, allowed, *addresses)
    assert raised.value.category == "refused_host"
    return str(raised.value)


def test_point10_host_port_entries_allow_that_port_only() -> None:
    assert _check("http://127.0.0.1:8765/cases/1", ("127.0.0.1:8765",)) == ["127.0.0.1"]
    assert "for port 8766" in _refused("http://127.0.0.1:8766/cases/1", ("127.0.0.1:8765",))
    assert _check("http://[::1]:8765/x", ("[::1]:8765",)) == ["::1"]
    _refused("http://[::1]:9000/x", ("[::1]:8765",))
    assert _check("http://[::1]/x", ("[::1]",)) == ["::1"]
    assert _check("https://crm.example.com/x", ("crm.example.com:443",), "10.0.0.5") == ["10.0.0.5"]
    _refused("http://crm.example.com/x", ("crm.example.com:443",), "10.0.0.5")  # port 80
    assert _check("http://localhost:8765/x", ("localhost:8765",), "127.0.0.1") == ["127.0.0.1"]
    assert _check("https://api.example.com/x", ("*:443",), "93.184.216.34") == ["93.184.216.34"]
    _refused("http://api.example.com:8080/x", ("*:443",), "93.184.216.34")
    assert _check("http://10.1.2.3:8080/x", ("10.0.0.0/8:8080",)) == ["10.1.2.3"]


NEVER = ["http://127.0.0.1:8765", "crm.example.com/api", "127.0.0.1:99999", "::1:8765x", "a.*.example.com", "[::1"]


def test_point10_entries_that_never_match_are_warned_at_check_and_at_start(tmp_path: Path) -> None:
    agent = copy_agent(tmp_path)
    config = agent / "agent.yaml"
    text = config.read_text(encoding="utf-8")
    listed = "".join(f"  - {entry!r}\n" for entry in NEVER)
    config.write_text(text.replace("allowed_hosts:\n", "allowed_hosts:\n" + listed, 1), encoding="utf-8")

    result = load_agent(agent)
    warned = [d for d in result.diagnostics if "can never match" in d.message]
    assert [d.severity.value for d in warned] == ["warning"] * len(NEVER)
    assert [d.span.line for d in warned if d.span] == sorted(d.span.line for d in warned if d.span)
    assert "write the host alone ('127.0.0.1:8765')" in warned[0].message
    assert not result.has_errors  # a warning: the agent still loads

    with capture_logs() as logs:
        runtime = open_runtime(agent)
        runtime.close()
    at_start = [e["entry"] for e in logs if e["event"] == "allowed_hosts_entry_never_matches"]
    assert at_start == NEVER
