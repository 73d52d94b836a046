"""The retail-bank agent of the reference scenario (bench/), as engine inputs, plus a driver
that plays a conversation turn by turn the way the adapter does (events and state carried over).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from engine.engine import Engine
from engine.tools import ToolContext, ToolRegistry, ToolResult
from engine.types import (
    Agent,
    AgentSnapshot,
    AgentState,
    CannedResponse,
    CompositionMode,
    ContextVariable,
    Customer,
    EventKind,
    EventSource,
    Guideline,
    Journey,
    JourneyState,
    JourneyTransition,
    SessionEvent,
    Term,
    ToolParameter,
    ToolSpec,
    TurnInput,
    TurnOutcome,
)
from tests.engine.fakes import Cancellation, RecordingSink

GUIDELINES = [
    ("the customer greets the agent", "greet them back warmly and offer help", ()),
    (
        "the customer asks about the APR or interest rate of a loan",
        "explain that APR depends on the term and credit profile",
        (),
    ),
    (
        "the customer asks about their checking account balance",
        "look up the balance for the requested account type",
        ("get_account_balance",),
    ),
    (
        "the customer reports a lost or stolen debit card",
        "block the card immediately and offer a replacement",
        ("block_debit_card",),
    ),
    (
        "the customer wants to open a savings account",
        "explain the savings account options and the minimum deposit",
        (),
    ),
    (
        "the customer asks about overdraft fees",
        "explain the overdraft fee policy and overdraft protection",
        (),
    ),
    (
        "the customer wants to dispute a card transaction",
        "collect the transaction date and amount and open a dispute",
        (),
    ),
    (
        "the customer asks about branch opening hours",
        "tell them the branch hours for their preferred branch",
        (),
    ),
    (
        "the customer is upset or frustrated",
        "apologize and acknowledge their frustration before helping",
        (),
    ),
    (
        "the customer asks about mortgage refinancing",
        "explain refinancing options and offer to book a mortgage advisor",
        (),
    ),
    (
        "the customer asks to update their mailing address",
        "explain how to update the address securely in online banking",
        (),
    ),
    (
        "the customer asks about wire transfer limits",
        "state the daily wire transfer limits for their tier",
        (),
    ),
    (
        "the customer mentions employment or income details",
        "thank them and note that income is used for loan eligibility",
        (),
    ),
    (
        "the customer asks how long a loan application takes",
        "say that most loan decisions take two business days",
        (),
    ),
    (
        "the customer asks about the Meridian Rewards program",
        "describe the rewards points and how to redeem them",
        (),
    ),
    (
        "the customer wants to set up direct deposit",
        "provide the routing number and direct deposit form location",
        (),
    ),
    ("the customer asks to speak with a human", "offer to transfer them to a human banker", ()),
    (
        "the customer asks about credit card limits",
        "explain how credit limits are reviewed and how to request an increase",
        (),
    ),
    (
        "the customer wants to submit an application",
        "confirm all required details before submitting",
        (),
    ),
    (
        "the customer asks about foreign transaction fees",
        "explain the foreign transaction fee for each card",
        (),
    ),
]

SCALE_TOPICS = [
    "safe deposit boxes", "notary services", "coin counting", "paper statements",
    "ATM withdrawal limits", "joint ownership", "trust services", "certificates of deposit",
    "IRA rollovers", "home equity lines", "credit score simulators", "travel notices",
    "card activation", "PIN resets", "Zelle payments", "bill pay", "beneficiary designation",
    "power of attorney", "estate services", "custodial accounts",
]  # fmt: skip

CONVERSATION = [
    "Hi, I would like to apply for a personal loan.",
    "I need a loan amount of 15000 dollars.",
    "What APR would I get for 36 months?",
    "I'll take the 36 month term. My employment is full time, salary 85000 a year.",
    "Also, can you check my checking account balance?",
    "Yes, I confirm. Please submit my loan application.",
]

TOOL_SPECS = (
    ToolSpec(
        id="get_account_balance",
        description="Get the current balance of one of the customer's accounts.",
        parameters=(ToolParameter(name="account_type", description="checking or savings"),),
    ),
    ToolSpec(
        id="block_debit_card",
        description="Block the customer's debit card (irreversible).",
        parameters=(ToolParameter(name="card_last_four", description="last four card digits"),),
        is_consequential=True,
    ),
    ToolSpec(
        id="get_loan_offers",
        description="Return personal-loan offers (APR per term) for the requested amount.",
        parameters=(ToolParameter(name="loan_amount", description="the loan amount"),),
    ),
)


def bank_registry() -> ToolRegistry:
    registry = ToolRegistry()

    def get_account_balance(
        context: ToolContext, account_type: Annotated[str, "checking or savings"]
    ) -> ToolResult:
        """Get the current balance of one of the customer's accounts."""
        return ToolResult(
            data={"account_type": account_type, "balance": "2,418.55 USD"},
            canned_response_fields={"balance": "2,418.55 USD"},
        )

    async def block_debit_card(
        context: ToolContext, card_last_four: Annotated[str, "last four card digits"]
    ) -> ToolResult:
        """Block the customer's debit card (irreversible)."""
        return ToolResult(data={"blocked": True, "card_last_four": card_last_four})

    async def get_loan_offers(
        context: ToolContext, loan_amount: Annotated[str, "the loan amount"]
    ) -> dict[str, Any]:
        """Return personal-loan offers (APR per term) for the requested amount."""
        return {
            "amount": loan_amount,
            "offers": [
                {"term_months": 24, "apr": "8.9%"},
                {"term_months": 36, "apr": "7.9%"},
                {"term_months": 60, "apr": "9.4%"},
            ],
        }

    for function in (get_account_balance, block_debit_card, get_loan_offers):
        registry.register(function)
    return registry


