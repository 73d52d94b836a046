"""The product on the OpenAI provider: the real openai client against a scripted local server."""

import json
import re
import time

import pytest

from tests.support.http import call_json
from tests.support.live_stack import live_stack
from tests.support.scripted_openai import HttpError, ScriptedOpenAI

GUIDELINE_LINE = re.compile(r"^\[(g\d+)\].*condition: (.*?) \|", re.MULTILINE)


def judge_and_write(body: dict) -> dict:
    """A model that applies greeting guidelines and writes the reply from the given action."""
    schema = body.get("response_format", {}).get("json_schema", {}).get("name", "")
    prompt = "\n".join(str(message.get("content", "")) for message in body["messages"])
    if schema == "turn_decision":
        return {
            "guidelines": [
                {"id": local_id, "rationale": "a greeting", "applies": "greet" in condition}
                for local_id, condition in GUIDELINE_LINE.findall(prompt)
            ],
            "journeys": [],
            "tool_calls": [],
        }
    text = (
        "Welcome to Carmen Motors! May I bring you a refreshing lemonade?"
        if "refreshing drink" in prompt
        else "How can I help you today?"
    )
    return text if body.get("stream") else {"message": text}


def events_until(base_url: str, session_id: str, predicate, deadline_seconds: float = 30) -> list:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        events = call_json(
            "GET", f"{base_url}/sessions/{session_id}/events?min_offset=0&wait_for_data=0"
        )
        if predicate(events):
            return events
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {deadline_seconds} s: {events}")


@pytest.fixture(scope="module")
def model():
    with ScriptedOpenAI(chat_handler=judge_and_write) as server:
        yield server


@pytest.fixture(scope="module")
def openai_product(model):
    environment = {
        "PARLANT_NLP_PROVIDER": "openai",
        "OPENAI_BASE_URL": model.base_url,
        "OPENAI_API_KEY": "test-key",
        "OPENAI_TIMEOUT_SECONDS": "5",
    }
    with live_stack(environment) as stack:
        yield stack


def has_reply(events: list) -> bool:
    return any(e["kind"] == "message" and e["source"] == "ai_agent" for e in events)


def has_status(status: str):
    return lambda events: any(
        e["kind"] == "status" and e["data"]["status"] == status for e in events
    )


def test_the_reply_comes_from_the_model_through_the_openai_client(openai_product, model):
    model.chat_handler = judge_and_write
    before = len(model.chat_requests)
    session = call_json("POST", f"{openai_product.url}/sessions", {"agent_id": "otto-carmen"})
    call_json(
        "POST",
        f"{openai_product.url}/sessions/{session['id']}/events",
        {"kind": "message", "source": "customer", "message": "Hello!"},
    )
    events = events_until(openai_product.url, session["id"], has_reply)
    reply = next(e for e in events if e["source"] == "ai_agent" and e["kind"] == "message")
    assert (
        reply["data"]["message"]
        == "Welcome to Carmen Motors! May I bring you a refreshing lemonade?"
    )
    turn_requests = model.chat_requests[before:]
    assert 1 <= len(turn_requests) <= 3
    assert "Hello!" in json.dumps(turn_requests[0])


def test_a_model_that_never_fits_the_schema_gives_an_error_status_and_no_reply(
    openai_product, model
):
    model.chat_handler = lambda body: {"unexpected": True}
    try:
        session = call_json("POST", f"{openai_product.url}/sessions", {"agent_id": "otto-carmen"})
        call_json(
            "POST",
            f"{openai_product.url}/sessions/{session['id']}/events",
            {"kind": "message", "source": "customer", "message": "Hello!"},
        )
        events = events_until(openai_product.url, session["id"], has_status("error"), 60)
    finally:
        model.chat_handler = judge_and_write
    assert not has_reply(events)
    [error] = [e for e in events if e["kind"] == "status" and e["data"]["status"] == "error"]
    assert "usable answer" in error["data"]["data"]["exception"]


