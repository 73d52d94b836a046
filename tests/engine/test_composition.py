"""Composition modes, canned templates and their fields, and streaming output."""

from __future__ import annotations

from engine.canned import render
from engine.engine import Engine
from engine.errors import NLPServiceUnavailable
from engine.nlp.local import LocalNLPService
from engine.tools import ToolContext, ToolRegistry, ToolResult, tool
from engine.types import (
    CannedResponse,
    CompositionMode,
    ContextVariable,
    Customer,
    OutputMode,
)
from tests.engine.builders import customer_says, make_agent, make_guideline, make_turn
from tests.engine.fakes import Cancellation, RecordingSink, ScriptedNLPService

# The local provider matches by meaning; a greeting is short, so its examples carry it.
GREETINGS = ("hi", "hello", "hey", "good morning", "good evening")
DRINK = make_guideline(
    "g_drink", "the customer greets you", "offer a refreshing drink", examples=GREETINGS
)
TEMPLATES = (
    CannedResponse("c_drink", "Welcome, {{std.customer.name}}! May I offer you a cold drink?"),
    CannedResponse("c_tier", "As a {{std.variables.tier}} member you get free refills."),
    CannedResponse("c_order", "Your order {{order_id}} is on its way."),
    CannedResponse(
        "c_sorry", "I can only help with drinks, {{std.customer.name}}.", tags=("no_match",)
    ),
)


def test_it_renders_fields_and_refuses_a_template_with_an_unknown_field() -> None:
    fields = {"std": {"customer": {"name": "Dana"}}, "order_id": "A-1"}
    assert render("Hi {{ std.customer.name }}, order {{order_id}}", fields) == "Hi Dana, order A-1"
    assert render("Balance: {{balance}}", fields) is None


async def _turn(mode: CompositionMode, message: str, **fields) -> tuple[RecordingSink, object]:  # noqa: ANN003
    sink = RecordingSink()
    outcome = await Engine(nlp=LocalNLPService(), tools=fields.pop("tools", None)).process_turn(
        make_turn(
            events=customer_says(message),
            agent=make_agent(composition_mode=mode),
            guidelines=fields.pop("guidelines", (DRINK,)),
            canned_responses=TEMPLATES,
            customer=Customer(id="c1", name="Dana"),
            **fields,
        ),
        sink,
        Cancellation(),
    )
    return sink, outcome


async def test_strict_mode_sends_only_a_rendered_template() -> None:
    sink, outcome = await _turn(CompositionMode.STRICT_CANNED, "Hello!")
    assert sink.messages == ["Welcome, Dana! May I offer you a cold drink?"]
    assert sink.events[3].data["canned_responses"] == ["c_drink"]
    assert outcome.trace["composition"]["canned_response_id"] == "c_drink"
    assert "c_order" not in outcome.trace["composition"]["templates_offered"]


async def test_strict_mode_falls_back_to_the_no_match_template() -> None:
    sink, outcome = await _turn(CompositionMode.STRICT_CANNED, "Explain quantum gravity")
    assert sink.messages == ["I can only help with drinks, Dana."]
    assert outcome.trace["composition"]["no_match"]


async def test_tool_fields_make_a_template_usable() -> None:
    registry = ToolRegistry()

    @tool(registry=registry)
    async def track_order(context: ToolContext) -> ToolResult:
        """Find the customer's latest order."""
        return ToolResult(data={"status": "shipped"}, canned_response_fields={"order_id": "A-17"})

    tracking = make_guideline(
        "g_track", "the customer asks where their order is", "tell them the order status",
        tool_ids=("track_order",),
    )  # fmt: skip
    sink, _ = await _turn(
        CompositionMode.STRICT_CANNED,
        "where is my order?",
        guidelines=(tracking,),
        tools=registry,
    )
    assert sink.messages == ["Your order A-17 is on its way."]


