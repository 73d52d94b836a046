"""@tool, argument handling, and tool calls inside a turn."""

from __future__ import annotations

import asyncio
import enum
from datetime import date
from typing import Annotated, Literal

import pytest

from engine.engine import Engine
from engine.errors import ToolDefinitionError
from engine.nlp.local import LocalNLPService
from engine.tools import (
    InvalidArgument,
    ToolCallRecord,
    ToolContext,
    ToolRegistry,
    ToolResult,
    cast_argument,
    default_registry,
    stored_tool_failure,
    tool,
)
from engine.types import CannedResponse, SessionMode, ToolParameter
from tests.engine.builders import customer_says, make_guideline, make_turn
from tests.engine.fakes import Cancellation, RecordingSink, ScriptedNLPService


class Size(enum.Enum):
    SMALL = "small"
    LARGE = "large"


def test_it_describes_a_function_from_its_annotations_and_docstring() -> None:
    registry = ToolRegistry()

    @tool(registry=registry, consequential=True)
    async def order_drink(
        context: ToolContext,
        drink: Annotated[str, "the drink to serve"],
        size: Size,
        temperature: Literal["hot", "cold"] = "cold",
        quantity: int | None = None,
        with_ice: bool = False,
        price_limit: float = 10.0,
    ) -> ToolResult:
        """Order a drink for the customer.

        Args:
            quantity: how many glasses
        """
        return ToolResult(data="ok")

    spec = registry.get("order_drink").spec()
    assert spec.description == "Order a drink for the customer."
    assert spec.is_consequential
    by_name = {p.name: p for p in spec.parameters}
    assert by_name["drink"] == ToolParameter("drink", "string", "the drink to serve")
    assert by_name["size"].enum == ("small", "large")
    assert by_name["size"].is_required
    assert by_name["temperature"].enum == ("hot", "cold")
    assert not by_name["temperature"].is_required
    assert by_name["quantity"].type == "integer"
    assert by_name["quantity"].description == "how many glasses"
    assert not by_name["quantity"].is_required
    assert by_name["with_ice"].type == "boolean"
    assert by_name["price_limit"].type == "number"


def test_the_decorator_registers_in_the_default_registry_and_returns_the_function() -> None:
    @tool
    def ping_for_registry_test(context: ToolContext) -> str:
        """Answer pong."""
        return "pong"

    assert "ping_for_registry_test" in default_registry
    assert ping_for_registry_test(None) == "pong"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "signature",
    [
        "def bad(ctx, x: int): ...",
        "def bad(context, x): ...",
        "def bad(context, x: list): ...",
        "def bad(context, *args: int): ...",
    ],
)
def test_it_refuses_a_signature_it_cannot_describe(signature: str) -> None:
    namespace: dict = {}
    exec(signature, namespace)  # noqa: S102 - building test functions
    with pytest.raises(ToolDefinitionError):
        ToolRegistry().register(namespace["bad"])


def test_it_casts_model_arguments_to_parameter_types() -> None:
    assert cast_argument("15,000", ToolParameter("n", "integer")) == 15000
    assert cast_argument("$2.5k", ToolParameter("n", "number")) == 2500
    assert cast_argument("False", ToolParameter("b", "boolean")) is False
    assert cast_argument("Large", ToolParameter("s", enum=("small", "large")), Size) is Size.LARGE
    with pytest.raises(ValueError, match="not one of"):
        cast_argument("medium", ToolParameter("s", enum=("small", "large")))


BALANCE_TEMPLATE = CannedResponse("c_balance", "The balance of that account is {{balance}}.")


def _balance_setup(registry: ToolRegistry, calls: list[dict]) -> tuple:
    @tool(registry=registry)
    def get_balance(
        context: ToolContext, account_type: Literal["checking", "savings"]
    ) -> ToolResult:
        """Get the balance of one of the customer's accounts."""
        calls.append({"account_type": account_type, "customer": context.customer_id})
        return ToolResult(
            data={"balance": "12.00 USD"},
            metadata={"source": "core"},
            canned_response_fields={"balance": "12.00 USD"},
        )

    return make_guideline(
        "g_balance",
        "the customer asks about their account balance",
        "tell them the balance",
        tool_ids=("get_balance",),
    )


async def test_it_runs_a_tool_with_arguments_read_from_the_message() -> None:
    registry, calls = ToolRegistry(), []
    guideline = _balance_setup(registry, calls)
    sink = RecordingSink()
    outcome = await Engine(nlp=LocalNLPService(), tools=registry).process_turn(
        make_turn(
            events=customer_says("What's the balance of my savings account?"),
            guidelines=(guideline,),
            # Without a model the tool's result reaches the customer through a template field.
            canned_responses=(BALANCE_TEMPLATE,),
        ),
        sink,
        Cancellation(),
    )
    assert calls == [{"account_type": "savings", "customer": "customer_1"}]
    [tool_event] = sink.tool_events
    assert tool_event.source == "system"
    assert tool_event.data == {
        "tool_calls": [
            {
                # "<service>:<tool>", as Parlant's clients read it; the service is the package.
                "tool_id": "tests:get_balance",
                "arguments": {"account_type": "savings"},
                "result": {
                    "data": {"balance": "12.00 USD"},
                    "metadata": {"source": "core"},
                    "control": {},
                    "canned_response_fields": {"balance": "12.00 USD"},
                },
            }
        ]
    }
    assert "12.00 USD" in sink.messages[0]
    assert outcome.trace["tools"][0]["arguments"] == {"account_type": "savings"}