def test_a_transient_server_error_is_retried_and_the_reply_still_comes(openai_product, model):
    model.fail_next(HttpError(status=500), HttpError(status=503))
    session = call_json("POST", f"{openai_product.url}/sessions", {"agent_id": "otto-carmen"})
    call_json(
        "POST",
        f"{openai_product.url}/sessions/{session['id']}/events",
        {"kind": "message", "source": "customer", "message": "Hi there"},
    )
    events = events_until(openai_product.url, session["id"], has_reply)
    replies = [e for e in events if e["kind"] == "message" and e["source"] == "ai_agent"]
    assert len(replies) == 1
    assert model.pending_faults == 0


def test_a_streaming_agent_grows_its_reply_in_place_over_the_websocket(openai_product, model):
    import asyncio

    import websockets

    model.chat_handler = judge_and_write
    agent = call_json(
        "POST",
        f"{openai_product.url}/agents",
        {"name": "Streamer", "message_output_mode": "stream"},
    )
    call_json(
        "POST",
        f"{openai_product.url}/guidelines",
        {
            "condition": "the customer greets you",
            "action": "offer a refreshing drink",
            "tags": [f"agent:{agent['id']}"],
        },
    )
    session = call_json("POST", f"{openai_product.url}/sessions", {"agent_id": agent["id"]})
    socket_url = openai_product.url.replace("http", "ws") + f"/ws/sessions/{session['id']}/events"

    async def watch() -> list[dict]:
        seen = []
        async with websockets.connect(socket_url, origin=openai_product.url) as socket:
            call_json(
                "POST",
                f"{openai_product.url}/sessions/{session['id']}/events",
                {"kind": "message", "source": "customer", "message": "Hello!"},
            )
            async with asyncio.timeout(30):
                while True:
                    event = json.loads(await socket.recv())["event"]
                    seen.append(event)
                    chunks = event["data"].get("chunks") or []
                    if event["source"] == "ai_agent" and chunks and chunks[-1] is None:
                        return seen

    seen = asyncio.run(watch())
    reply_versions = [e for e in seen if e["kind"] == "message" and e["source"] == "ai_agent"]
    assert len({e["offset"] for e in reply_versions}) == 1, "one message, updated in place"
    assert len(reply_versions) >= 2
    final = reply_versions[-1]["data"]
    assert final["message"] == "Welcome to Carmen Motors! May I bring you a refreshing lemonade?"
    assert "".join(chunk for chunk in final["chunks"] if chunk) == final["message"]


def test_a_zero_llm_strict_agent_answers_without_calling_the_model(openai_product, model):
    agent = call_json(
        "POST",
        f"{openai_product.url}/agents",
        {
            "name": "Strict Otto",
            "composition_mode": "strict_canned",
            "is_llm_free": True,
        },
    )
    assert agent["is_llm_free"] is True
    scope = [f"agent:{agent['id']}"]
    call_json(
        "POST",
        f"{openai_product.url}/guidelines",
        {
            "condition": "the customer greets you",
            "action": "offer a refreshing drink",
            "examples": ["hello", "good morning"],  # what the zero-LLM decision matches on
            "tags": scope,
        },
    )
    template = "Welcome to Carmen Motors! Would you like a refreshing drink?"
    call_json("POST", f"{openai_product.url}/canned_responses", {"value": template, "tags": scope})
    calls_before = len(model.chat_requests)
    session = call_json("POST", f"{openai_product.url}/sessions", {"agent_id": agent["id"]})
    call_json(
        "POST",
        f"{openai_product.url}/sessions/{session['id']}/events",
        {"kind": "message", "source": "customer", "message": "Hello!"},
    )
    events = events_until(openai_product.url, session["id"], has_reply)
    reply = next(e for e in events if e["kind"] == "message" and e["source"] == "ai_agent")
    assert reply["data"]["message"] == template
    assert len(model.chat_requests) == calls_before