async def test_variables_fill_std_fields() -> None:
    loyal = make_guideline("g_tier", "the customer asks about refills", "mention their tier perks")
    sink, _ = await _turn(
        CompositionMode.STRICT_CANNED,
        "do you do refills?",
        guidelines=(loyal,),
        variables=(ContextVariable("v1", "tier", value="Gold"),),
    )
    assert sink.messages == ["As a Gold member you get free refills."]


async def test_without_a_model_even_fluid_modes_say_only_approved_text() -> None:
    for mode in (CompositionMode.FLUID, CompositionMode.CANNED_FLUID):
        sink, outcome = await _turn(mode, "Hi!")
        assert sink.messages == ["Welcome, Dana! May I offer you a cold drink?"]
        assert outcome.trace["composition"]["mode"] == "strict_canned"
        sink, _ = await _turn(mode, "Explain quantum gravity")
        assert sink.messages == ["I can only help with drinks, Dana."]


async def test_a_guideline_can_force_a_stricter_mode() -> None:
    strict_greeting = make_guideline(
        "g_drink", "the customer greets you", "offer a refreshing drink",
        composition_mode=CompositionMode.STRICT_CANNED, examples=GREETINGS,
    )  # fmt: skip
    sink, outcome = await _turn(CompositionMode.FLUID, "Hello!", guidelines=(strict_greeting,))
    assert outcome.trace["composition"]["mode"] == "strict_canned"
    assert sink.messages == ["Welcome, Dana! May I offer you a cold drink?"]


async def test_streaming_emits_early_then_grows_the_same_event() -> None:
    nlp = ScriptedNLPService(
        script={"turn_decision": [{"guidelines": [], "journeys": [], "tool_calls": []}]},
        stream_chunks=["Hello", " there,", " want a drink?"],
    )
    sink = RecordingSink()
    await Engine(nlp=nlp).process_turn(
        make_turn(
            events=customer_says("hi"),
            agent=make_agent(output_mode=OutputMode.STREAM),
            guidelines=(DRINK,),
        ),
        sink,
        Cancellation(),
    )
    message_events = [e for e in sink.events if e.kind == "message"]
    assert len(message_events) == 1
    offset = sink.offsets[sink.events.index(message_events[0])]
    assert [o for o, _ in sink.updates] == [offset, offset, offset]
    assert [d["message"] for _, d in sink.updates] == [
        "Hello there,",
        "Hello there, want a drink?",
        "Hello there, want a drink?",
    ]
    assert sink.updates[-1][1]["chunks"][-1] is None
    assert sink.statuses[-1] == "ready"


async def test_a_stream_that_breaks_is_completed_in_place_not_duplicated() -> None:
    class BrokenStream(ScriptedNLPService):
        async def stream(self, request):  # noqa: ANN001, ANN202
            yield "Hel"
            raise NLPServiceUnavailable("connection reset")

    nlp = BrokenStream(
        script={
            "turn_decision": [{"guidelines": [], "journeys": [], "tool_calls": []}],
            "compose_reply": [{"message": "Hello! Something to drink?"}],
        }
    )
    sink = RecordingSink()
    await Engine(nlp=nlp).process_turn(
        make_turn(
            events=customer_says("hi"),
            agent=make_agent(output_mode=OutputMode.STREAM),
            guidelines=(DRINK,),
        ),
        sink,
        Cancellation(),
    )
    assert sink.messages == ["Hello! Something to drink?"]


async def test_cancellation_before_the_stream_starts_sends_nothing() -> None:
    nlp = ScriptedNLPService(
        script={"turn_decision": [{"guidelines": [], "journeys": [], "tool_calls": []}]},
        stream_chunks=["never"],
    )
    sink = RecordingSink()
    outcome = await Engine(nlp=nlp).process_turn(
        make_turn(
            events=customer_says("hi"),
            agent=make_agent(output_mode=OutputMode.STREAM),
            guidelines=(DRINK,),
        ),
        sink,
        Cancellation(after_checks=1),
    )
    assert outcome.was_cancelled
    assert sink.messages == []
    assert sink.statuses[-2:] == ["cancelled", "ready"]
