"""Applied actions: which matched actions the reply carried out (Parlant's response analysis)."""

from __future__ import annotations

from engine.applied import applied_ids, carried_out, followed_ids
from engine.engine import Engine
from engine.nlp.local import LocalNLPService
from tests.engine.bank import Session
from tests.engine.builders import customer_says, make_guideline, make_turn
from tests.engine.fakes import Cancellation, RecordingSink, ScriptedNLPService

INSTRUCTIONS = [
    {"id": "g_limits", "action": "state the daily ATM withdrawal limit"},
    {"id": "g_card", "action": "ask for the last four digits of their card"},
]


def test_a_reply_carries_out_an_action_when_it_says_what_the_action_asks() -> None:
    reply = "Your daily ATM withdrawal limit is 500 dollars."
    assert carried_out(reply, INSTRUCTIONS[0]["action"])
    assert not carried_out(reply, INSTRUCTIONS[1]["action"])
    assert applied_ids(reply, INSTRUCTIONS) == {"g_limits"}
    # A composer's own list outranks the reading, and only names real instructions.
    assert followed_ids({"followed_instructions": [2, 5, True]}, INSTRUCTIONS) == {"g_card"}
    assert followed_ids({"message": "…"}, INSTRUCTIONS) is None
    assert applied_ids(reply, INSTRUCTIONS, {"g_card"}) == {"g_card"}


async def test_a_matched_action_the_reply_left_out_stays_pending() -> None:
    limits = make_guideline(
        "g_limits", "the customer asks about ATM limits", INSTRUCTIONS[0]["action"]
    )
    card = make_guideline("g_card", "the customer reports a lost card", INSTRUCTIONS[1]["action"])
    nlp = ScriptedNLPService(
        script={
            "turn_decision": [
                {
                    "guidelines": [
                        {"id": "g1", "applies": True},
                        {"id": "g2", "applies": True},
                    ],
                    "journeys": [],
                    "tool_calls": [],
                }
            ],
            "compose_reply": [{"message": "Your daily ATM withdrawal limit is 500 dollars."}],
        }
    )
    outcome = await Engine(nlp=nlp).process_turn(
        make_turn(
            events=customer_says("What's my ATM limit? Also I lost my card."),
            guidelines=(limits, card),
        ),
        RecordingSink(),
        Cancellation(),
    )
    assert outcome.state.applied_guideline_ids == ("g_limits",)
    assert outcome.trace["composition"]["applied"] == ["g_limits"]


async def test_the_local_provider_records_what_its_reply_did() -> None:
    from tests.engine.bank import bank_registry, bank_snapshot

    session = Session(Engine(nlp=LocalNLPService(), tools=bank_registry()), bank_snapshot())
    await session.say("Hi, I would like to apply for a personal loan.")
    outcome = session.outcomes[-1]
    composition = outcome.trace["composition"]
    assert composition["applied_by"] == "reading"
    matched_actions = {m["id"] for m in outcome.trace["matched"]}
    assert set(outcome.state.applied_guideline_ids) <= matched_actions
    assert set(outcome.state.applied_guideline_ids) == set(composition["applied"]) & matched_actions


async def test_a_customer_dependent_action_stays_active_until_the_customer_answers() -> None:
    from engine.types import CannedResponse
    from tests.engine.bank import CANNED, bank_snapshot

    order_number = make_guideline(
        "g_order",
        "the customer asks where their order is",
        "ask for the order number",
        is_customer_dependent=True,
    )
    session = Session(
        Engine(nlp=LocalNLPService()),
        bank_snapshot(
            guidelines=(order_number,),
            journeys=(),
            # The local provider says only approved text: the question, as the author wrote it.
            canned_responses=(
                *CANNED,
                CannedResponse("c_order", "Could you tell me your order number, please?"),
            ),
        ),
    )

    def matched() -> list[str]:
        return [m["id"] for m in session.outcomes[-1].trace["matched"]]

    await session.say("Where is my order?")
    assert matched() == ["g_order"]
    assert session.state.applied_guideline_ids == ("g_order",)
    await session.say("I'm still waiting, where is my order??")
    assert matched() == ["g_order"]  # done once, but the customer has not answered yet
    await session.say("Where is my order? The order number is 48213.")
    assert matched() == []
