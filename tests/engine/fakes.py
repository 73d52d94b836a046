"""In-memory fakes of the engine ports, for tests that run without a database or network."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.ports import GenerationRequest, GenerationResult, ModerationResult, Usage
from engine.types import NewEvent


class RecordingSink:
    """Keeps every emitted event, with gap-free offsets, and applies in-place updates."""

    def __init__(self, start_offset: int = 0) -> None:
        self.events: list[NewEvent] = []
        self.offsets: list[int] = []
        self.updates: list[tuple[int, Mapping[str, Any]]] = []
        self._next_offset = itertools.count(start_offset)

    async def emit(self, event: NewEvent) -> int:
        offset = next(self._next_offset)
        self.events.append(event)
        self.offsets.append(offset)
        return offset

    async def update(self, offset: int, data: Mapping[str, Any]) -> None:
        self.updates.append((offset, dict(data)))
        position = self.offsets.index(offset)
        old = self.events[position]
        self.events[position] = NewEvent(kind=old.kind, source=old.source, data=dict(data))

    @property
    def statuses(self) -> list[str]:
        return [e.data["status"] for e in self.events if e.kind == "status"]

    @property
    def messages(self) -> list[str]:
        return [e.data["message"] for e in self.events if e.kind == "message"]

    @property
    def tool_events(self) -> list[NewEvent]:
        return [e for e in self.events if e.kind == "tool"]


@dataclass
class Cancellation:
    """Cancelled after `after_checks` checks (None: never)."""

    after_checks: int | None = None
    checks: int = 0

    async def is_cancelled(self) -> bool:
        self.checks += 1
        return self.after_checks is not None and self.checks > self.after_checks


@dataclass
class ScriptedNLPService:
    """Answers each schema from a script; records every request like an LLM provider would see.

    `script[schema_name]` is a list of answers used in order (the last repeats); an answer that is
    an Exception instance is raised instead, and a callable receives the request.
    """

    script: dict[str, list[Any]] = field(default_factory=dict)
    requests: list[GenerationRequest] = field(default_factory=list)
    name: str = "scripted"
    stream_chunks: list[str] = field(default_factory=list)

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        self.requests.append(request)
        answers = self.script.get(request.schema_name)
        if not answers:
            raise AssertionError(f"no scripted answer for {request.schema_name}")
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer):
            answer = answer(request)
        return GenerationResult(
            content=answer,
            usage=Usage(prompt_tokens=len(request.prompt) // 4, completion_tokens=20),
            model="scripted",
            duration_ms=1.0,
        )

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        self.requests.append(request)
        for chunk in self.stream_chunks:
            yield chunk

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [[float(len(text))] for text in texts]

    async def moderate(self, text: str) -> ModerationResult:
        return ModerationResult(flagged=False)

    def schema_names(self) -> list[str]:
        return [request.schema_name for request in self.requests]
