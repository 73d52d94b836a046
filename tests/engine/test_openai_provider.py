"""The OpenAI provider, driven through the real openai client against a scripted local server."""

from __future__ import annotations

import json
import math
import time

import pytest

from engine.errors import NLPSchemaError, NLPServiceError, NLPServiceUnavailable
from engine.nlp.openai import EMBEDDING_BATCH_SIZE, OpenAINLPService, is_strict_compatible
from engine.ports import GenerationRequest
from tests.support.scripted_openai import (
    EMBEDDINGS_PATH,
    Delay,
    HttpError,
    MalformedJson,
    SchemaMismatch,
    ScriptedOpenAI,
    count_tokens,
    embedding_for,
)

ANSWER_SCHEMA = {
    "type": "object",
    "properties": {
        "answer": {"type": "string"},
        "confidence": {"type": "string", "enum": ["low", "high"]},
        "sources": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["answer", "confidence", "sources"],
    "additionalProperties": False,
}
GOOD_ANSWER = {"answer": "We open at nine.", "confidence": "high", "sources": ["hours"]}


def answer_request(prompt: str = "When do you open?") -> GenerationRequest:
    return GenerationRequest(prompt=prompt, schema_name="Answer", json_schema=ANSWER_SCHEMA)


def make_service(server: ScriptedOpenAI, **overrides: object) -> OpenAINLPService:
    options: dict = {"timeout_seconds": 5.0, "max_retries": 2, "backoff_seconds": 0.01}
    return OpenAINLPService(api_key="test-key", base_url=server.base_url, **(options | overrides))


@pytest.fixture
async def service(scripted_openai: ScriptedOpenAI):
    service = make_service(scripted_openai)
    yield service
    await service.aclose()


async def test_it_returns_schema_valid_content_with_usage(service, scripted_openai):
    scripted_openai.chat_handler = lambda body: GOOD_ANSWER

    result = await service.generate(answer_request("When do you open?"))

    assert result.content == GOOD_ANSWER
    assert result.usage.prompt_tokens == 4
    assert result.usage.completion_tokens == count_tokens(json.dumps(GOOD_ANSWER))
    assert result.model == "gpt-4o-mini"
    assert result.duration_ms > 0
    [body] = scripted_openai.chat_requests
    assert body["messages"] == [{"role": "user", "content": "When do you open?"}]
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "Answer", "schema": ANSWER_SCHEMA, "strict": True},
    }


async def test_it_retries_a_server_error_then_succeeds(service, scripted_openai):
    scripted_openai.chat_handler = lambda body: GOOD_ANSWER
    scripted_openai.fail_next(HttpError(500))

    result = await service.generate(answer_request())

    assert result.content == GOOD_ANSWER
    assert len(scripted_openai.chat_requests) == 2


@pytest.mark.parametrize(
    ("fault", "expected_problem"),
    [(MalformedJson(), "not valid JSON"), (SchemaMismatch(), "missing 'answer'")],
)
async def test_it_retries_a_reply_that_breaks_the_schema(
    service,
    scripted_openai,
    fault,
    expected_problem,
):
    scripted_openai.chat_handler = lambda body: GOOD_ANSWER
    scripted_openai.fail_next(fault)

    result = await service.generate(answer_request())

    assert result.content == GOOD_ANSWER
    first, second = scripted_openai.chat_requests
    assert [message["role"] for message in second["messages"]] == ["user", "assistant", "user"]
    assert expected_problem in second["messages"][-1]["content"]
    # Both attempts were billed, so both count.
    prompt_tokens = sum(
        count_tokens(message["content"]) for body in (first, second) for message in body["messages"]
    )
    assert result.usage.prompt_tokens == prompt_tokens


async def test_it_raises_a_schema_error_when_every_reply_is_invalid(
    service,
    scripted_openai,
):
    scripted_openai.fail_next(SchemaMismatch(), MalformedJson(), SchemaMismatch())

    with pytest.raises(NLPSchemaError, match="Answer: .*missing 'answer'"):
        await service.generate(answer_request())

    assert len(scripted_openai.chat_requests) == 3


async def test_it_gives_up_after_bounded_timeouts(scripted_openai):
    service = make_service(scripted_openai, timeout_seconds=0.2, max_retries=2)
    scripted_openai.fail_next(Delay(30), Delay(30), Delay(30))
    started = time.monotonic()

    with pytest.raises(NLPServiceUnavailable, match="3 attempts failed.*Timeout"):
        await service.generate(answer_request())

    assert len(scripted_openai.chat_requests) == 3
    assert time.monotonic() - started < 10  # far below one scripted delay: the client gave up
    await service.aclose()


async def test_it_waits_out_rate_limits_as_told(service, scripted_openai):
    scripted_openai.chat_handler = lambda body: GOOD_ANSWER
    scripted_openai.fail_next(HttpError(429, retry_after_seconds=0.2), HttpError(429))
    started = time.monotonic()

    result = await service.generate(answer_request())

    assert result.content == GOOD_ANSWER
    assert len(scripted_openai.chat_requests) == 3
    assert time.monotonic() - started >= 0.2


