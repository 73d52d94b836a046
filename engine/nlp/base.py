"""Schema-checked, retried, traced generation on top of any NLPService."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from engine.errors import GenerationFailed, NLPSchemaError, NLPServiceUnavailable
from engine.ports import GenerationRequest, GenerationResult, NLPService
from engine.text import estimate_tokens

logger = logging.getLogger(__name__)

# Three attempts: enough to ride out one malformed completion and one 5xx, few enough that a
# broken provider fails the turn within a bounded time instead of stalling the session.
DEFAULT_ATTEMPTS = 3
RETRY_TEMPERATURES = (0.1, 0.3, 0.0)
RETRYABLE_ERRORS: tuple[type[BaseException], ...] = (
    NLPServiceUnavailable,
    NLPSchemaError,
    TimeoutError,
    ConnectionError,
    json.JSONDecodeError,
)


def schema_errors(value: Any, schema: Mapping[str, Any], path: str = "$") -> list[str]:
    """Validate the subset of JSON Schema the engine's own schemas use; return the problems."""
    expected = schema.get("type")
    type_checks = {
        "object": lambda v: isinstance(v, Mapping),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "boolean": lambda v: isinstance(v, bool),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "null": lambda v: v is None,
    }
    if expected is not None:
        allowed = expected if isinstance(expected, list) else [expected]
        if not any(type_checks.get(kind, lambda v: True)(value) for kind in allowed):
            return [f"{path}: expected {expected}, got {type(value).__name__}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path}: {value!r} is not one of {schema['enum']}"]
    problems: list[str] = []
    if isinstance(value, Mapping):
        for key in schema.get("required", ()):
            if key not in value:
                problems.append(f"{path}: missing {key!r}")
        for key, subschema in schema.get("properties", {}).items():
            if key in value:
                problems.extend(schema_errors(value[key], subschema, f"{path}.{key}"))
        if schema.get("additionalProperties") is False:
            for key in sorted(set(value) - set(schema.get("properties", {}))):
                problems.append(f"{path}: unexpected {key!r}")
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            problems.extend(schema_errors(item, schema["items"], f"{path}[{index}]"))
    return problems


def is_local(nlp: NLPService) -> bool:
    """A provider that decides by rules rather than a model (no cost, no latency to hide)."""
    return bool(getattr(nlp, "is_local", False))


class GenerationLog:
    """Collects one JSON-ready record per model call for the turn trace."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def record(self, **fields: Any) -> None:
        self.calls.append(fields)


async def generate_checked(
    nlp: NLPService,
    request: GenerationRequest,
    log: GenerationLog,
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    round_number: int = 0,
) -> GenerationResult:
    """Generate and validate against request.json_schema, retrying transient and schema failures.

    Raises GenerationFailed after `attempts` failures; any other exception propagates at once
    (a bug or a misconfiguration is not made better by asking again).
    """
    last_error = ""
    for attempt in range(attempts):
        temperature = request.temperature if attempt == 0 else RETRY_TEMPERATURES[attempt % 3]
        attempt_request = GenerationRequest(
            prompt=request.prompt,
            schema_name=request.schema_name,
            json_schema=request.json_schema,
            temperature=temperature,
            hints=request.hints,
        )
        started = time.perf_counter()
        try:
            result = await nlp.generate(attempt_request)
            problems = schema_errors(result.content, request.json_schema)
            if problems:
                raise NLPSchemaError("; ".join(problems[:5]))
        except RETRYABLE_ERRORS as error:
            last_error = f"{type(error).__name__}: {error}"
            log.record(
                schema_name=request.schema_name,
                model=getattr(nlp, "name", ""),
                attempt=attempt + 1,
                is_ok=False,
                error=last_error,
                round=round_number,
                prompt_tokens=0 if is_local(nlp) else estimate_tokens(request.prompt),
                completion_tokens=0,
                latency_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            logger.warning(
                "generation failed", extra={"schema": request.schema_name, "error": last_error}
            )
            if attempt + 1 < attempts:
                await asyncio.sleep(0)  # let a cancellation in before trying again
            continue
        log.record(
            schema_name=request.schema_name,
            model=result.model or getattr(nlp, "name", ""),
            attempt=attempt + 1,
            is_ok=True,
            round=round_number,
            # Providers report usage; counting here is only the fallback (o200k costs time).
            prompt_tokens=result.usage.prompt_tokens
            or (0 if is_local(nlp) else estimate_tokens(request.prompt)),
            completion_tokens=result.usage.completion_tokens,
            latency_ms=round(result.duration_ms or (time.perf_counter() - started) * 1000, 2),
        )
        return result
    raise GenerationFailed(request.schema_name, attempts, last_error)
