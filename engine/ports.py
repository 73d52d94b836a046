"""The engine's only ways to touch the world. Django code implements these; tests use fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from engine.types import NewEvent


class EventSink(Protocol):
    """Appends events to the session the turn runs for."""

    async def emit(self, event: NewEvent) -> int:
        """Append `event` and return its offset."""
        ...

    async def update(self, offset: int, data: Mapping[str, Any]) -> None:
        """Replace the data of an event this sink emitted (streaming grows a message in place)."""
        ...


class CancellationSignal(Protocol):
    """Tells the engine that a newer customer message arrived, so this turn's reply is stale."""

    async def is_cancelled(self) -> bool: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class GenerationResult:
    content: Mapping[str, Any]  # parsed JSON that satisfies the requested schema
    usage: Usage = Usage()
    model: str = ""
    duration_ms: float = 0.0


@dataclass(frozen=True)
class ModerationResult:
    flagged: bool
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    schema_name: str
    json_schema: Mapping[str, Any]
    temperature: float = 0.1
    hints: Mapping[str, Any] = field(default_factory=dict)


class NLPService(Protocol):
    """A language model provider. The local provider and the OpenAI one both implement this."""

    name: str
    # Names the vectors `embed` returns: stored condition vectors are kept per model, and those of
    # another model are recomputed instead of being compared.
    embedding_model: str

    async def generate(self, request: GenerationRequest) -> GenerationResult: ...

    def stream(self, request: GenerationRequest) -> AsyncIterator[str]: ...

    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...

    async def moderate(self, text: str) -> ModerationResult: ...