LOAN_JOURNEY = Journey(
    id="loan",
    title="Personal Loan Application",
    description="Guide the customer through applying for a personal loan.",
    conditions=("the customer wants to apply for a personal loan",),
    states=(
        JourneyState(id="ask_amount", action="Ask the customer what loan amount they need"),
        JourneyState(id="offers", tool_ids=("get_loan_offers",)),
        JourneyState(
            id="present",
            action="Present the loan offers with APR per term and ask which term they prefer",
        ),
        JourneyState(
            id="employment", action="Ask the customer about their employment status and income"
        ),
        JourneyState(
            id="summary",
            action="Summarize the loan application and ask the customer to confirm submission",
        ),
    ),
    transitions=(
        JourneyTransition(id="start", source_id="initial", target_id="ask_amount"),
        JourneyTransition(
            id="amount_given",
            source_id="ask_amount",
            target_id="offers",
            condition="the customer provided the loan amount",
        ),
        JourneyTransition(id="offers_ready", source_id="offers", target_id="present"),
        JourneyTransition(
            id="term_chosen",
            source_id="present",
            target_id="employment",
            condition="the customer chose a loan term",
        ),
        JourneyTransition(
            id="declined",
            source_id="present",
            target_id="end",
            condition="the customer declines all the loan offers",
        ),
        JourneyTransition(
            id="employment_given",
            source_id="employment",
            target_id="summary",
            condition="the customer provided their employment status",
        ),
        JourneyTransition(
            id="confirmed",
            source_id="summary",
            target_id="end",
            condition="the customer confirmed the submission",
        ),
    ),
)

TERMS = (
    Term("t_apr", "APR", "Annual Percentage Rate: the yearly cost of a loan.",
         ("annual percentage rate",)),
    Term("t_overdraft", "Overdraft", "When a withdrawal exceeds the available checking balance."),
    Term("t_dd", "Direct Deposit", "Electronic deposit of a paycheck.", ("payroll deposit",)),
    Term("t_rewards", "Meridian Rewards", "The bank's loyalty points program.", ("rewards",)),
    Term("t_term", "Loan Term", "The number of months over which a loan is repaid.", ("term",)),
)  # fmt: skip

