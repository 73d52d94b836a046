"""The product on the OpenAI provider: the real openai client against a scripted local server."""

import json
import re
import time
import urllib.request

import pytest

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
    if "refreshing drink" in prompt:
        return {"message": "Welcome to Carmen Motors! May I bring you a refreshing lemonade?"}
    return {"message": "How can I help you today?"}


def call(method: str, url: str, body: dict | None = None):
    request = urllib.request.Request(
        url,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def events_until(base_url: str, session_id: str, predicate, deadline_seconds: float = 30) -> list:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        events = call(
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
    session = call("POST", f"{openai_product.url}/sessions", {"agent_id": "otto-carmen"})
    call(
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
        session = call("POST", f"{openai_product.url}/sessions", {"agent_id": "otto-carmen"})
        call(
            "POST",
            f"{openai_product.url}/sessions/{session['id']}/events",
            {"kind": "message", "source": "customer", "message": "Hello!"},
        )
        events = events_until(openai_product.url, session["id"], has_status("error"), 60)
    finally:
        model.chat_handler = judge_and_write
    assert not has_reply(events)


def test_a_transient_server_error_is_retried_and_the_reply_still_comes(openai_product, model):
    model.fail_next(HttpError(status=500), HttpError(status=503))
    session = call("POST", f"{openai_product.url}/sessions", {"agent_id": "otto-carmen"})
    call(
        "POST",
        f"{openai_product.url}/sessions/{session['id']}/events",
        {"kind": "message", "source": "customer", "message": "Hi there"},
    )
    events = events_until(openai_product.url, session["id"], has_reply)
    replies = [e for e in events if e["kind"] == "message" and e["source"] == "ai_agent"]
    assert len(replies) == 1
    assert model.pending_faults == 0
