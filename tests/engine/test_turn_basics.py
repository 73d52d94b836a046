"""A whole turn, conversation in and events out, on the local provider."""

from __future__ import annotations

from dataclasses import replace

from engine.engine import Engine
from engine.nlp.local import LocalNLPService
from engine.types import CannedResponse, SessionMode
from tests.engine.builders import customer_says, make_guideline, make_turn
from tests.engine.fakes import Cancellation, RecordingSink

# The local provider matches by meaning; a greeting is short, so its examples carry it.
GREETINGS = ("hi", "hello", "hey", "good morning", "good evening")
DRINK = make_guideline(
    "g_drink", "the customer greets you", "offer a refreshing drink", examples=GREETINGS
)
# Without a language model the agent says only approved text.
WELCOME = CannedResponse("c_welcome", "Welcome! Can I offer you a refreshing drink?")


async def test_it_offers_a_drink_when_greeted() -> None:
    sink = RecordingSink()
    outcome = await Engine(nlp=LocalNLPService()).process_turn(
        make_turn(
            events=customer_says("Hi there!"), guidelines=(DRINK,), canned_responses=(WELCOME,)
        ),
        sink,
        Cancellation(),
    )
    assert sink.statuses == ["acknowledged", "processing", "typing", "ready"]
    assert [e.kind for e in sink.events] == ["status", "status", "status", "message", "status"]
    message = sink.events[3].data
    assert "drink" in message["message"]
    assert message["participant"] == {"id": "agent_otto", "display_name": "Otto Carmen"}
    assert sink.events[1].data == {"status": "processing", "data": {"stage": "Interpreting"}}
    ready = sink.events[-1].data
    assert ready["status"] == "ready"
    assert ready["data"]["stage"] == "completed"
    assert ready["data"]["matched_guidelines"] == ["g_drink"]
    assert not outcome.was_cancelled
    assert outcome.state.applied_guideline_ids == ("g_drink",)


async def test_it_matches_every_common_greeting() -> None:
    for greeting in ("hi", "Hello!", "hey", "Good morning", "hey there, good evening"):
        sink = RecordingSink()
        await Engine(nlp=LocalNLPService()).process_turn(
            make_turn(events=customer_says(greeting), guidelines=(DRINK,)), sink, Cancellation()
        )
        assert sink.events[-1].data["data"]["matched_guidelines"] == ["g_drink"], greeting


async def test_it_does_not_offer_a_drink_for_an_unrelated_message() -> None:
    sink = RecordingSink()
    await Engine(nlp=LocalNLPService()).process_turn(
        make_turn(events=customer_says("Where is my parcel?"), guidelines=(DRINK,)),
        sink,
        Cancellation(),
    )
    assert sink.events[-1].data["data"]["matched_guidelines"] == []
    assert "drink" not in sink.messages[0]


async def test_it_sends_no_message_when_cancelled() -> None:
    sink = RecordingSink()
    outcome = await Engine(nlp=LocalNLPService()).process_turn(
        make_turn(events=customer_says("Hi there!"), guidelines=(DRINK,)),
        sink,
        Cancellation(after_checks=0),
    )
    assert outcome.was_cancelled
    assert sink.messages == []
    assert sink.statuses[-2:] == ["cancelled", "ready"]


async def test_it_stays_silent_while_a_human_has_the_session() -> None:
    sink = RecordingSink()
    turn = replace(
        make_turn(events=customer_says("Hi there!"), guidelines=(DRINK,)),
        session_mode=SessionMode.MANUAL,
    )
    outcome = await Engine(nlp=LocalNLPService()).process_turn(turn, sink, Cancellation())
    assert sink.events == []
    assert outcome.trace["outcome"] == "manual_mode"
