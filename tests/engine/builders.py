"""Plain builder functions for engine inputs; override any field by keyword."""

from __future__ import annotations

from typing import Any

from engine.types import (
    Agent,
    AgentSnapshot,
    AgentState,
    Customer,
    EventKind,
    EventSource,
    Guideline,
    SessionEvent,
    TurnInput,
)


def make_agent(**overrides: Any) -> Agent:
    return Agent(**{"id": "agent_otto", "name": "Otto Carmen", **overrides})


def make_guideline(
    guideline_id: str, condition: str, action: str = "", **overrides: Any
) -> Guideline:
    return Guideline(id=guideline_id, condition=condition, action=action, **overrides)


def customer_says(*texts: str) -> tuple[SessionEvent, ...]:
    return conversation(*(("customer", text) for text in texts))


def conversation(*turns: tuple[str, str]) -> tuple[SessionEvent, ...]:
    """("customer", "hi"), ("agent", "hello") … as message events with offsets."""
    events = []
    for offset, (who, text) in enumerate(turns):
        source = EventSource.CUSTOMER if who == "customer" else EventSource.AI_AGENT
        events.append(
            SessionEvent(
                offset=offset, kind=EventKind.MESSAGE, source=source, data={"message": text}
            )
        )
    return tuple(events)


def make_turn(
    *,
    events: tuple[SessionEvent, ...],
    snapshot: AgentSnapshot | None = None,
    state: AgentState | None = None,
    customer: Customer | None = None,
    **snapshot_fields: Any,
) -> TurnInput:
    if snapshot is None:
        snapshot = AgentSnapshot(
            agent=snapshot_fields.pop("agent", make_agent()), **snapshot_fields
        )
    return TurnInput(
        snapshot=snapshot,
        session_id="session_1",
        customer=customer or Customer(id="customer_1", name="Dana"),
        events=events,
        state=state or AgentState(),
        trace_id="trace_1",
    )