async def test_it_asks_for_a_missing_required_argument_instead_of_guessing() -> None:
    registry, calls = ToolRegistry(), []
    guideline = _balance_setup(registry, calls)
    sink = RecordingSink()
    outcome = await Engine(nlp=LocalNLPService(), tools=registry).process_turn(
        make_turn(events=customer_says("what's my account balance?"), guidelines=(guideline,)),
        sink,
        Cancellation(),
    )
    assert calls == []
    assert sink.tool_events == []
    assert outcome.trace["missing_arguments"][0]["parameter"] == "account_type"
    assert "?" in sink.messages[0]


async def test_it_refuses_a_tool_the_model_proposes_without_a_matching_guideline() -> None:
    registry, calls = ToolRegistry(), []
    guideline = _balance_setup(registry, calls)
    nlp = ScriptedNLPService(
        script={
            "turn_decision": [
                {
                    "guidelines": [{"id": "g1", "applies": False}],
                    "journeys": [],
                    "tool_calls": [
                        {"tool_id": "get_balance", "arguments": {"account_type": "savings"}}
                    ],
                }
            ],
            "compose_reply": [{"message": "How can I help?"}],
        }
    )
    outcome = await Engine(nlp=nlp, tools=registry).process_turn(
        make_turn(events=customer_says("what is my balance?"), guidelines=(guideline,)),
        RecordingSink(),
        Cancellation(),
    )
    assert calls == []
    assert outcome.trace["tools"] == [
        {"tool_id": "get_balance", "skipped": "not enabled by a match"}
    ]


async def test_an_invalid_enum_value_is_asked_for_again() -> None:
    registry, calls = ToolRegistry(), []
    guideline = _balance_setup(registry, calls)
    nlp = ScriptedNLPService(
        script={
            "turn_decision": [
                {
                    "guidelines": [{"id": "g1", "applies": True}],
                    "journeys": [],
                    "tool_calls": [
                        {"tool_id": "get_balance", "arguments": {"account_type": "brokerage"}}
                    ],
                }
            ],
            "compose_reply": [{"message": "Which account: checking or savings?"}],
        }
    )
    outcome = await Engine(nlp=nlp, tools=registry).process_turn(
        make_turn(events=customer_says("balance of my brokerage"), guidelines=(guideline,)),
        RecordingSink(),
        Cancellation(),
    )
    assert calls == []
    [missing] = outcome.trace["missing_arguments"]
    assert missing["is_invalid"]
    assert missing["choices"] == ["checking", "savings"]
    compose_prompt = nlp.requests[-1].prompt
    assert "ASK THE CUSTOMER FOR" in compose_prompt


async def test_tools_run_in_parallel_and_failures_become_data() -> None:
    registry = ToolRegistry()
    both_started = asyncio.Event()
    running: set[str] = set()

    async def wait_for_the_other(name: str) -> None:
        running.add(name)
        if len(running) == 2:
            both_started.set()
        # Each tool finishes only once the other has started: this deadlocks if run serially.
        await asyncio.wait_for(both_started.wait(), timeout=5)

    @tool(registry=registry)
    async def first_lookup(context: ToolContext) -> str:
        """First."""
        await wait_for_the_other("first")
        return "one"

    @tool(registry=registry)
    async def second_lookup(context: ToolContext) -> str:
        """Second."""
        await wait_for_the_other("second")
        raise RuntimeError("backend down")

    guideline = make_guideline(
        "g_lookup", "the customer wants a lookup", "report the lookups",
        tool_ids=("first_lookup", "second_lookup"),
    )  # fmt: skip
    sink = RecordingSink()
    await Engine(nlp=LocalNLPService(), tools=registry).process_turn(
        make_turn(events=customer_says("please do a lookup"), guidelines=(guideline,)),
        sink,
        Cancellation(),
    )
    [tool_event] = sink.tool_events
    results = {c["tool_id"]: c["result"] for c in tool_event.data["tool_calls"]}
    assert results["tests:first_lookup"]["data"] == "one"
    assert results["tests:second_lookup"]["data"] == "Tool call error"
    assert "backend down" in results["tests:second_lookup"]["metadata"]["error"]
    assert sink.messages


