"""Journeys on the local provider: activation, tool steps, skipping, backtracking, exit, end."""

from __future__ import annotations

from engine.engine import Engine
from engine.journeys import JourneyMove, advance_directly, apply_decision
from engine.nlp.local import LocalNLPService
from engine.types import (
    JOURNEY_END,
    JOURNEY_INITIAL,
    Guideline,
    Journey,
    JourneyState,
    JourneyTransition,
)
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


# -- one chat step per turn; leaving, switching and coming back ---------------------------------

TOUR = Journey(
    id="tour",
    title="Product tour",
    conditions=("the customer wants a tour of the mobile app",),
    states=(
        JourneyState(id="login", action="explain how to log in to the app"),
        JourneyState(id="balance", action="show where the balance is"),
        JourneyState(id="transfers", action="show how transfers work"),
        JourneyState(id="cards", action="show how to freeze a card"),
    ),
    transitions=(
        JourneyTransition("t0", JOURNEY_INITIAL, "login"),
        JourneyTransition("t1", "login", "balance"),
        JourneyTransition("t2", "balance", "transfers"),
        JourneyTransition("t3", "transfers", "cards"),
    ),
)


def test_a_said_step_is_left_once_and_a_last_step_completes_the_journey() -> None:
    move = JourneyMove("tour", ("login",), ("login",))
    assert advance_directly(TOUR, ("login",), move) == ("login", "balance")
    assert move.entered == ["balance"]
    done = JourneyMove("tour", ("cards",), ("cards",))
    assert advance_directly(TOUR, ("login", "cards"), done) == ("login", "cards", JOURNEY_END)
    assert done.events == ["completed"]
    # A step asking the customer something waits for the answer, which the decision judges.
    asking = JourneyMove("loan", ("ask_amount",), ("ask_amount",))
    assert advance_directly(LOAN_JOURNEY, ("ask_amount",), asking) == ("ask_amount",)


async def test_unconditional_steps_are_said_one_per_turn() -> None:
    session = _session(journeys=(TOUR,))
    await session.say("I would like a tour of the mobile app please")
    assert session.state.journey_paths["tour"] == ("login",)
    await session.say("ok")
    assert session.state.journey_paths["tour"] == ("login", "balance")
    await session.play(["ok", "ok"])
    assert session.state.journey_paths["tour"] == ("login", "balance", "transfers", "cards")
    sink = await session.say("thanks")
    assert session.state.journey_paths["tour"][-1] == JOURNEY_END
    assert _ready(sink)["matched_journeys"] == []


async def test_a_customer_who_calls_the_journey_off_leaves_it() -> None:
    session = _session()
    await session.say("I would like to apply for a personal loan.")
    sink = await session.say("Never mind, forget it.")
    assert session.state.journey_paths["loan"] == ("ask_amount", JOURNEY_END)
    assert _ready(sink)["matched_journeys"] == []


async def test_switching_to_another_journey_and_coming_back_resumes_where_it_stopped() -> None:
    session = _session(journeys=(LOAN_JOURNEY, TOUR))
    await session.play(
        ["I would like to apply for a personal loan.", "I need a loan amount of 15000 dollars."]
    )
    assert session.state.journey_paths["loan"][-1] == "present"
    await session.say("Wait, first I want a tour of the mobile app")
    assert session.state.journey_paths["loan"][-2:] == ("present", JOURNEY_END)
    assert session.state.journey_paths["tour"] == ("login",)
    sink = await session.say("OK, back to applying for the personal loan now")
    assert session.state.journey_paths["loan"][-1] == "present"
    [loan_move] = [
        m for m in session.outcomes[-1].trace["journeys"]["moves"] if m["journey_id"] == "loan"
    ]
    assert loan_move["events"] == ["resumed:present"]
    assert _ready(sink)["matched_journey_states"] == ["present"]


def test_a_judged_walk_waits_at_a_tool_step_until_its_tool_ran() -> None:
    move = apply_decision(
        LOAN_JOURNEY, ("ask_amount",), transitions=["amount_given", "offers_ready", "term_chosen"]
    )
    assert move.path_after == ("ask_amount", "offers")
    assert move.events == ["waits_for_tool:offers"]
