"""Model failures are retried a bounded number of times; then the turn ends cleanly."""

from __future__ import annotations

import asyncio
import json

import pytest

from engine.engine import Engine
from engine.errors import NLPSchemaError, NLPServiceUnavailable
from engine.nlp.local import LocalNLPService
from tests.engine.builders import customer_says, make_guideline, make_turn
from tests.engine.fakes import Cancellation, RecordingSink, ScriptedNLPService

# The local provider matches by meaning; a greeting is short, so its examples carry it.
DRINK = make_guideline(
    "g_drink",
    "the customer greets you",
    "offer a refreshing drink",
    examples=("hi", "hello", "hey", "good morning"),
)
DECIDE_DRINK = {
    "guidelines": [{"id": "g1", "applies": True, "rationale": "greeting"}],
    "journeys": [],
    "tool_calls": [],
}


async def test_it_retries_a_transient_failure_and_replies_once() -> None:
    nlp = ScriptedNLPService(
        script={
            "turn_decision": [NLPServiceUnavailable("503"), DECIDE_DRINK],
            "compose_reply": [{"message": "Welcome! Fancy a cold lemonade?"}],
        }
    )
    sink = RecordingSink()
    outcome = await Engine(nlp=nlp).process_turn(
        make_turn(events=customer_says("hello"), guidelines=(DRINK,)), sink, Cancellation()
    )
    assert sink.messages == ["Welcome! Fancy a cold lemonade?"]
    calls = outcome.trace["llm_calls"]
    assert [(c["schema_name"], c["is_ok"]) for c in calls] == [
        ("turn_decision", False),
        ("turn_decision", True),
        ("compose_reply", True),
    ]


async def test_it_retries_an_answer_that_breaks_the_schema() -> None:
    nlp = ScriptedNLPService(
        script={
            "turn_decision": [{"guidelines": "not a list"}, DECIDE_DRINK],
            "compose_reply": [{"message": "Hi! A drink?"}],
        }
    )
    sink = RecordingSink()
    await Engine(nlp=nlp).process_turn(
        make_turn(events=customer_says("hello"), guidelines=(DRINK,)), sink, Cancellation()
    )
    assert sink.messages == ["Hi! A drink?"]
    assert nlp.schema_names().count("turn_decision") == 2


async def test_it_gives_up_after_three_attempts_with_an_error_status_and_no_message() -> None:
    nlp = ScriptedNLPService(
        script={"turn_decision": [NLPSchemaError("garbage")], "compose_reply": [{"message": "x"}]}
    )
    sink = RecordingSink()
    outcome = await Engine(nlp=nlp).process_turn(
        make_turn(events=customer_says("hello"), guidelines=(DRINK,)), sink, Cancellation()
    )
    assert nlp.schema_names() == ["turn_decision"] * 3
    assert sink.messages == []
    assert sink.statuses[-1] == "error"
    error = sink.events[-1].data["data"]["exception"]
    assert "Traceback" not in error
    assert outcome.trace["outcome"] == "error"
    assert outcome.state.applied_guideline_ids == ()


async def test_a_failing_composition_leaves_no_half_reply() -> None:
    nlp = ScriptedNLPService(
        script={
            "turn_decision": [DECIDE_DRINK],
            "compose_reply": [NLPServiceUnavailable("timeout")],
        }
    )
    sink = RecordingSink()
    await Engine(nlp=nlp).process_turn(
        make_turn(events=customer_says("hello"), guidelines=(DRINK,)), sink, Cancellation()
    )
    assert sink.messages == []
    assert sink.statuses == ["acknowledged", "processing", "typing", "error"]


async def test_it_lets_an_unexpected_error_of_the_sink_propagate() -> None:
    class RefusingSink(RecordingSink):
        async def emit(self, event):  # noqa: ANN001, ANN202
            if event.kind == "message":
                raise LookupError("stale turn")
            return await super().emit(event)

    with pytest.raises(LookupError):
        await Engine(nlp=LocalNLPService()).process_turn(
            make_turn(events=customer_says("hi"), guidelines=(DRINK,)),
            RefusingSink(),
            Cancellation(),
        )


async def test_a_cancelled_task_reports_cancelled_then_ready() -> None:
    started = asyncio.Event()

    async def slow_decision(request):  # noqa: ANN001, ANN202
        started.set()
        await asyncio.sleep(3600)

    class SlowNLP(ScriptedNLPService):
        async def generate(self, request):  # noqa: ANN001, ANN202
            await slow_decision(request)

    sink = RecordingSink()
    task = asyncio.create_task(
        Engine(nlp=SlowNLP()).process_turn(
            make_turn(events=customer_says("hi"), guidelines=(DRINK,)), sink, Cancellation()
        )
    )
    await asyncio.wait_for(started.wait(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sink.statuses[-2:] == ["cancelled", "ready"]
    assert sink.messages == []


async def test_the_trace_is_json_serialisable() -> None:
    outcome = await Engine(nlp=LocalNLPService()).process_turn(
        make_turn(events=customer_says("Hi there!"), guidelines=(DRINK,)),
        RecordingSink(),
        Cancellation(),
    )
    trace = json.loads(json.dumps(outcome.trace))
    assert trace["matched"][0]["id"] == "g_drink"
    assert trace["llm_calls"][0]["schema_name"] == "turn_decision"
    assert {"total_ms", "model_ms", "engine_ms"} <= set(trace["timing"])