def test_a_failure_stored_in_a_tool_event_reads_back_as_its_reason() -> None:
    failed = ToolCallRecord(tool_id="lookup", arguments={}, error="RuntimeError: backend down")
    succeeded = ToolCallRecord(tool_id="lookup", arguments={}, result=ToolResult(data="one"))
    assert stored_tool_failure(failed.event_entry()["result"]) == "RuntimeError: backend down"
    assert stored_tool_failure(succeeded.event_entry()["result"]) == ""
    assert stored_tool_failure({"data": {"error": "out of stock"}}) == ""  # the tool's own data


async def test_a_tool_can_hand_the_session_to_a_human_and_talk_while_running() -> None:
    registry = ToolRegistry()

    @tool(registry=registry)
    async def transfer_to_human(context: ToolContext) -> ToolResult:
        """Hand the conversation to a human banker."""
        await context.emit_status("processing", {"stage": "Finding a banker"})
        await context.emit_message("Connecting you with a banker now.")
        return ToolResult(data="transferred", control={"mode": "manual"})

    @tool(registry=registry)
    async def note_request(context: ToolContext) -> ToolResult:
        """Record the request."""
        return ToolResult(data="noted", control={"mode": "auto"})

    guideline = make_guideline(
        "g_human", "the customer asks to speak with a human", "transfer them",
        tool_ids=("transfer_to_human", "note_request"),
    )  # fmt: skip
    sink = RecordingSink()
    outcome = await Engine(nlp=LocalNLPService(), tools=registry).process_turn(
        make_turn(events=customer_says("I want to talk to a human"), guidelines=(guideline,)),
        sink,
        Cancellation(),
    )
    assert outcome.session_mode == SessionMode.MANUAL
    assert sink.messages[0] == "Connecting you with a banker now."
    assert {"status": "processing", "data": {"stage": "Finding a banker"}} in [
        e.data for e in sink.events
    ]


# -- Parlant's parameter types: lists, lists of choices, optional with defaults, dates ------------

Category = Literal["shoes", "accessories", "outerwear"]


def _catalogue(registry: ToolRegistry, calls: list[dict]) -> None:
    @tool(registry=registry)
    async def search_products(
        context: ToolContext,
        categories: list[Category],
        keywords: list[str] | None = None,
        max_results: int = 5,
        available_from: date | None = None,
    ) -> ToolResult:
        """Search the catalogue."""
        calls.append(
            {
                "categories": categories,
                "keywords": keywords,
                "max_results": max_results,
                "available_from": available_from,
            }
        )
        return ToolResult(data={"found": len(categories)})


def test_list_optional_and_date_parameters_are_described_as_parlant_does() -> None:
    registry = ToolRegistry()
    _catalogue(registry, [])
    parameters = {p.name: p for p in registry.get("search_products").parameters}
    assert (parameters["categories"].type, parameters["categories"].item_type) == (
        "array",
        "string",
    )
    assert parameters["categories"].enum == ("shoes", "accessories", "outerwear")
    assert parameters["categories"].is_required
    assert (parameters["keywords"].type, parameters["keywords"].is_required) == ("array", False)
    assert (parameters["max_results"].is_required, parameters["max_results"].default) == (False, 5)
    assert parameters["available_from"].type == "date"


def test_lists_dates_and_choices_are_cast_and_validated() -> None:
    registry = ToolRegistry()
    _catalogue(registry, [])
    registered = registry.get("search_products")
    parameters = {p.name: p for p in registered.parameters}

    def cast(name: str, value: object) -> object:
        return cast_argument(value, parameters[name], registered.annotations[name])

    assert cast("categories", "Shoes and accessories") == ["shoes", "accessories"]
    assert cast("categories", '["outerwear"]') == ["outerwear"]
    assert cast("keywords", "red, leather") == ["red", "leather"]
    assert cast("max_results", "3") == 3
    assert cast("available_from", "2026-05-11") == date(2026, 5, 11)
    with pytest.raises(ValueError, match="not one of"):
        cast("categories", ["shoes", "furniture"])
    with pytest.raises(InvalidArgument, match="date"):
        cast("available_from", "the eleventh-ish")
    # Known only by its description (a tool of another service): the same rules apply.
    described = ToolParameter("sizes", "array", enum=("s", "m"), item_type="string")
    assert cast_argument(["S", "m"], described) == ["s", "m"]


async def test_a_list_of_choices_is_read_from_the_message_and_defaults_stay() -> None:
    registry, calls = ToolRegistry(), []
    _catalogue(registry, calls)
    guideline = make_guideline(
        "g_search",
        "the customer looks for products",
        "search the catalogue",
        tool_ids=("search_products",),
    )
    sink = RecordingSink()
    await Engine(nlp=LocalNLPService(), tools=registry).process_turn(
        make_turn(
            events=customer_says("I'm looking for products: shoes and outerwear please"),
            guidelines=(guideline,),
        ),
        sink,
        Cancellation(),
    )
    assert calls == [
        {
            "categories": ["shoes", "outerwear"],
            "keywords": None,
            "max_results": 5,
            "available_from": None,
        }
    ]
    [event] = sink.tool_events
    assert event.data["tool_calls"][0]["arguments"] == {"categories": ["shoes", "outerwear"]}
