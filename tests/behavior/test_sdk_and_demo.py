"""The code-first SDK writes the same models as the admin, idempotently; the demo agent uses it."""

import pytest
from django.core.management import call_command

from behavior import sdk
from behavior.management.commands.seed_demo import DEMO_AGENT_ID
from behavior.models import (
    CannedResponse,
    Capability,
    ContextVariable,
    GlossaryTerm,
    Guideline,
    Journey,
    JourneyState,
    JourneyTransition,
    Relationship,
)
from behavior.snapshot import agent_snapshot
from behavior.tools import check_test_drive_availability
from engine import types as engine_types

pytestmark = pytest.mark.django_db

MODELS = (
    Guideline,
    Journey,
    JourneyState,
    JourneyTransition,
    Relationship,
    GlossaryTerm,
    ContextVariable,
    CannedResponse,
    Capability,
)


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def test_the_demo_agent_has_every_building_block():
    call_command("seed_demo")
    snapshot = agent_snapshot(DEMO_AGENT_ID)

    assert snapshot.agent.name == "Otto Carmen"
    assert ("the customer greets you", "offer a refreshing drink") in {
        (g.condition, g.action) for g in snapshot.guidelines
    }
    (journey,) = snapshot.journeys
    assert journey.title == "Schedule a test drive"
    assert journey.conditions == ("the customer wants to book a test drive",)
    tool_states = [s for s in journey.states if s.tool_ids]
    assert [s.tool_ids for s in tool_states] == [("check_test_drive_availability",)]
    assert engine_types.JOURNEY_END in {t.target_id for t in journey.transitions}
    assert any(g.journey_id == journey.id for g in snapshot.guidelines)
    assert {t.name for t in snapshot.terms} >= {"APR", "Test drive", "Trade-in"}
    promotion = next(v for v in snapshot.variables if v.name == "current_promotion")
    assert promotion.value.startswith("0.9% APR")
    assert any("{{std.customer.name}}" in c.value for c in snapshot.canned_responses)
    assert len(snapshot.capabilities) == 2
    assert {t.id for t in snapshot.tools} == {
        "check_test_drive_availability",
        "get_opening_hours",
        "hand_off_to_human",
    }
    assert [r.kind for r in snapshot.relationships] == ["priority"]
    assert sdk.Journey(Journey.objects.get(title="Schedule a test drive")).problems() == []


def test_seeding_twice_changes_nothing():
    call_command("seed_demo")
    counts, version = row_counts(), agent_snapshot(DEMO_AGENT_ID).version
    call_command("seed_demo")
    assert row_counts() == counts
    assert agent_snapshot(DEMO_AGENT_ID).version == version


def test_an_edited_script_updates_in_place():
    agent = sdk.Agent.get_or_create(name="Scripted", id="scripted")
    agent.create_guideline(condition="the customer greets you", action="wave")
    agent.create_guideline(
        condition="the customer greets you", action="wave and smile", tools=["get_opening_hours"]
    )
    (guideline,) = Guideline.objects.filter(tags__id="agent:scripted")
    assert guideline.action == "wave and smile"
    assert list(guideline.tools.values_list("id", flat=True)) == ["get_opening_hours"]
    agent.create_guideline(condition="the customer greets you", action="wave and smile")
    assert not guideline.tools.exists()


def test_scripts_give_guidelines_and_journey_conditions_example_messages():
    agent = sdk.Agent.get_or_create(name="Scripted", id="scripted")
    agent.create_guideline(
        condition="the customer greets you", action="wave", examples=["hi there", "morning!"]
    )
    agent.create_journey(
        title="Drive",
        conditions=["the customer wants a test drive"],
        condition_examples={"the customer wants a test drive": ["can I try the car?"]},
    )
    agent.create_journey(
        title="Drive",
        conditions=["the customer wants a test drive"],
        condition_examples={"the customer wants a test drive": ["may I drive it first?"]},
    )
    greeting = Guideline.objects.get(condition="the customer greets you")
    assert greeting.examples == ["hi there", "morning!"]
    condition = Guideline.objects.get(condition="the customer wants a test drive")
    assert condition.examples == ["may I drive it first?"]
    agent.create_guideline(condition="the customer greets you", action="wave")
    greeting.refresh_from_db()
    assert greeting.examples == []  # the script is the source of truth, as for tools


def test_journeys_are_built_state_by_state_and_reused_on_a_second_run():
    def build() -> sdk.JourneyTransition:
        agent = sdk.Agent.get_or_create(name="Builder")
        journey = agent.create_journey(title="Drive", description="d", conditions=["wants one"])
        ask = journey.initial_state.transition_to(chat_state="ask the model")
        check = ask.target.transition_to(tool_state=check_test_drive_availability)
        check.target.transition_to(state=ask.target, condition="no slot")
        fork = check.target.transition_to(fork=True, condition="slots")
        return fork.target.transition_to(state=sdk.END_JOURNEY)

    first = build()
    counts = row_counts()
    second = build()

    assert row_counts() == counts
    assert second.row.pk == first.row.pk
    assert second.target.row.kind == JourneyState.Kind.END
    (journey,) = Journey.objects.all()
    assert sdk.Journey(journey).problems() == []


def test_relationship_helpers_are_idempotent():
    agent = sdk.Agent.get_or_create(name="Rel")
    angry = agent.create_guideline(condition="the customer is angry", action="apologize")
    greets = agent.create_guideline(condition="the customer greets you", action="greet")
    asks = agent.create_observation(condition="the customer asks something vague")
    for _ in range(2):
        angry.prioritize_over(greets)
        angry.entail(greets)
        greets.depend_on(angry)
        asks.disambiguate([angry, greets])
        greets.reevaluate_after(check_test_drive_availability)
    assert sorted(Relationship.objects.values_list("kind", flat=True)) == [
        "dependency",
        "disambiguation",
        "disambiguation",
        "entailment",
        "priority",
        "reevaluation",
    ]


def test_transition_to_needs_exactly_one_target_kind():
    journey = sdk.Agent.get_or_create(name="X").create_journey(title="J")
    with pytest.raises(ValueError, match="exactly one"):
        journey.initial_state.transition_to(chat_state="a", state=sdk.END_JOURNEY)


def test_unregistered_functions_are_refused_as_tools():
    def not_a_tool(context):
        return None

    agent = sdk.Agent.get_or_create(name="X")
    with pytest.raises(ValueError, match="not registered"):
        agent.create_guideline(condition="c", tools=[not_a_tool])


def test_depend_on_any_makes_one_group_per_call_and_the_engine_resolves_by_group():
    from engine.relationships import resolve

    agent = sdk.Agent.get_or_create(name="AnyOf")
    refund = agent.create_guideline(condition="the customer wants a refund", action="refund")
    card, cash = (
        agent.create_observation(condition=f"the customer paid by {how}")
        for how in ("card", "cash")
    )
    receipt = agent.create_observation(condition="the customer has a receipt")
    refund.depend_on_any([card, cash])
    refund.depend_on_any([receipt])
    groups = {
        r.target_guideline_id: r.group_id
        for r in Relationship.objects.filter(kind="dependency_any")
    }
    assert groups[card.id] == groups[cash.id] != groups[receipt.id]

    snapshot = agent_snapshot(agent.id)
    assert resolve(snapshot, [refund.id, cash.id, receipt.id], set()).guideline_ids == [
        refund.id,
        cash.id,
        receipt.id,
    ]
    assert refund.id not in resolve(snapshot, [refund.id, cash.id], set()).guideline_ids
