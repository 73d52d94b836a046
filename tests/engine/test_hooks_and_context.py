"""Hooks, and the context a turn gathers: glossary, variables, capabilities, retrievers."""

from __future__ import annotations

import asyncio

from engine.engine import Engine
from engine.hooks import EngineHooks, HookAction
from engine.nlp.local import LocalNLPService
from engine.retrievers import RetrieverContext, RetrieverResult
from engine.tools import ToolContext, ToolRegistry, tool
from engine.types import CannedResponse, Capability, ContextVariable, Term
from tests.engine.builders import customer_says, make_guideline, make_turn
from tests.engine.fakes import Cancellation, RecordingSink, ScriptedNLPService

# The local provider matches by meaning; a greeting is short, so its examples carry it.
DRINK = make_guideline(
    "g_drink",
    "the customer greets you",
    "offer a refreshing drink",
    examples=("hi", "hello", "hey", "good morning"),
)
COFFEE = make_guideline("g_coffee", "the customer asks about coffee", "describe the coffee menu")


async def _run(engine: Engine, message: str = "Hi there!", **fields) -> tuple:  # noqa: ANN003
    sink = RecordingSink()
    outcome = await engine.process_turn(
        make_turn(events=customer_says(message), guidelines=(DRINK, COFFEE), **fields),
        sink,
        Cancellation(),
    )
    return sink, outcome


async def test_bail_while_acknowledging_drops_the_turn_silently() -> None:
    async def bail(context, payload):  # noqa: ANN001, ANN202
        return HookAction.BAIL

    sink, outcome = await _run(
        Engine(nlp=LocalNLPService(), hooks=EngineHooks(on_acknowledging=[bail]))
    )
    assert sink.events == []
    assert outcome.trace["outcome"] == "bailed"


async def test_hooks_can_change_candidates_matches_and_the_message() -> None:
    seen: dict = {}

    async def only_coffee_candidates(context, payload):  # noqa: ANN001, ANN202
        seen["candidates"] = list(payload.candidate_ids)
        payload.candidate_ids[:] = ["g_drink"]

    async def add_coffee(context, payload):  # noqa: ANN001, ANN202
        payload.matched_ids.append("g_coffee")

    async def sign(context, payload):  # noqa: ANN001, ANN202
        payload.text += " — Otto"
        return HookAction.CALL_NEXT

    async def record(context, payload):  # noqa: ANN001, ANN202
        seen["sent"] = (payload.text, payload.offset)

    hooks = EngineHooks(
        on_before_matching=[only_coffee_candidates],
        on_after_matching=[add_coffee],
        on_before_message=[sign],
        on_after_message=[record],
    )
    # Without a model the reply is approved text: the template for what the hook added.
    menu = CannedResponse("c_menu", "Here is our coffee menu: espresso, latte and flat white.")
    sink, _ = await _run(Engine(nlp=LocalNLPService(), hooks=hooks), canned_responses=(menu,))
    assert seen["candidates"] == ["g_drink", "g_coffee"]
    assert sink.events[-1].data["data"]["matched_guidelines"] == ["g_drink", "g_coffee"]
    assert sink.messages[0].endswith(" — Otto")
    assert "coffee menu" in sink.messages[0]
    assert seen["sent"] == (sink.messages[0], 3)


async def test_bail_before_the_message_suppresses_it() -> None:
    async def censor(context, payload):  # noqa: ANN001, ANN202
        return HookAction.BAIL

    sink, _ = await _run(
        Engine(nlp=LocalNLPService(), hooks=EngineHooks(on_before_message=[censor]))
    )
    assert sink.messages == []
    assert sink.statuses[-1] == "ready"


async def test_glossary_variables_and_capabilities_reach_the_prompts() -> None:
    nlp = ScriptedNLPService(
        script={
            "turn_decision": [{"guidelines": [], "journeys": [], "tool_calls": []}],
            "compose_reply": [{"message": "ok"}],
        }
    )
    await _run(
        Engine(nlp=nlp),
        "Can I pay for my latte with Beans?",
        terms=(Term("t1", "Beans", "Our loyalty points.", ("bean points",)),),
        variables=(ContextVariable("v1", "tier", value="Gold"),),
        capabilities=(Capability("cap1", "Pay with points", "Pay for a latte with Beans."),),
    )
    compose = nlp.requests[-1].prompt
    assert "- Beans (also: bean points): Our loyalty points." in compose
    assert '- tier: "Gold"' in compose
    assert "- Pay with points: Pay for a latte with Beans." in compose


async def test_a_stale_tool_backed_variable_is_refreshed() -> None:
    registry = ToolRegistry()

    @tool(registry=registry)
    async def current_tier(context: ToolContext) -> str:
        """The customer's tier now."""
        return "Platinum"

    _, outcome = await _run(
        Engine(nlp=LocalNLPService(), tools=registry),
        variables=(
            ContextVariable("v1", "tier", value="Gold", tool_id="current_tier", is_stale=True),
        ),
    )
    assert outcome.refreshed_variables == {"v1": "Platinum"}
    assert outcome.trace["variables"]["values"] == {"tier": "Platinum"}


async def test_retrievers_run_while_the_decision_is_made() -> None:
    decision_started = asyncio.Event()

    async def menu_retriever(context: RetrieverContext) -> RetrieverResult:
        # Finishes only once the decision call is under way: it must run concurrently.
        await asyncio.wait_for(decision_started.wait(), timeout=5)
        return RetrieverResult(data=f"Menu for: {context.latest_customer_message}")

    def decide(request):  # noqa: ANN001, ANN202
        decision_started.set()
        return {"guidelines": [], "journeys": [], "tool_calls": []}

    nlp = ScriptedNLPService(
        script={"turn_decision": [decide], "compose_reply": [{"message": "ok"}]}
    )
    _, outcome = await _run(Engine(nlp=nlp, retrievers=[menu_retriever]), "coffee menu?")
    assert "- Menu for: coffee menu?" in nlp.requests[-1].prompt
    assert outcome.trace["retrievers"][0]["name"] == "menu_retriever"
