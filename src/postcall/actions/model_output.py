"""A structured model answer checked against its JSON schema, in one place.

The check runs inside the model step (model.py), so a non-conforming or non-JSON answer is a
failed attempt: retried within the budget, and never recorded as a success that a replay or a
redrive would reuse for ever.  The prompt node (engine/nodes/generative.py) reads the value
through the same function, so the node and the step cannot disagree on what fits.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema


def schema_problem(value: Any, schema: Any) -> str | None:
    """Why `value` does not fit `schema` (where and what), or None when it fits."""
    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "the answer"
        return f"{where}: {exc.message}"
    except jsonschema.SchemaError as exc:
        return f"the prompt's output schema is not a valid JSON schema: {exc.message}"
    return None


def structured_answer(text: str, schema: Any) -> tuple[Any, str | None]:
    """(the parsed answer, None) when `text` is JSON that fits `schema`; else (None, the problem)."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        return None, f"text that is not JSON: {exc}"
    problem = schema_problem(value, schema)
    if problem:
        return None, f"JSON that does not fit its output schema: {problem}"
    return value, None


def response_schema(payload: dict[str, Any]) -> Any | None:
    """The JSON schema a model request asks the step to check its answer against (the payload's
    `output_schema`, set by a prompt action), if any.  A request without it (a recogniser that
    reads the answer its own way) gets the answer unchecked."""
    schema = payload.get("output_schema")
    return schema if isinstance(schema, dict) else None


def schema_error(schema: Any) -> str | None:
    """Why `schema` is not a valid JSON Schema (e.g. `type: objekt`), or None."""
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "the schema"
        return f"{where}: {exc.message}"
    return None


_SUBSCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")
_SUBSCHEMA_LISTS = ("anyOf", "allOf", "oneOf", "prefixItems")


def strict_compatible(schema: Any) -> bool:
    """Whether OpenAI's structured outputs accept `schema` with `strict: true`: every object level
    lists all its properties in `required` and sets `additionalProperties: false`.

    A schema that is not is sent with `strict: false` (the endpoint would refuse it with a 400
    otherwise); the step still checks the answer against it."""
    if isinstance(schema, list):
        return all(strict_compatible(s) for s in schema)
    if not isinstance(schema, dict):
        return True
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "object" in kinds or "properties" in schema:
        props = schema.get("properties") or {}
        if not isinstance(props, dict) or schema.get("additionalProperties") is not False:
            return False
        required = schema.get("required") or []
        if not isinstance(required, list) or set(required) != set(props):
            return False
    for key in _SUBSCHEMA_MAPS:
        sub = schema.get(key)
        if isinstance(sub, dict) and not all(strict_compatible(s) for s in sub.values()):
            return False
    for key in _SUBSCHEMA_LISTS:
        if not strict_compatible(schema.get(key)):
            return False
    return strict_compatible(schema.get("items")) if isinstance(schema.get("items"), (dict, list)) else True
