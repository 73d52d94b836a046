"""Retrievers registered in code, like tools: `@retriever` on an async function.

A retriever receives the engine's RetrieverContext and returns grounding data for the reply.
Editors attach registered retrievers to agents (every turn) or guidelines (while matched) in admin.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from engine.retrievers import RetrieverContext

RetrieverFunction = Callable[[RetrieverContext], Awaitable[Any]]

retriever_registry: dict[str, RetrieverFunction] = {}


def retriever(function: RetrieverFunction | None = None, *, name: str | None = None) -> Any:
    """Register `function` under `name` (default: its own name) and return it unchanged."""

    def decorate(inner: RetrieverFunction) -> RetrieverFunction:
        retriever_registry[name or inner.__name__] = inner
        return inner

    return decorate(function) if function is not None else decorate
