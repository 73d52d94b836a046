"""Journeys on the local provider: activation, tool steps, skipping, backtracking, exit, end."""

from __future__ import annotations

from engine.engine import Engine
from engine.journeys import apply_decision
from engine.nlp.local import LocalNLPService
from engine.types import Guideline
from tests.engine.bank import LOAN_JOURNEY, Session, bank_registry, bank_snapshot
from tests.engine.fakes import RecordingSink


def _session(**overrides) -> Session:  # noqa: ANN003
    return Session(Engine(nlp=LocalNLPService(), tools=bank_registry()), bank_snapshot(**overrides))


def _ready(sink: RecordingSink) -> dict:
    return sink.events[-1].data["data"]


async def test_a_matching_condition_starts_the_journey_at_its_first_step() -> None:
    session = _session()
    sink = await session.say("Hi, I would like to apply for a personal loan.")
    assert session.state.journey_paths["loan"] == ("ask_amount",)
    assert "loan amount" in sink.messages[0]
    assert _ready(sink)["matched_journeys"] == ["loan"]
    assert _ready(sink)["matched_journey_states"] == ["ask_amount"]


async def test_an_answer_moves_through_the_tool_step_in_the_same_turn() -> None:
    session = _session()
    await session.say("Hi, I would like to apply for a personal loan.")
    sink = await session.say("I need a loan amount of 15000 dollars.")
    [tool_event] = sink.tool_events
    assert tool_event.data["tool_calls"][0]["arguments"] == {"loan_amount": "15000"}
    assert session.state.journey_paths["loan"] == ("ask_amount", "offers", "present")
    assert "7.9%" in sink.messages[0]


async def test_it_skips_a_step_the_customer_already_answered() -> None:
    session = _session()
    await session.play(
        ["I would like to apply for a personal loan.", "I need a loan amount of 15000 dollars."]
    )
    await session.say("I'll take the 36 month term. My employment is full time, salary 85000.")
    assert session.state.journey_paths["loan"][-2:] == ("employment", "summary")


async def test_it_does_not_skip_on_words_the_activation_already_explained() -> None:
    session = _session()
    await session.say("I want to apply for a personal loan")
    assert session.state.journey_paths["loan"] == ("ask_amount",)


async def test_it_backtracks_when_the_customer_changes_an_earlier_answer() -> None:
    session = _session()
    await session.play(
        ["I would like to apply for a personal loan.", "I need a loan amount of 15000 dollars."]
    )
    sink = await session.say("Sorry, I meant a loan amount of 20000 dollars instead.")
    path = session.state.journey_paths["loan"]
    assert path[-3:] == ("ask_amount", "offers", "present")
    assert sink.tool_events[0].data["tool_calls"][0]["arguments"] == {"loan_amount": "20000"}


async def test_confirming_the_summary_completes_the_journey() -> None:
    session = _session()
    await session.play(
        [
            "I would like to apply for a personal loan.",
            "I need a loan amount of 15000 dollars.",
            "I'll take the 36 month term. My employment is full time, salary 85000.",
        ]
    )
    sink = await session.say("Yes, I confirm the submission.")
    assert session.state.journey_paths["loan"][-1] == "end"
    assert _ready(sink)["matched_journeys"] == []


async def test_journey_scoped_guidelines_apply_only_while_the_journey_is_active() -> None:
    scoped = Guideline(
        id="g_collateral",
        condition="the customer asks about collateral",
        action="say that personal loans need no collateral",
        journey_id="loan",
    )
    session = _session(guidelines=(scoped,))
    await session.say("Do I need collateral?")
    assert session.outcomes[-1].trace["matched"] == []
    await session.play(["I would like to apply for a personal loan.", "Do I need collateral?"])
    assert [m["id"] for m in session.outcomes[-1].trace["matched"]] == ["g_collateral"]


def test_an_exit_ends_the_path_and_a_foreign_transition_is_ignored() -> None:
    exited = apply_decision(LOAN_JOURNEY, ("ask_amount",), transitions=[], exit_journey=True)
    assert exited.path_after == ("ask_amount", "end")
    assert exited.events == ["exited"]
    ignored = apply_decision(LOAN_JOURNEY, ("ask_amount",), transitions=["confirmed"])
    assert ignored.path_after == ("ask_amount",)
    assert ignored.events == ["ignored:confirmed"]
