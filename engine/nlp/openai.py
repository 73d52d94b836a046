"""The OpenAI provider; through base_url also any OpenAI-compatible server (vLLM, Ollama, …).

Every call goes through the official `openai` client with its own retries switched off, so that
one policy here decides what is retried: timeouts, connection errors, 408/409/429 and 5xx are
retried with backoff up to `max_retries` times; any other status fails at once, because a bad key
or a bad request is not made better by asking again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any

import openai
from openai.types.chat import ChatCompletion

from engine.errors import NLPSchemaError, NLPServiceError, NLPServiceUnavailable
from engine.nlp.base import schema_errors
from engine.ports import GenerationRequest, GenerationResult, ModerationResult, Usage

logger = logging.getLogger(__name__)

# OpenAI takes up to 2048 inputs per embeddings request but also caps a request at 300k tokens;
# 256 ordinary texts stay far below both.
EMBEDDING_BATCH_SIZE = 256
# The longest pause between attempts, even when a server's Retry-After asks for more: a customer is
# waiting on this turn, so past this point failing (and letting the task retry later) is better.
MAX_BACKOFF_SECONDS = 8.0
# Besides every 5xx: request timeout, lock conflict and rate limit mean "try again shortly".
TRANSIENT_STATUSES = frozenset({408, 409, 429})

# OpenAI moderation categories → Parlant's moderation tags. The extra tags on the sub-categories
# (sexual/minors is also illicit, …) follow Parlant's own OpenAI adapter so flags read the same.
# OpenAI has no jailbreak category: that tag comes only from prompt-injection detectors.
MODERATION_TAGS: Mapping[str, tuple[str, ...]] = {
    "harassment": ("harassment",),
    "harassment/threatening": ("harassment", "illicit"),
    "hate": ("hate",),
    "hate/threatening": ("hate", "illicit"),
    "illicit": ("illicit",),
    "illicit/violent": ("illicit", "violence"),
    "self-harm": ("self-harm",),
    "self-harm/intent": ("self-harm", "violence"),
    "self-harm/instructions": ("self-harm", "illicit"),
    "sexual": ("sexual",),
    "sexual/minors": ("sexual", "illicit"),
    "violence": ("violence",),
    "violence/graphic": ("violence", "harassment"),
}

CODE_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


class OpenAINLPService:
    """NLPService over OpenAI's chat completions, embeddings and moderations endpoints.

    `generate` asks for Structured Outputs (`json_schema`, strict when the schema allows it); if
    the server rejects that, it falls back to JSON mode with the schema in a system message and
    keeps using JSON mode. Output that is not JSON or breaks the schema is retried with the
    problems fed back to the model; after the last attempt it raises NLPSchemaError. Transient
    transport failures end in NLPServiceUnavailable, permanent ones (401, 404, …) in
    NLPServiceError at once. The only hint read is `model`, to override the model per request.
    """

    name = "openai"

    def __init__(
        self,
        api_key: str,
        base_url: str | None = None,
        model: str = "gpt-4o-mini",
        embedding_model: str = "text-embedding-3-small",
        moderation_model: str = "omni-moderation-latest",
        timeout_seconds: float = 30.0,
        max_retries: int = 2,
        backoff_seconds: float = 0.5,
    ) -> None:
        if timeout_seconds <= 0:
            raise ValueError(f"timeout_seconds must be positive, got {timeout_seconds}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be zero or more, got {max_retries}")
        self._client_options = {
            "api_key": api_key,
            "base_url": base_url,
            "timeout": timeout_seconds,
            "max_retries": 0,
        }
        # One client per event loop: its connection pool belongs to the loop that opened it, and
        # a worker may run each turn on a loop of its own.
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, openai.AsyncOpenAI] = (
            weakref.WeakKeyDictionary()
        )
        self.model = model
        self.embedding_model = embedding_model
        self.moderation_model = moderation_model
        self.max_attempts = max_retries + 1
        self.backoff_seconds = backoff_seconds
        # Flipped once a server rejects json_schema but accepts json_object, so later calls skip
        # the doomed first request.
        self.is_json_schema_supported = True

    @property
    def _client(self) -> openai.AsyncOpenAI:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = openai.AsyncOpenAI(**self._client_options)
        return client

    async def aclose(self) -> None:
        await self._client.close()

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """Return content that satisfies request.json_schema.

        Usage adds up every attempt that got an answer, since each one was billed; duration_ms
        is the whole wait, retries included.
        """
        started = time.perf_counter()
        model = str(request.hints.get("model", self.model))
        messages: list[dict[str, str]] = [{"role": "user", "content": request.prompt}]
        prompt_tokens = completion_tokens = 0
        last_error: Exception | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                completion = await self._complete_json(request, model, messages)
            except openai.OpenAIError as error:
                last_error = self._transient_or_raise(f"generate {request.schema_name}", error)
                if attempt < self.max_attempts:
                    await asyncio.sleep(self._retry_delay(attempt, error))
                continue
            if completion.usage is not None:
                prompt_tokens += completion.usage.prompt_tokens
                completion_tokens += completion.usage.completion_tokens
            reply = _reply_text(completion)
            try:
                content = _decode_json_object(reply)
            except ValueError as error:
                problems = [str(error)]
            else:
                problems = schema_errors(content, request.json_schema)
            if not problems:
                return GenerationResult(
                    content=content,
                    usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens),
                    model=completion.model or model,
                    duration_ms=(time.perf_counter() - started) * 1000,
                )
            last_error = NLPSchemaError(f"{request.schema_name}: {'; '.join(problems[:5])}")
            logger.warning(
                "model reply broke the schema",
                extra={"schema": request.schema_name, "attempt": attempt, "problems": problems},
            )
            # Show the model its own reply and what is wrong with it: a plain re-ask at a low
            # temperature tends to repeat the same mistake.
            messages = [
                messages[0],
                {"role": "assistant", "content": reply},
                {"role": "user", "content": _repair_instruction(problems)},
            ]
        if isinstance(last_error, NLPSchemaError):
            raise last_error
        raise NLPServiceUnavailable(
            f"generate {request.schema_name}: {self.max_attempts} attempts failed; "
            f"last error: {_describe(last_error)}"
        ) from last_error

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        """Yield the reply as text deltas (the schema is not enforced: the prompt shapes the text).

        Failures before the first delta are retried like any call; after it, retrying would
        repeat text the caller already showed, so NLPServiceUnavailable is raised instead.
        """
        model = str(request.hints.get("model", self.model))
        for attempt in range(1, self.max_attempts + 1):
            has_yielded = False
            try:
                chunks = await self._client.chat.completions.create(
                    model=model,
                    messages=[{"role": "user", "content": request.prompt}],
                    temperature=request.temperature,
                    stream=True,
                )
                async with chunks:
                    async for chunk in chunks:
                        for choice in chunk.choices:
                            if choice.delta.content:
                                has_yielded = True
                                yield choice.delta.content
                return
            except openai.OpenAIError as error:
                if has_yielded:
                    raise NLPServiceUnavailable(
                        f"stream broke after text was sent: {_describe(error)}"
                    ) from error
                self._transient_or_raise("stream", error)
                if attempt == self.max_attempts:
                    raise NLPServiceUnavailable(
                        f"stream: {attempt} attempts failed; last error: {_describe(error)}"
                    ) from error
                await asyncio.sleep(self._retry_delay(attempt, error))

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order, fetched in batches of EMBEDDING_BATCH_SIZE."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), EMBEDDING_BATCH_SIZE):
            response = await self._call_with_retries(
                "embed",
                partial(
                    self._client.embeddings.create,
                    model=self.embedding_model,
                    input=list(texts[start : start + EMBEDDING_BATCH_SIZE]),
                    encoding_format="float",
                ),
            )
            ordered = sorted(response.data, key=lambda item: item.index)
            vectors.extend(list(item.embedding) for item in ordered)
        return vectors

    async def moderate(self, text: str) -> ModerationResult:
        response = await self._call_with_retries(
            "moderate",
            partial(self._client.moderations.create, model=self.moderation_model, input=text),
        )
        result = response.results[0]
        categories = result.categories.model_dump(by_alias=True)
        tags = {
            tag
            for category, is_flagged in categories.items()
            if is_flagged
            for tag in MODERATION_TAGS.get(category, ())
        }
        return ModerationResult(flagged=result.flagged, tags=tuple(sorted(tags)))

    async def _complete_json(
        self, request: GenerationRequest, model: str, messages: list[dict[str, str]]
    ) -> ChatCompletion:
        create = partial(
            self._client.chat.completions.create, model=model, temperature=request.temperature
        )
        rejection: openai.APIStatusError | None = None
        if self.is_json_schema_supported:
            try:
                return await create(messages=messages, response_format=_json_schema_format(request))
            except (openai.BadRequestError, openai.UnprocessableEntityError) as error:
                rejection = error
        # JSON mode does not carry a schema, and OpenAI requires the word "JSON" in the messages.
        instruction = {
            "role": "system",
            "content": "Reply with one JSON object, and nothing else, that satisfies this JSON "
            f"schema:\n{json.dumps(request.json_schema)}",
        }
        completion = await create(
            messages=[instruction, *messages], response_format={"type": "json_object"}
        )
        if rejection is not None:
            logger.warning(
                "server rejected json_schema; using json_object from now on",
                extra={"schema": request.schema_name, "error": _describe(rejection)},
            )
            self.is_json_schema_supported = False
        return completion

    async def _call_with_retries[T](self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(1, self.max_attempts + 1):
            try:
                return await call()
            except openai.OpenAIError as error:
                self._transient_or_raise(operation, error)
                if attempt == self.max_attempts:
                    raise NLPServiceUnavailable(
                        f"{operation}: {attempt} attempts failed; last error: {_describe(error)}"
                    ) from error
                await asyncio.sleep(self._retry_delay(attempt, error))
        raise AssertionError("unreachable: the loop returns or raises")

    def _transient_or_raise(self, operation: str, error: openai.OpenAIError) -> openai.OpenAIError:
        """Return `error` if asking again may help; otherwise raise NLPServiceError now."""
        if isinstance(error, openai.APIConnectionError):  # includes APITimeoutError
            return error
        if isinstance(error, openai.APIStatusError) and (
            error.status_code in TRANSIENT_STATUSES or error.status_code >= 500
        ):
            return error
        raise NLPServiceError(f"{operation} failed: {_describe(error)}") from error

    def _retry_delay(self, attempt: int, error: Exception) -> float:
        """The server's Retry-After if it sent one, else exponential backoff with jitter."""
        if isinstance(error, openai.APIStatusError):
            try:
                return min(float(error.response.headers["retry-after"]), MAX_BACKOFF_SECONDS)
            except (KeyError, ValueError):
                pass
        delay = min(self.backoff_seconds * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)
        # Jitter keeps workers that failed together from retrying in lockstep.
        return delay * random.uniform(0.75, 1.0)


