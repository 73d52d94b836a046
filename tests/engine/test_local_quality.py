"""How the local provider's replies read: like a concise person at the counter, not a template.

Conversations run through the whole engine (matching, journeys, tools, composition) with a
fixed clock, so "Saturday" is always Saturday 9 May 2026. Every reply checked here also passes
assert_reads_well: no doubled words, no "the customer", questions that end with "?", at most
one question about missing data.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Literal

import pytest

from engine.composition import local_fluid_reply, parameter_phrase, to_second_person
from engine.engine import Engine
from engine.nlp.local import LocalNLPService
from engine.text import find_date, find_time
from engine.tools import ToolContext, ToolRegistry, ToolResult, attempted_choice, extract_argument
from engine.types import (
    Agent,
    AgentSnapshot,
    Guideline,
    Journey,
    JourneyState,
    JourneyTransition,
    SessionMode,
)
from tests.engine.bank import Session, bank_registry, bank_snapshot

TODAY = date(2026, 5, 6)  # a Wednesday


class FixedClock:
    def now(self) -> datetime:
        return datetime(2026, 5, 6, 10, 0, tzinfo=UTC)


QUESTION_OPENERS = {
    "which", "what", "how", "when", "where", "why", "who", "could", "would", "do", "does",
    "did", "are", "is", "have", "can", "may",
}  # fmt: skip


def assert_reads_well(reply: str) -> None:
    assert not re.search(r"\b(\w+)\s+\1\b", reply, re.IGNORECASE), reply
    assert not re.search(r"\bthe (?:customer|user)\b", reply, re.IGNORECASE), reply
    assert not re.search(r"\b(?:they|their)\b", reply, re.IGNORECASE), reply
    assert reply.count("?") <= 2, reply
    assert reply.lower().count("could you tell me") <= 1, reply
    for sentence in re.split(r"(?<=[.?!])\s+", reply):
        assert sentence[:1].isupper(), reply
        if sentence.split()[0].lower().strip(",") in QUESTION_OPENERS:
            assert not sentence.endswith("."), reply


async def _say(session: Session, text: str) -> str:
    sink = await session.say(text)
    assert len(sink.messages) == 1, sink.messages
    assert_reads_well(sink.messages[0])
    return sink.messages[0]


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
        return ToolResult(data={"car_model": car_model, "day": day, "free_slots": free})

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
        Guideline("greet", "the customer greets you", "offer a refreshing drink"),
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
    version="dealership-1",
)


def dealership(calls: list[dict] | None = None) -> Session:
    engine = Engine(
        nlp=LocalNLPService(),
        tools=dealership_registry(calls if calls is not None else []),
        clock=FixedClock(),
    )
    return Session(engine, DEALERSHIP)


async def test_the_demo_conversation_reads_like_a_person() -> None:
    calls: list[dict] = []
    session = dealership(calls)
    assert await _say(session, "Hi there!") == "Hello Dana! Would you like a refreshing drink?"
    assert await _say(session, "I'd like to book a test drive") == (
        "Which model would you like to drive: Aurora, Bolt or Cruiser?"
    )
    assert await _say(session, "The Model S on Saturday at 10am") == (
        "Sorry, Model S is not one of the available models. "
        "Which model would you like to drive: Aurora, Bolt or Cruiser?"
    )
    assert calls == []
    [missing] = session.outcomes[-1].trace["missing_arguments"]
    assert missing["value"] == "Model S"
    assert missing["known_arguments"] == {"day": "2026-05-09"}  # Saturday, by the clock
    assert await _say(session, "How much is financing?") == "Financing is available from 3.9% APR."
    assert await _say(session, "I want to talk to a human") == (
        "A colleague will join the conversation shortly."
    )
    assert session.outcomes[-1].session_mode == SessionMode.MANUAL


async def test_the_journey_moves_on_as_the_customer_gives_the_values() -> None:
    calls: list[dict] = []
    session = dealership(calls)
    assert await _say(session, "I'd like to book a test drive of the Aurora") == (
        "Which day suits you?"
    )
    assert await _say(session, "Saturday please") == (
        "For Aurora on Saturday, 9 May, the free slots are 10:00 and 16:00. "
        "Which one do you prefer?"
    )
    assert calls == [{"car_model": "Aurora", "day": "2026-05-09"}]
    assert await _say(session, "10am works for me") == (
        "Your booking is confirmed. Please remember to bring your driving licence."
    )
    assert session.state.journey_paths["test_drive"][-1] == "confirm"


async def test_everything_in_one_message_goes_straight_to_the_free_slots() -> None:
    calls: list[dict] = []
    session = dealership(calls)
    reply = await _say(session, "Can I book a test drive of the Bolt for next Monday?")
    assert calls == [{"car_model": "Bolt", "day": "2026-05-11"}]
    assert reply == (
        "For Bolt on Monday, 11 May, the free slots are 10:00 and 16:00. Which one do you prefer?"
    )


async def test_a_slot_that_was_not_offered_is_refused_and_the_offer_stands() -> None:
    session = dealership()
    await session.play(["I want to book a test drive of the Bolt", "tomorrow"])
    assert await _say(session, "The 13:00 slot please") == (
        "Sorry, 13:00 is not one of the free slots. For Bolt on Thursday, 7 May, the free slots "
        "are 10:00 and 16:00. Which one do you prefer?"
    )
    assert session.state.journey_paths["test_drive"][-1] == "offer"


async def test_a_new_day_checks_again_and_a_full_day_asks_for_another() -> None:
    calls: list[dict] = []
    session = dealership(calls)
    await session.play(["I want to book a test drive of the Cruiser", "tomorrow"])
    assert await _say(session, "Sunday then") == (
        "For Cruiser on Sunday, 10 May, there are no free slots. Which day suits you?"
    )
    assert calls[-1] == {"car_model": "Cruiser", "day": "2026-05-10"}
    assert session.state.journey_paths["test_drive"][-1] == "ask_day"


async def test_another_topic_is_answered_without_asking_again() -> None:
    session = dealership()
    await session.play(["I want to book a test drive", "Cruiser"])
    assert await _say(session, "How much is financing?") == "Financing is available from 3.9% APR."
    # Back on topic: the question comes back, once.
    assert await _say(session, "ok, Friday then") == (
        "For Cruiser on Friday, 8 May, the free slots are 10:00 and 16:00. Which one do you prefer?"
    )


async def test_a_complaint_in_the_middle_of_a_journey_does_not_repeat_the_offer() -> None:
    session = dealership()
    await session.play(["I want to book a test drive of the Bolt", "tomorrow"])
    assert await _say(session, "This is ridiculous, I waited forever!") == (
        "I'm sorry about that. Would you like me to connect you with a manager?"
    )


# --- A bank and a shop ------------------------------------------------------------------------


async def test_a_tool_waiting_for_its_argument_asks_once_then_runs() -> None:
    session = Session(
        Engine(nlp=LocalNLPService(), tools=bank_registry(), clock=FixedClock()), bank_snapshot()
    )
    assert await _say(session, "I lost my debit card!") == (
        "To block the card, could you tell me the last four card digits?"
    )
    assert await _say(session, "It ends in 4821") == (
        "I've blocked the card. Would you like a replacement?"
    )
    [tool_event] = session.sinks[-1].tool_events
    assert tool_event.data["tool_calls"][0]["arguments"] == {"card_last_four": "4821"}


async def test_the_loan_journey_states_the_offers_and_asks_one_thing() -> None:
    session = Session(
        Engine(nlp=LocalNLPService(), tools=bank_registry(), clock=FixedClock()), bank_snapshot()
    )
    assert await _say(session, "Hi, I would like to apply for a personal loan.") == (
        "Hello Dana! What loan amount do you need?"
    )
    assert await _say(session, "I need a loan amount of 15000 dollars.") == (
        "The offers are term 24 months, APR 8.9%; term 36 months, APR 7.9%; term 60 months, "
        "APR 9.4%. Which term do you prefer?"
    )
    assert await _say(session, "What APR would I get for 36 months?") == (
        "APR depends on the term and credit profile."
    )


def shop_registry() -> ToolRegistry:
    registry = ToolRegistry()

    def get_order_status(
        context: ToolContext, order_number: Annotated[str, "The customer's order number"]
    ) -> ToolResult:
        """Look up an order."""
        status = {"status": "shipped", "expected_delivery": "2026-05-08"}
        return ToolResult(data={"order_number": order_number, **status})

    def book_callback(
        context: ToolContext,
        day: Annotated[str, "The day they want the call, as YYYY-MM-DD"],
        time: Annotated[str, "The time for the call (HH:MM)"],
    ) -> ToolResult:
        """Book a call back."""
        return ToolResult(data={"booked": True, "day": day, "time": time, "reference": "CB-12"})

    def order_shirt(
        context: ToolContext,
        size: Annotated[Literal["small", "medium", "large"], "The size to order"],
    ) -> ToolResult:
        """Order the shirt."""
        return ToolResult(data={"ordered": True, "size": size})

    for function in (get_order_status, book_callback, order_shirt):
        registry.register(function)
    return registry


SHOP = AgentSnapshot(
    agent=Agent(id="rita", name="Rita"),
    guidelines=(
        Guideline("greet", "the customer greets you", "greet them and offer help"),
        Guideline(
            "status",
            "the customer asks where their order is",
            "tell them the order status",
            tool_ids=("get_order_status",),
        ),
        Guideline(
            "returns",
            "the customer asks about the return policy",
            "tell them that returns are accepted within 30 days with a receipt",
        ),
        Guideline(
            "late",
            "the customer is upset or complains",
            "apologize for the inconvenience and offer to escalate the issue",
        ),
        Guideline(
            "callback",
            "the customer wants a call back",
            "book a callback for them",
            tool_ids=("book_callback",),
        ),
        Guideline(
            "shirt",
            "the customer wants to buy the shirt",
            "order the shirt for them",
            tool_ids=("order_shirt",),
        ),
        Guideline("tone", "the customer writes anything", "respond in a friendly tone"),
    ),
    version="shop-1",
)


def shop() -> Session:
    return Session(Engine(nlp=LocalNLPService(), tools=shop_registry(), clock=FixedClock()), SHOP)


async def test_a_shop_answers_from_its_tools_and_its_guidelines() -> None:
    session = shop()
    assert await _say(session, "hi!") == "Hello Dana! How can I help you today?"
    assert await _say(session, "Where is my order?") == "What is your order number?"
    assert await _say(session, "It's A-10442") == (
        "For order A-10442, the status is shipped; the expected delivery is Friday, 8 May."
    )
    assert await _say(session, "what's your return policy?") == (
        "Returns are accepted within 30 days with a receipt."
    )
    assert await _say(session, "thanks!") == "You're welcome!"


async def test_two_missing_values_are_asked_in_one_question_and_dates_resolve() -> None:
    session = shop()
    assert await _say(session, "I'd like a call back") == (
        "To book a callback for you, could you tell me the day you want the call and the time "
        "for the call?"
    )
    assert await _say(session, "next Friday") == (
        "To book a callback for you, could you tell me the time for the call?"
    )
    assert await _say(session, "at 10:30 please") == (
        "I've booked a callback for you on Friday, 8 May at 10:30. The reference is CB-12."
    )


async def test_a_short_answer_that_is_not_a_choice_is_refused_with_the_choices() -> None:
    session = shop()
    assert await _say(session, "I want to buy the shirt") == (
        "Which size would you like to order: small, medium or large?"
    )
    assert await _say(session, "XXL") == (
        "Sorry, XXL is not one of the available sizes. "
        "Which size would you like to order: small, medium or large?"
    )
    assert await _say(session, "large then") == "I've ordered the shirt for you."


async def test_a_complaint_gets_an_apology_and_an_offer() -> None:
    session = shop()
    assert await _say(session, "This is terrible, my parcel is late!") == (
        "I'm sorry for the inconvenience. Would you like me to escalate the issue?"
    )


# --- Single actions, questions and dates --------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "reply"),
    [
        ("offer a refreshing drink", "Would you like a refreshing drink?"),
        ("tell them to bring a valid driving licence", "Please bring a valid driving licence."),
        (
            "explain that financing is available from 3.9% APR",
            "Financing is available from 3.9% APR.",
        ),
        ("ask which day and time suit them", "Which day and time suit you?"),
        (
            "apologize and offer to connect them with a manager",
            "I'm sorry about that. Would you like me to connect you with a manager?",
        ),
        ("greet them back warmly and offer help", "Hello! How can I help you today?"),
        ("ask the customer what loan amount they need", "What loan amount do you need?"),
        ("ask whether they have a receipt", "Do you have a receipt?"),
        ("ask if the customer is an existing member", "Are you an existing member?"),
        ("ask how they heard about us", "How did you hear about us?"),
        ("ask which branch they usually visit", "Which branch do you usually visit?"),
        ("ask for their order number", "Could you tell me your order number?"),
        (
            "Ask the customer about their employment status and income",
            "Could you tell me about your employment status and income?",
        ),
        (
            "ask the customer to describe the issue in more detail",
            "Could you please describe the issue in more detail?",
        ),
        (
            "ask whether the customer would like email or SMS updates",
            "Would you like email or SMS updates?",
        ),
        (
            "ask them which size they would like: small, medium or large",
            "Which size would you like: small, medium or large?",
        ),
        (
            "ask which model they are interested in before quoting",
            "Which model are you interested in?",
        ),
        (
            "thank them and note that income is used for loan eligibility",
            "Thank you. Income is used for loan eligibility.",
        ),
        (
            "let them know the order ships within 2 business days",
            "The order ships within 2 business days.",
        ),
        (
            "tell the customer that the customer's order has been shipped",
            "Your order has been shipped.",
        ),
        (
            "tell them their refund will arrive in 5-7 business days",
            "Your refund will arrive in 5-7 business days.",
        ),
        (
            "apologize and acknowledge their frustration before helping",
            "I'm sorry about that. I understand your frustration.",
        ),
        ("apologize for the delay", "I'm sorry for the delay."),
        ("thank them for their patience", "Thank you for your patience."),
        ("wish them a great day", "Have a great day!"),
        ("congratulate them on their new home", "Congratulations on your new home!"),
        ("suggest that they restart the router", "I'd suggest that you restart the router."),
        ("encourage them to leave a review", "I'd encourage you to leave a review."),
        ("never promise a delivery date", "I'm afraid I can't promise a delivery date."),
        ("avoid giving medical advice", "I'm afraid I can't give medical advice."),
        (
            "escalate the ticket to the technical team",
            "I'll escalate the ticket to the technical team.",
        ),
        (
            "confirm the booking and remind them to bring their driving licence",
            "Your booking is confirmed. Please remember to bring your driving licence.",
        ),
        (
            "check whether the customer has tried restarting the device",
            "Have you tried restarting the device?",
        ),
        (
            "ask the customer which they mean: the customer asks about ATM limits or the "
            "customer asks about credit card limits",
            "Which do you mean: ATM limits or credit card limits?",
        ),
        (
            "describe the rewards points and how to redeem them",
            "I can explain the rewards points and how to redeem them.",
        ),
        (
            "provide the routing number and direct deposit form location",
            "I can give you the routing number and direct deposit form location.",
        ),
    ],
)  # fmt: skip
def test_an_action_becomes_what_a_person_would_say(action: str, reply: str) -> None:
    payload = {
        "guidelines": [{"condition": "it applies", "action": action}],
        "history": [{"role": "customer", "text": "hello"}, {"role": "agent", "text": "Hi!"},
                    {"role": "customer", "text": "a question"}],
        "latest_customer_message": "a question",
        "today": TODAY.isoformat(),
    }  # fmt: skip
    text = local_fluid_reply(payload)
    assert text == reply
    assert_reads_well(text)


@pytest.mark.parametrize(
    ("entry", "question"),
    [
        (
            {"parameter": "car_model", "description": "The model to drive",
             "choices": ["Aurora", "Bolt", "Cruiser"]},
            "Which model would you like to drive: Aurora, Bolt or Cruiser?",
        ),
        (
            {"parameter": "day", "description": "The day the customer wants, as YYYY-MM-DD"},
            "What day would you like?",
        ),
        (
            {"parameter": "account_type", "description": "checking or savings"},
            "Which account type: checking or savings?",
        ),
        ({"parameter": "order_number", "description": "The customer's order number"},
         "What is your order number?"),
        ({"parameter": "card_last_four", "description": "last four card digits"},
         "Could you tell me the last four card digits?"),
        ({"parameter": "reason", "description": "Why they are returning it",
          "choices": ["damaged", "wrong size"]},
         "Why are you returning it: damaged or wrong size?"),
        ({"parameter": "email", "description": ""}, "Could you tell me the email?"),
    ],
)  # fmt: skip
def test_a_parameter_description_becomes_one_natural_question(entry: dict, question: str) -> None:
    assert parameter_phrase(entry).question == question


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


@pytest.mark.parametrize(
    ("action", "addressed"),
    [
        ("tell them their order shipped", "tell you your order shipped"),
        ("ask the customer what they want", "ask you what you want"),
        ("check whether the customer has a receipt", "check whether you have a receipt"),
        ("note the customer's preference", "note your preference"),
        ("ask which day suits them", "ask which day suits you"),
        (
            "describe the points and how to redeem them",
            "describe the points and how to redeem them",
        ),
        ("update the customer account", "update your account"),
    ],
)  # fmt: skip
def test_the_customer_is_addressed_as_you(action: str, addressed: str) -> None:
    assert to_second_person(action) == addressed
