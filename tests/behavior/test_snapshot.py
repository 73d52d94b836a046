"""The engine's view of an agent: scoping through tags, fixed query count, and a version that
changes whenever any behaviour does."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from behavior import services
from behavior.models import Agent, Guideline
from behavior.snapshot import agent_snapshot
from engine import types as engine_types
from tests.builders import make_agent, make_customer

pytestmark = pytest.mark.django_db


def guideline(condition: str, *tag_ids: str, **fields) -> Guideline:
    return services.guideline_create(condition=condition, action="do it", tag_ids=tag_ids, **fields)


def conditions(snapshot: engine_types.AgentSnapshot) -> set[str]:
    return {g.condition for g in snapshot.guidelines}


def test_untagged_guidelines_apply_to_every_agent_and_agent_tags_to_one():
    otto, ada = make_agent(name="Otto"), make_agent(name="Ada")
    guideline("global")
    guideline("only otto", f"agent:{otto.id}")
    guideline("only ada", f"agent:{ada.id}")

    assert conditions(agent_snapshot(otto.id)) == {"global", "only otto"}
    assert conditions(agent_snapshot(ada.id)) == {"global", "only ada"}


def test_an_agents_own_tags_pull_in_what_carries_them():
    vip = services.tag_create(name="vip")
    otto, ada = make_agent(name="Otto"), make_agent(name="Ada")
    otto.tags.add(vip)
    guideline("vip treatment", vip.id)
    services.term_create(name="Gold", description="vip level", tag_ids=[vip.id])

    assert "vip treatment" in conditions(agent_snapshot(otto.id))
    assert "vip treatment" not in conditions(agent_snapshot(ada.id))
    assert [t.name for t in agent_snapshot(otto.id).terms] == ["Gold"]
    assert agent_snapshot(ada.id).terms == ()


def test_disabled_guidelines_are_left_out():
    agent = make_agent()
    guideline("switched off", f"agent:{agent.id}", enabled=False)
    assert agent_snapshot(agent.id).guidelines == ()


def test_journey_scoped_guidelines_carry_the_journey_and_conditions_are_not_guidelines():
    agent = make_agent()
    journey = services.journey_create(
        title="Test drive",
        conditions=["the customer wants a test drive"],
        tag_ids=[f"agent:{agent.id}"],
    )
    guideline("asks about the licence", f"journey:{journey.id}")
    elsewhere = services.journey_create(
        title="Elsewhere", conditions=["x"], tag_ids=[f"agent:{make_agent(name='B').id}"]
    )
    guideline("only in the other journey", f"journey:{elsewhere.id}")

    snapshot = agent_snapshot(agent.id)

    assert [(g.condition, g.journey_id) for g in snapshot.guidelines] == [
        ("asks about the licence", journey.id)
    ]
    (converted,) = snapshot.journeys
    assert converted.conditions == ("the customer wants a test drive",)
    assert converted.condition_embeddings is not None
    assert len(converted.condition_embeddings) == 1


def test_journey_states_map_start_and_end_to_the_engine_markers():
    agent = make_agent()
    journey = services.journey_create(
        title="Drive", conditions=["c"], tag_ids=[f"agent:{agent.id}"]
    )
    ask = services.journey_state_create(journey=journey, kind="chat", action="ask the model")
    fork = services.journey_state_create(journey=journey, kind="fork")
    services.journey_transition_create(source=services.journey_initial_state(journey), target=ask)
    services.journey_transition_create(source=ask, target=fork, condition="they chose")
    services.journey_transition_create(source=fork, target=services.journey_end_state(journey))

    (converted,) = agent_snapshot(agent.id).journeys

    assert [(s.id, s.action, s.is_fork) for s in converted.states] == [
        (ask.id, "ask the model", False),
        (fork.id, "", True),
    ]
    assert [(t.source_id, t.target_id, t.condition) for t in converted.transitions] == [
        (engine_types.JOURNEY_INITIAL, ask.id, ""),
        (ask.id, fork.id, "they chose"),
        (fork.id, engine_types.JOURNEY_END, ""),
    ]


def test_tools_of_guidelines_and_tool_states_come_with_their_specs():
    agent = make_agent()
    guideline("hours", f"agent:{agent.id}", tool_ids=["get_opening_hours"])
    journey = services.journey_create(
        title="Drive", conditions=["c"], tag_ids=[f"agent:{agent.id}"]
    )
    services.journey_state_create(
        journey=journey, kind="tool", tool_ids=["check_test_drive_availability"]
    )

    snapshot = agent_snapshot(agent.id)

    assert snapshot.guidelines[0].tool_ids == ("get_opening_hours",)
    assert snapshot.journeys[0].states[0].tool_ids == ("check_test_drive_availability",)
    specs = {spec.id: spec for spec in snapshot.tools}
    assert set(specs) == {"get_opening_hours", "check_test_drive_availability"}
    car_model = specs["check_test_drive_availability"].parameters[0]
    assert (car_model.name, car_model.enum, car_model.is_required) == (
        "car_model",
        ("Aurora", "Bolt", "Cruiser"),
        True,
    )


def test_relationships_reference_entities_by_kind():
    agent = make_agent()
    first = guideline("first", f"agent:{agent.id}")
    second = guideline("second", f"agent:{agent.id}")
    services.relationship_create(
        kind="priority",
        source=services.Endpoint(guideline_id=first.id),
        target=services.Endpoint(guideline_id=second.id),
    )
    services.relationship_create(
        kind="reevaluation",
        source=services.Endpoint(guideline_id=first.id),
        target=services.Endpoint(tool_id="get_opening_hours"),
    )

    relationships = agent_snapshot(agent.id).relationships

    assert [(r.kind, r.source, r.target) for r in relationships] == [
        (
            "priority",
            engine_types.EntityRef("guideline", first.id),
            engine_types.EntityRef("guideline", second.id),
        ),
        (
            "reevaluation",
            engine_types.EntityRef("guideline", first.id),
            engine_types.EntityRef("tool", "get_opening_hours"),
        ),
    ]


def test_variable_values_resolve_customer_then_tag_then_agent_then_default():
    agent = make_agent()
    gold = services.tag_create(name="gold")
    dana, eve, finn = make_customer(name="Dana"), make_customer(name="Eve"), make_customer()
    eve.tags.add(gold)
    variable = services.variable_create(name="plan", tag_ids=[f"agent:{agent.id}"])
    for key, data in [
        (services.ValueKey(), "default"),
        (services.ValueKey.parse(f"agent:{agent.id}"), "agent"),
        (services.ValueKey(tag_id=gold.id), "gold"),
        (services.ValueKey(customer_id=dana.id), "dana's own"),
    ]:
        services.variable_value_set(variable_id=variable.id, key=key, data=data)

    def value_for(customer_id):
        return agent_snapshot(agent.id, customer_id=customer_id).variables[0].value

    assert value_for(dana.id) == "dana's own"
    assert value_for(eve.id) == "gold"
    assert value_for(finn.id) == "agent"
    assert value_for(None) == "agent"
    other_agent = make_agent(name="Other")
    services.variable_update(variable=variable, tags_add=[f"agent:{other_agent.id}"])
    assert agent_snapshot(other_agent.id).variables[0].value == "default"


def test_a_tool_backed_variable_is_stale_until_written_and_again_after_its_cron_tick():
    agent = make_agent()
    variable = services.variable_create(
        name="hours",
        tool_id="get_opening_hours",
        freshness_rules="* * * * *",
        tag_ids=[f"agent:{agent.id}"],
    )
    assert agent_snapshot(agent.id).variables[0].is_stale is True

    value = services.variable_value_set(
        variable_id=variable.id, key=services.ValueKey(), data="9-5"
    )
    type(value).objects.filter(pk=value.pk).update(updated_at=value.updated_at.replace(year=2020))
    assert agent_snapshot(agent.id).variables[0].is_stale is True

    services.variable_update(variable=variable, freshness_rules="0 0 1 1 *")
    services.variable_value_set(variable_id=variable.id, key=services.ValueKey(), data="9-6")
    assert agent_snapshot(agent.id).variables[0].is_stale is False


def populate(agent, count: int) -> None:
    tag = f"agent:{agent.id}"
    for index in range(count):
        g = guideline(f"condition {index}", tag, tool_ids=["get_opening_hours"])
        services.relationship_create(
            kind="entailment",
            source=services.Endpoint(guideline_id=g.id),
            target=services.Endpoint(tool_id="get_opening_hours"),
        )
        journey = services.journey_create(
            title=f"J{index}", conditions=[f"start {index}"], tag_ids=[tag]
        )
        state = services.journey_state_create(
            journey=journey, kind="tool", tool_ids=["get_opening_hours"]
        )
        services.journey_transition_create(
            source=services.journey_initial_state(journey), target=state
        )
        services.term_create(name=f"term {index}", description="d", tag_ids=[tag])
        variable = services.variable_create(name=f"v{index}", tag_ids=[tag])
        services.variable_value_set(variable_id=variable.id, key=services.ValueKey(), data=index)
        services.canned_response_create(value=f"Reply {index}", tag_ids=[tag])
        services.capability_create(title=f"cap {index}", description="d", tag_ids=[tag])


def test_the_snapshot_costs_the_same_number_of_queries_however_much_behaviour_there_is():
    small, large = make_agent(name="small"), make_agent(name="large")
    customer = make_customer()
    populate(small, 1)
    populate(large, 6)

    with CaptureQueriesContext(connection) as few:
        agent_snapshot(small.id, customer_id=customer.id)
    with CaptureQueriesContext(connection) as many:
        snapshot = agent_snapshot(large.id, customer_id=customer.id)

    assert len(snapshot.guidelines) == 6
    assert len(snapshot.journeys) == 6
    assert len(many.captured_queries) == len(few.captured_queries) <= 21


def test_the_version_changes_with_every_kind_of_behaviour_change_and_only_then():
    agent = make_agent()
    tag = f"agent:{agent.id}"
    g = guideline("greets", tag)
    term = services.term_create(name="APR", description="rate", tag_ids=[tag])
    versions = [agent_snapshot(agent.id).version]
    assert agent_snapshot(agent.id).version == versions[0]  # stable while nothing changes

    changes = [
        lambda: services.guideline_update(guideline=g, fields={"action": "wave"}),
        lambda: services.term_update(term=term, synonyms=["interest"]),
        lambda: services.journey_create(title="J", conditions=["c"], tag_ids=[tag]),
        lambda: services.capability_create(title="Cap", description="d"),
        lambda: services.canned_response_create(value="Hi {{std.customer.name}}"),
        lambda: Agent.objects.filter(pk=agent.pk).update(name="Renamed"),
    ]
    for change in changes:
        change()
        versions.append(agent_snapshot(agent.id).version)

    assert len(set(versions)) == len(versions)


def test_saving_a_guideline_embeds_its_condition_once_and_only_when_it_changes():
    agent = make_agent()
    g = guideline("the customer greets you", f"agent:{agent.id}")
    first = list(g.condition_embedding)
    assert first
    assert g.embedded_condition == "the customer greets you"

    services.guideline_update(guideline=g, fields={"action": "wave back"})
    g.refresh_from_db()
    assert g.condition_embedding == first

    services.guideline_update(
        guideline=g, fields={"condition": "the customer asks about car prices"}
    )
    g.refresh_from_db()
    assert g.condition_embedding != first
    assert g.embedded_condition == "the customer asks about car prices"


def test_example_messages_reach_the_engine_and_change_the_version():
    agent = make_agent()
    row = guideline("the customer lost their card", f"agent:{agent.id}", examples=["card gone"])
    journey = services.journey_create(
        title="Replace a card",
        conditions=["the customer wants a new card"],
        condition_examples={"the customer wants a new card": ["send me another card"]},
        tag_ids=[f"agent:{agent.id}"],
    )
    snapshot = agent_snapshot(agent.id)
    assert [g.examples for g in snapshot.guidelines] == [("card gone",)]
    (engine_journey,) = [j for j in snapshot.journeys if j.id == journey.id]
    assert engine_journey.condition_examples == (("send me another card",),)

    services.guideline_update(guideline=row, fields={"examples": ["my card is gone"]})
    assert agent_snapshot(agent.id).version != snapshot.version


def test_an_unknown_agent_raises_does_not_exist():
    with pytest.raises(Agent.DoesNotExist):
        agent_snapshot("missing")
