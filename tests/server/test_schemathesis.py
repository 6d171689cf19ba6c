"""Schemathesis against the app's own OpenAPI document, in process, authenticated: valid and invalid
requests to every operation; no server error, every answer as documented (status code, content
type, response schema).  Bounded: 25 examples per operation and mode, derandomized."""

from __future__ import annotations

import datetime as dt
import itertools

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from postcall.store import RunSpec, Store
from server.conftest import ADMIN_TOKEN
from server.world import caller, record_call, say

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _world(store: Store) -> None:
    now = dt.datetime.now(dt.UTC)
    record_call(store, "CA1", started=now - dt.timedelta(hours=1), lines=[say("Hi"), caller("Hello")],
                runs=[RunSpec(topic="T", program="scripted", input={})])
    record_call(store, "CA2", started=now - dt.timedelta(minutes=2), end_reason=None)
    # A fresh executor heartbeat, so that /readyz answers 200 (its 503 is documented, not a bug).
    store.register_worker(executor_id="w1", hostname="h", pid=1, process_start=None, agent=None,
                          app_version="v", queue_name="q", concurrency=1)


def test_the_api_never_answers_a_server_error(app: FastAPI, store: Store) -> None:
    _world(store)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation, mode in itertools.product(operations, MODES):
        if mode is schemathesis.GenerationMode.NEGATIVE and not list(operation.iter_parameters()):
            continue  # nothing to get wrong in /healthz or /api/topics

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def no_server_error(case: schemathesis.Case) -> None:
            response = case.call(headers=AUTH)
            case.validate_response(response, checks=CHECKS, headers=AUTH)

        no_server_error()
