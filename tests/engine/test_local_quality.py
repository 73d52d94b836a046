"""The zero-LLM mode end to end: a dealership like the demo's, with example messages and the
canned responses it needs, says only approved text while its journey and tools work.

A fixed clock makes "Saturday" always Saturday 9 May 2026. The argument readers (dates, times,
choices) are checked on their own at the end.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

import pytest

from engine.engine import Engine
from engine.nlp.local import LocalNLPService
from engine.text import find_date, find_time
from engine.tools import ToolContext, ToolRegistry, ToolResult, attempted_choice, extract_argument
from engine.types import (
    Agent,
    AgentSnapshot,
    CannedResponse,
    Guideline,
    Journey,
    JourneyState,
    JourneyTransition,
    SessionMode,
)
from tests.engine.bank import Session

TODAY = date(2026, 5, 6)  # a Wednesday


class FixedClock:
    def now(self) -> datetime:
        return datetime(2026, 5, 6, 10, 0, tzinfo=UTC)


# --- A car dealership like the demo's --------------------------------------------------------

MODELS = ("Aurora", "Bolt", "Cruiser")


def dealership_registry(calls: list[dict]) -> ToolRegistry:
    registry = ToolRegistry()

    def check_test_drive_availability(
        context: ToolContext,
        car_model: Annotated[Literal["Aurora", "Bolt", "Cruiser"], "The model to drive"],
        day: Annotated[str, "The day the customer wants, as YYYY-MM-DD"],
    ) -> ToolResult:
        """Check which test drive slots are free for a car model on a given day."""
        calls.append({"car_model": car_model, "day": day})
        wanted = date.fromisoformat(day)
        free = [] if wanted.weekday() == 6 else ["10:00", "16:00"]
        return ToolResult(
            data={"car_model": car_model, "day": day, "free_slots": free},
            canned_response_fields={"free_slots": ", ".join(free) or "none"},
        )

    def hand_off_to_human(context: ToolContext) -> ToolResult:
        """Ask a colleague to take over."""
        return ToolResult(
            data="A colleague has been asked to join the conversation.",
            control={"mode": "manual"},
        )

    registry.register(check_test_drive_availability)
    registry.register(hand_off_to_human)
    return registry


TEST_DRIVE = Journey(
    id="test_drive",
    title="Schedule a test drive",
    conditions=("the customer wants to book a test drive",),
    condition_examples=(("can I try one of your cars?", "I'd like to drive the Bolt"),),
    states=(
        JourneyState(
            id="ask_model",
            action="ask which model they would like to drive: Aurora, Bolt or Cruiser",
        ),
        JourneyState(id="ask_day", action="ask which day suits them"),
        JourneyState(id="check", tool_ids=("check_test_drive_availability",)),
        JourneyState(id="offer", action="offer the free slots and ask which one they prefer"),
        JourneyState(
            id="confirm",
            action="confirm the booking and remind them to bring their driving licence",
        ),
    ),
    transitions=(
        JourneyTransition("start", "initial", "ask_model"),
        JourneyTransition("model_asked", "ask_model", "ask_day"),
        JourneyTransition("day_asked", "ask_day", "check"),
        JourneyTransition("free", "check", "offer", "there are free slots that day"),
        JourneyTransition("none_free", "check", "ask_day", "no slot is free that day"),
        JourneyTransition("picked", "offer", "confirm", "the customer picked a slot"),
        JourneyTransition("done", "confirm", "end"),
    ),
)

DEALERSHIP = AgentSnapshot(
    agent=Agent(id="otto", name="Otto Carmen", description="A car dealership assistant."),
    guidelines=(
        Guideline(
            "greet",
            "the customer greets you",
            "offer a refreshing drink",
            examples=("hello", "good morning", "hey"),
        ),
        Guideline(
            "financing",
            "the customer asks about financing",
            "explain that financing is available from 3.9% APR",
        ),
        Guideline(
            "complaint",
            "the customer is unhappy or complains",
            "apologize and offer to connect them with a manager",
        ),
        Guideline(
            "human",
            "the customer asks to speak with a human",
            "tell them that a colleague will join the conversation shortly",
            tool_ids=("hand_off_to_human",),
        ),
        Guideline(
            "licence",
            "the customer asks what to bring or which documents they need",
            "tell them to bring a valid driving licence",
            journey_id="test_drive",
        ),
    ),
    journeys=(TEST_DRIVE,),
    canned_responses=tuple(
        CannedResponse(f"c{number}", text, tags=tags)
        for number, (text, tags) in enumerate(
            [
                ("Welcome to Carmen Motors, {{std.customer.name}}! Can I offer you a drink?", ()),
                ("Which model would you like to drive: Aurora, Bolt or Cruiser?", ()),
                ("Which day suits you for the test drive?", ()),
                ("That day these slots are free: {{free_slots}}. Which one suits you?", ()),
                ("Your test drive is booked. Please bring your driving licence.", ()),
                ("Financing is available from 3.9% APR.", ()),
                ("I'm sorry about that. Shall I connect you with a manager?", ()),
                ("A colleague will join the conversation shortly.", ()),
                ("Sorry, I can only help with our cars, test drives and financing.", ("no_match",)),
            ]
        )
    ),
    version="dealership-1",
)


def dealership(calls: list[dict] | None = None) -> Session:
    engine = Engine(
        nlp=LocalNLPService(),
        tools=dealership_registry(calls if calls is not None else []),
        clock=FixedClock(),
    )
    return Session(engine, DEALERSHIP)


async def _say(session: Session, text: str) -> str:
    sink = await session.say(text)
    assert len(sink.messages) == 1, sink.messages
    return sink.messages[0]


async def test_the_demo_conversation_says_only_approved_text() -> None:
    calls: list[dict] = []
    session = dealership(calls)
    assert await _say(session, "Hi there!") == (
        "Welcome to Carmen Motors, Dana Levi! Can I offer you a drink?"
    )
    assert await _say(session, "I'd like to book a test drive") == (
        "Which model would you like to drive: Aurora, Bolt or Cruiser?"
    )
    assert await _say(session, "The Bolt, on Saturday") == (
        "That day these slots are free: 10:00, 16:00. Which one suits you?"
    )
    assert calls == [{"car_model": "Bolt", "day": "2026-05-09"}]
    assert await _say(session, "How much is financing?") == "Financing is available from 3.9% APR."
    assert await _say(session, "I want to talk to a human") == (
        "A colleague will join the conversation shortly."
    )
    assert session.outcomes[-1].session_mode == SessionMode.MANUAL


async def test_an_out_of_scope_question_matches_nothing_and_gets_the_no_match_template() -> None:
    session = dealership()
    assert await _say(session, "What's the capital of Australia?") == (
        "Sorry, I can only help with our cars, test drives and financing."
    )
    assert session.outcomes[-1].trace["composition"]["no_match"]


# --- Reading arguments from what the customer wrote ---------------------------------------------


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("today", date(2026, 5, 6)),
        ("tomorrow", date(2026, 5, 7)),
        ("the day after tomorrow", date(2026, 5, 8)),
        ("on Saturday at 10am", date(2026, 5, 9)),
        ("Wednesday", date(2026, 5, 6)),
        ("next Wednesday", date(2026, 5, 13)),
        ("next Monday", date(2026, 5, 11)),
        ("on fri", date(2026, 5, 8)),
        ("in 3 days", date(2026, 5, 9)),
        ("March 3", date(2027, 3, 3)),
        ("3rd of March 2026", date(2026, 3, 3)),
        ("2026-05-20", date(2026, 5, 20)),
        ("May 12th", date(2026, 5, 12)),
        ("the 15th", date(2026, 5, 15)),
        ("25/12", date(2026, 12, 25)),
        ("3/5", None),  # March 5 or 3 May: asked again rather than guessed
        ("I sat down and may come", None),
    ],
)
def test_dates_resolve_against_the_clock(written: str, meant: date | None) -> None:
    assert find_date(written, TODAY) == meant


def test_a_date_about_the_past_looks_back() -> None:
    assert find_date("last Friday", TODAY) == date(2026, 5, 1)
    transaction = {"name": "transaction_date", "type": "string", "description": ""}
    assert extract_argument(transaction, ["it was on Friday"], TODAY) == "2026-05-01"
    booking = {"name": "day", "type": "string", "description": "as YYYY-MM-DD"}
    assert extract_argument(booking, ["Friday works"], TODAY) == "2026-05-08"


def test_times_are_read_in_twenty_four_hours() -> None:
    assert [find_time(t) for t in ("10am", "4.30 pm", "at 16:00", "noon", "room 5")] == [
        "10:00",
        "16:30",
        "16:00",
        "12:00",
        None,
    ]


def test_a_named_choice_that_is_not_offered_is_noticed() -> None:
    car = {"name": "car_model", "description": "The model to drive", "enum": list(MODELS)}
    assert attempted_choice(car, "The Model S on Saturday") == "Model S"
    assert attempted_choice(car, "a Tesla model please") == "Tesla"
    assert attempted_choice(car, "which model is fastest?") is None
    assert attempted_choice(car, "Tesla", was_asked=True) == "Tesla"
    assert attempted_choice(car, "Tesla", was_asked=False) is None