def _json_schema_format(request: GenerationRequest) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {
            # OpenAI accepts names of at most 64 letters, digits, '_' and '-'.
            "name": re.sub(r"[^A-Za-z0-9_-]", "_", request.schema_name)[:64] or "response",
            "schema": dict(request.json_schema),
            "strict": is_strict_compatible(request.json_schema),
        },
    }


def is_strict_compatible(schema: Any) -> bool:
    """Whether OpenAI's strict mode takes `schema`: every object closed, every property required."""
    if not isinstance(schema, Mapping):
        return True
    properties = schema.get("properties", {})
    is_object = "properties" in schema or schema.get("type") == "object"
    is_closed = schema.get("additionalProperties") is False
    if is_object and (not is_closed or set(schema.get("required", ())) != set(properties)):
        return False
    children = [
        *properties.values(),
        schema.get("items"),
        *schema.get("anyOf", ()),
        *schema.get("$defs", {}).values(),
    ]
    return all(is_strict_compatible(child) for child in children)


def _reply_text(completion: ChatCompletion) -> str:
    if not completion.choices:
        return ""
    message = completion.choices[0].message
    if message.refusal:
        return f"(refused: {message.refusal})"
    return message.content or ""


def _decode_json_object(reply: str) -> dict[str, Any]:
    """Parse `reply` as one JSON object, tolerating a code fence or prose around it."""
    text = reply.strip()
    if fenced := CODE_FENCE.match(text):
        text = fenced.group(1)
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        start = text.find("{")
        if start < 0:
            raise ValueError("the reply contains no JSON object") from None
        try:
            value, _ = json.JSONDecoder().raw_decode(text, start)
        except json.JSONDecodeError as error:
            raise ValueError(f"the reply is not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise ValueError(f"the reply is a JSON {type(value).__name__}, not an object")
    return value


def _repair_instruction(problems: Sequence[str]) -> str:
    listed = "\n".join(f"- {problem}" for problem in problems[:10])
    return (
        f"That reply cannot be used:\n{listed}\n"
        "Reply again with only the corrected JSON object, satisfying the schema."
    )


def _describe(error: BaseException | None) -> str:
    if isinstance(error, openai.APIStatusError):
        return f"HTTP {error.status_code}: {error.message}"
    return f"{type(error).__name__}: {error}"