async def test_it_reports_a_lasting_rate_limit_as_unavailable(
    service,
    scripted_openai,
):
    scripted_openai.fail_next(HttpError(429), HttpError(429), HttpError(429))

    with pytest.raises(NLPServiceUnavailable, match="HTTP 429"):
        await service.generate(answer_request())

    assert len(scripted_openai.chat_requests) == 3


async def test_it_fails_at_once_on_a_permanent_error(service, scripted_openai):
    scripted_openai.fail_next(HttpError(401))

    with pytest.raises(NLPServiceError, match="HTTP 401") as raised:
        await service.generate(answer_request())

    assert not isinstance(raised.value, NLPServiceUnavailable)
    assert len(scripted_openai.chat_requests) == 1


async def test_it_falls_back_to_json_mode_when_json_schema_is_rejected(
    service,
    scripted_openai,
):
    scripted_openai.supports_json_schema = False
    scripted_openai.chat_handler = lambda body: GOOD_ANSWER

    first = await service.generate(answer_request())
    second = await service.generate(answer_request())

    assert first.content == second.content == GOOD_ANSWER
    formats = [body["response_format"]["type"] for body in scripted_openai.chat_requests]
    assert formats == ["json_schema", "json_object", "json_object"]
    instruction = scripted_openai.chat_requests[1]["messages"][0]
    assert instruction["role"] == "system"
    assert json.dumps(ANSWER_SCHEMA) in instruction["content"]


async def test_it_streams_deltas_that_join_to_the_reply(service, scripted_openai):
    reply = "Thanks for waiting! Your refund was approved this morning."
    scripted_openai.chat_handler = lambda body: reply
    request = GenerationRequest(prompt="Say hi", schema_name="Message", json_schema={})

    deltas = [delta async for delta in service.stream(request)]

    assert len(deltas) > 1
    assert "".join(deltas) == reply
    [body] = scripted_openai.chat_requests
    assert body["stream"] is True


async def test_it_retries_a_stream_that_fails_before_any_text(
    service,
    scripted_openai,
):
    scripted_openai.chat_handler = lambda body: "Back online."
    scripted_openai.fail_next(HttpError(503))
    request = GenerationRequest(prompt="Say hi", schema_name="Message", json_schema={})

    deltas = [delta async for delta in service.stream(request)]

    assert "".join(deltas) == "Back online."
    assert len(scripted_openai.chat_requests) == 2


async def test_it_embeds_deterministically(service, scripted_openai):
    texts = ["refund my order", "Refund my order!", "where is my parcel"]

    vectors = await service.embed(texts)

    assert [len(vector) for vector in vectors] == [64, 64, 64]
    assert vectors[0] == vectors[1] == embedding_for("refund my order")
    assert vectors[0] != vectors[2]
    assert all(math.isclose(math.hypot(*vector), 1.0) for vector in vectors)
    assert await service.embed(texts) == vectors


async def test_it_embeds_in_batches_and_keeps_the_order(service, scripted_openai):
    texts = [f"question number {index}" for index in range(EMBEDDING_BATCH_SIZE + 1)]

    vectors = await service.embed(texts)

    assert len(vectors) == len(texts)
    assert vectors[-1] == embedding_for(texts[-1])
    batches = scripted_openai.requests_to(EMBEDDINGS_PATH)
    assert [len(batch["input"]) for batch in batches] == [EMBEDDING_BATCH_SIZE, 1]


async def test_it_maps_moderation_categories_to_parlant_tags(
    service,
    scripted_openai,
):
    scripted_openai.moderation_handler = lambda text: (
        {"harassment/threatening", "violence"} if "hurt" in text else set()
    )

    threatening = await service.moderate("I will hurt you")
    harmless = await service.moderate("Where is my parcel?")

    assert threatening.flagged is True
    assert threatening.tags == ("harassment", "illicit", "violence")
    assert harmless.flagged is False
    assert harmless.tags == ()


@pytest.mark.parametrize(
    ("schema", "is_strict"),
    [
        (ANSWER_SCHEMA, True),
        ({**ANSWER_SCHEMA, "required": ["answer"]}, False),
        ({**ANSWER_SCHEMA, "additionalProperties": True}, False),
        (
            {
                "type": "array",
                "items": {"type": "object", "properties": {"id": {"type": "string"}}},
            },
            False,
        ),
    ],
)
def test_it_asks_for_strict_outputs_only_when_the_schema_allows(schema, is_strict):
    assert is_strict_compatible(schema) is is_strict


async def test_the_scripted_server_reports_a_handler_that_raised():
    def broken_handler(body: dict) -> str:
        raise RuntimeError("handler bug")

    server = ScriptedOpenAI(broken_handler)
    server.start()
    service = OpenAINLPService(api_key="test-key", base_url=server.base_url, max_retries=0)
    with pytest.raises(NLPServiceUnavailable, match="HTTP 500"):
        await service.generate(answer_request())
    await service.aclose()
    server.close()

    with pytest.raises(AssertionError, match="scripted handler raised"):
        server.check_handler_errors()
