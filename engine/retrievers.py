"""Retrievers: caller-supplied async functions that fetch grounding data for the reply.

They start when the turn starts and run while matching and tools run; the composer waits for
them (bounded) only when it needs their data. A retriever gets a RetrieverContext and returns a
RetrieverResult, any JSON-ready value (wrapped as data), or None (nothing to add).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

# The reply waits at most this long for a retriever that is still running; after that the reply
# goes out without its data (recorded in the trace) rather than stalling the customer.
RETRIEVER_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class RetrieverContext:
    agent_id: str
    session_id: str
    customer_id: str
    latest_customer_message: str
    messages: tuple[tuple[str, str], ...]  # (role, text), oldest first


@dataclass(frozen=True)
class RetrieverResult:
    data: Any
    metadata: Mapping[str, Any] = field(default_factory=dict)
    canned_response_fields: Mapping[str, Any] = field(default_factory=dict)


Retriever = Callable[[RetrieverContext], Awaitable[Any]]


def named_retrievers(
    retrievers: Mapping[str, Retriever] | Sequence[Retriever] | None,
) -> dict[str, Retriever]:
    if not retrievers:
        return {}
    if isinstance(retrievers, Mapping):
        return dict(retrievers)
    return {getattr(r, "__name__", f"retriever_{i}"): r for i, r in enumerate(retrievers)}


@dataclass
class RetrievalRecord:
    name: str
    result: RetrieverResult | None = None
    error: str = ""
    duration_ms: float = 0.0

    def trace_entry(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "data": None if self.result is None else self.result.data,
            "error": self.error,
            "duration_ms": self.duration_ms,
        }


async def _run_one(name: str, retriever: Retriever, context: RetrieverContext) -> RetrievalRecord:
    started = time.perf_counter()
    record = RetrievalRecord(name=name)
    try:
        value = await asyncio.wait_for(retriever(context), timeout=RETRIEVER_TIMEOUT_SECONDS)
        if value is not None:
            record.result = value if isinstance(value, RetrieverResult) else RetrieverResult(value)
    except TimeoutError:
        record.error = f"timed out after {RETRIEVER_TIMEOUT_SECONDS:g} s"
    except Exception as error:  # noqa: BLE001 - a failing retriever must not fail the reply
        logger.exception("retriever failed", extra={"retriever": name})
        record.error = f"{type(error).__name__}: {error}"
    record.duration_ms = round((time.perf_counter() - started) * 1000, 2)
    return record


def start_retrievers(
    retrievers: Mapping[str, Retriever], context: RetrieverContext
) -> list[asyncio.Task[RetrievalRecord]]:
    return [asyncio.create_task(_run_one(name, r, context)) for name, r in retrievers.items()]


async def collect(tasks: Sequence[asyncio.Task[RetrievalRecord]]) -> list[RetrievalRecord]:
    return list(await asyncio.gather(*tasks)) if tasks else []
