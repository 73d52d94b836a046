"""LocalNLPService: the engine's NLPService protocol answered without a language model.

It answers the engine's own schemas (prompts.*_SCHEMA_NAME) from the structured payload the
engine puts in GenerationRequest.hints["payload"]: decisions by meaning (decision.py), replies
from approved text only (composing.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence

from engine import prompts
from engine.errors import NLPSchemaError
from engine.nlp.embedding import LOCAL_EMBEDDING_MODEL, local_embed
from engine.nlp.local import composing, decision
from engine.ports import GenerationRequest, GenerationResult, ModerationResult, Usage

STREAM_CHUNK_WORDS = 4


class LocalNLPService:
    name = "local"
    is_local = True
    # Nothing is generated: replies are canned responses or the no-match template.
    says_only_approved_text = True
    embedding_model = LOCAL_EMBEDDING_MODEL

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        started = time.perf_counter()
        payload = request.hints.get("payload")
        if not isinstance(payload, Mapping):
            raise NLPSchemaError(
                f"The local provider answers only engine requests with a payload "
                f"(schema {request.schema_name!r} had none)."
            )
        handler = {
            prompts.DECISION_SCHEMA_NAME: decision.decide,
            prompts.COMPOSE_SCHEMA_NAME: composing.compose,
            prompts.CANNED_FLUID_SCHEMA_NAME: composing.compose_or_choose_template,
            prompts.STRICT_CANNED_SCHEMA_NAME: composing.choose_template,
        }.get(request.schema_name)
        if handler is None:
            raise NLPSchemaError(f"The local provider has no rule for {request.schema_name!r}.")
        content = handler(payload)
        return GenerationResult(
            content=content,
            usage=Usage(),
            model="local",
            duration_ms=(time.perf_counter() - started) * 1000,
        )

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        payload = request.hints.get("payload") or {}
        text = composing.compose(payload)["message"]
        tokens = text.split(" ")
        for start in range(0, len(tokens), STREAM_CHUNK_WORDS):
            chunk = " ".join(tokens[start : start + STREAM_CHUNK_WORDS])
            yield chunk if start == 0 else " " + chunk

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return await asyncio.to_thread(local_embed, list(texts))

    async def moderate(self, text: str) -> ModerationResult:
        return ModerationResult(flagged=False)