CANNED = (
    CannedResponse(
        "c_start",
        "Sure, I can help you apply for a personal loan. "
        "What loan amount would you like to borrow?",
        tags=("ask_amount",),  # attached to the journey step it answers
    ),
    CannedResponse(
        "c_offers",
        "For your amount, the 36 month term has an APR of 7.9%, the 24 month term 8.9% "
        "and the 60 month term 9.4%. Which term do you prefer?",
        tags=("present",),
    ),
    CannedResponse("c_balance", "Your checking account balance is {{balance}}."),
    CannedResponse(
        "c_summary",
        "Here is a summary of your loan application. Please confirm and I will submit it; "
        "you will hear from us within two business days.",
        tags=("summary",),
    ),
    CannedResponse(
        "c_employment",
        "Could you tell me about your employment status and income?",
        tags=("employment",),
    ),
)


def bank_snapshot(
    *,
    extra_guidelines: int = 0,
    composition_mode: CompositionMode = CompositionMode.FLUID,
    **overrides: Any,
) -> AgentSnapshot:
    guidelines = [
        Guideline(id=f"g{number:02d}", condition=condition, action=action, tool_ids=tools)
        for number, (condition, action, tools) in enumerate(GUIDELINES, start=1)
    ]
    for number in range(extra_guidelines):
        topic = SCALE_TOPICS[number % len(SCALE_TOPICS)]
        variant = "" if number < len(SCALE_TOPICS) else f" (variant {number // len(SCALE_TOPICS)})"
        guidelines.append(
            Guideline(
                id=f"s{number:03d}",
                condition=f"the customer asks about {topic}{variant}",
                action=f"explain our {topic} policy in one or two sentences",
            )
        )
    fields: dict[str, Any] = {
        "agent": Agent(
            id="agent_mira",
            name="Mira",
            description="A helpful retail-banking assistant for Meridian Bank.",
            composition_mode=composition_mode,
        ),
        "guidelines": tuple(guidelines),
        "journeys": (LOAN_JOURNEY,),
        "terms": TERMS,
        "variables": (
            ContextVariable("v_tier", "customer_tier", "The customer's banking tier", "Gold"),
            ContextVariable(
                "v_branch", "preferred_branch", "The customer's home branch", "Downtown (Main St.)"
            ),
        ),
        "canned_responses": CANNED,
        "tools": TOOL_SPECS,
        "version": f"bank-{extra_guidelines}-{composition_mode}",
    }
    fields.update(overrides)
    return AgentSnapshot(**fields)


@dataclass
class Session:
    """Plays turns like the adapter: the customer's message, then the engine's events."""

    engine: Engine
    snapshot: AgentSnapshot
    events: list[SessionEvent] = field(default_factory=list)
    state: AgentState = field(default_factory=AgentState)
    outcomes: list[TurnOutcome] = field(default_factory=list)
    sinks: list[RecordingSink] = field(default_factory=list)

    def _append(self, kind: EventKind, source: EventSource, data: Any) -> None:
        self.events.append(
            SessionEvent(offset=len(self.events), kind=kind, source=source, data=data)
        )

    async def say(self, text: str) -> RecordingSink:
        self._append(EventKind.MESSAGE, EventSource.CUSTOMER, {"message": text})
        sink = RecordingSink(start_offset=len(self.events))
        outcome = await self.engine.process_turn(
            TurnInput(
                snapshot=self.snapshot,
                session_id="session_bank",
                customer=Customer(id="customer_dana", name="Dana Levi"),
                events=tuple(self.events),
                state=self.state,
                trace_id=f"trace_{len(self.outcomes)}",
            ),
            sink,
            Cancellation(),
        )
        for event in sink.events:
            self._append(event.kind, event.source, dict(event.data))
        self.state = outcome.state
        self.outcomes.append(outcome)
        self.sinks.append(sink)
        return sink

    async def play(self, messages: Sequence[str]) -> None:
        for message in messages:
            await self.say(message)
