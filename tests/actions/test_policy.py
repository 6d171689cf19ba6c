"""Retry policy arithmetic, Retry-After parsing and settings round trips (pure code)."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from postcall.actions.retry import RetryPolicy, is_retryable_status, parse_retry_after
from postcall.actions.settings import ActionSettings, FlowBinding
from postcall.errors import ConfigError


def test_defaults_are_the_documented_ones() -> None:
    policy = RetryPolicy()
    assert (policy.max_attempts, policy.initial_interval_s, policy.backoff_rate, policy.max_interval_s) == (5, 0.5, 2.0, 30.0)
    settings = ActionSettings()
    assert settings.request_timeout_s == 30.0 and settings.allowed_hosts == ("*",) and settings.run_budget_s == 600.0


def test_backoff_is_full_jitter_under_an_exponential_cap() -> None:
    policy = RetryPolicy(initial_interval_s=0.5, backoff_rate=2.0, max_interval_s=3.0)
    rng = random.Random(7)
    for attempt, cap in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 3.0), (9, 3.0)]:
        draws = [policy.backoff(attempt, rng) for _ in range(400)]
        assert all(0.0 <= d <= cap for d in draws)
        assert max(draws) > cap * 0.9 and min(draws) < cap * 0.1  # spread over the whole range


def test_retry_after_wins_over_backoff_and_is_capped() -> None:
    policy = RetryPolicy(max_retry_after_s=20)
    assert policy.delay(1, 7.0) == 7.0
    assert policy.delay(1, 3600.0) == 20.0
    assert policy.delay(1, -5.0) == 0.0


def test_retryable_statuses() -> None:
    assert [s for s in (200, 400, 401, 404, 408, 409, 422, 429, 500, 502, 503, 504, 599) if is_retryable_status(s)] == [
        408, 429, 500, 502, 503, 504, 599,
    ]


def test_retry_after_parsing() -> None:
    now = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after(" 0 ", now) == 0.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("-3", now) is None
    assert parse_retry_after(None, now) is None
    assert parse_retry_after("", now) is None


def test_invalid_policies_name_every_problem() -> None:
    with pytest.raises(ConfigError) as raised:
        RetryPolicy(max_attempts=0, backoff_rate=0.5)
    assert "max_attempts" in str(raised.value) and "backoff_rate" in str(raised.value)
    with pytest.raises(ConfigError, match="Unknown retry policy field"):
        RetryPolicy.from_json({"attempts": 3})
    with pytest.raises(ConfigError, match="request_timeout_s"):
        ActionSettings(request_timeout_s=0)
    with pytest.raises(ConfigError, match="exactly one"):
        FlowBinding()
    with pytest.raises(ConfigError, match="module:function"):
        FlowBinding(callable="no_colon")


def test_settings_survive_a_json_round_trip() -> None:
    settings = ActionSettings(
        retry=RetryPolicy(max_attempts=3, initial_interval_s=0.1),
        allowed_hosts=("crm.internal", "10.0.0.0/8"),
        flows={"f1": FlowBinding(url="https://flows.example/f1", headers={"X-Key": "k"}), "f2": FlowBinding(callable="m:f")},
        request_timeout_s=5,
        run_budget_s=60,
    )
    assert ActionSettings.from_json(settings.to_json()) == settings
