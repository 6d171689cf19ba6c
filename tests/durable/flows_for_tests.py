"""Flow callables named `durable.flows_for_tests:...` in the flow tests."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from postcall.errors import ActionError

calls: list[dict[str, Any]] = []


def close_case(inputs: dict[str, Any]) -> dict[str, Any]:
    calls.append(inputs)
    return {"closed": inputs.get("case"), "note": "ok"}


async def async_close_case(inputs: dict[str, Any]) -> dict[str, Any]:
    return {"closed": inputs.get("case"), "async": True}


_flaky = {"left": 0}


def flaky(inputs: dict[str, Any]) -> dict[str, Any]:
    if _flaky["left"] > 0:
        _flaky["left"] -= 1
        raise ActionError("backend busy", retryable=True, category="connection")
    return {"done": True}


def broken(inputs: dict[str, Any]) -> dict[str, Any]:
    raise KeyError("missing")


def not_a_mapping(inputs: dict[str, Any]) -> list[int]:
    return [1, 2]


switch = {"fail": True}


def switchable(inputs: dict[str, Any]) -> dict[str, Any]:
    """Fails (not retryable) while switch["fail"] is set; for redrive tests."""
    calls.append({"switchable": inputs})
    if switch["fail"]:
        raise RuntimeError("downstream system is down")
    return {"ok": True}


def switchable_busy(inputs: dict[str, Any]) -> dict[str, Any]:
    """Fails retryably (every attempt) while switch["fail"] is set; for attempt counts across a redrive."""
    calls.append({"switchable_busy": inputs})
    if switch["fail"]:
        raise ActionError("backend busy", retryable=True, category="connection")
    return {"ok": True}


held = threading.Event()


async def held_until_released(inputs: dict[str, Any]) -> dict[str, Any]:
    """Waits until `held` is set (a slow backend); for the running mark of a long run."""
    while not held.is_set():
        await asyncio.to_thread(held.wait, 0.05)
    return {"released": True}


_fails_once = {"left": 0}


async def fails_once_then_held(inputs: dict[str, Any]) -> dict[str, Any]:
    """The first call fails (retryable), the next waits like `held_until_released`."""
    if _fails_once["left"] > 0:
        _fails_once["left"] -= 1
        raise ActionError("backend busy", retryable=True, category="connection")
    return await held_until_released(inputs)


def fail_once() -> None:
    _fails_once["left"] = 1
