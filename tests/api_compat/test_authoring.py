"""The official parlant-client drives every authoring resource it covers against the running
product: tags, agents, guidelines, relationships, journeys, glossary, context variables, canned
responses, capabilities and services."""

import uuid

import pytest
from parlant.client import ParlantClient
from parlant.client.core.api_error import ApiError
from parlant.client.types import (
    AgentTagUpdateParams,
    CannedResponseField,
    CannedResponseMetadataUpdateParams,
    CannedResponseTagUpdateParams,
    CapabilityTagUpdateParams,
    ContextVariableTagsUpdateParams,
    GuidelineMetadataUpdateParams,
    GuidelineTagsUpdateParams,
    GuidelineToolAssociationUpdateParams,
    JourneyConditionUpdateParams,
    JourneyTagUpdateParams,
    TermTagsUpdateParams,
    ToolId,
)

OPENING_HOURS = ToolId(service_name="behavior", tool_name="get_opening_hours")


@pytest.fixture(scope="module")
def client(product) -> ParlantClient:
    return ParlantClient(base_url=product.url, timeout=30)


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}"


def status_of(call) -> int:
    with pytest.raises(ApiError) as raised:
        call()
    return raised.value.status_code


def test_tags(client):
    tag = client.tags.create(name=unique("vip"))
    assert client.tags.retrieve(tag.id) == tag
    assert tag in client.tags.list()
    assert [t.id for t in client.tags.list(name=tag.name)] == [tag.id]
    renamed = client.tags.update(tag.id, name=unique("gold"))
    assert renamed.id == tag.id
    assert renamed.name != tag.name
    client.tags.delete(tag.id)
    assert status_of(lambda: client.tags.retrieve(tag.id)) == 404


def test_agents_with_tags(client):
    tag = client.tags.create(name=unique("team"))
    agent = client.agents.create(
        name="Ada",
        description="helps",
        tags=[tag.id],
        composition_mode="strict_canned",
        max_engine_iterations=2,
    )
    assert (agent.tags, agent.composition_mode, agent.max_engine_iterations) == (
        [tag.id],
        "strict_canned",
        2,
    )
    updated = client.agents.update(
        agent.id, name="Ada L", tags=AgentTagUpdateParams(remove=[tag.id])
    )
    assert (updated.name, updated.tags) == ("Ada L", [])
    client.agents.delete(agent.id)
    assert status_of(lambda: client.agents.retrieve(agent.id)) == 404


def test_guidelines_with_tools_tags_and_metadata(client):
    agent = client.agents.create(name="Guided")
    tag = client.tags.create(name=unique("vip"))
    guideline = client.guidelines.create(
        condition="the customer asks when you are open",
        action="tell the opening hours",
        tags=[f"agent:{agent.id}"],
        metadata={"owner": "sales"},
        criticality="high",
        labels=["hours"],
        priority=1,
    )
    assert (guideline.action, guideline.criticality, guideline.enabled) == (
        "tell the opening hours",
        "high",
        True,
    )
    assert guideline.tags == [f"agent:{agent.id}"]
    assert [g.id for g in client.guidelines.list(tag_id=f"agent:{agent.id}")] == [guideline.id]

    updated = client.guidelines.update(
        guideline.id,
        action="tell the opening hours for today",
        tool_associations=GuidelineToolAssociationUpdateParams(add=[OPENING_HOURS]),
        tags=GuidelineTagsUpdateParams(add=[tag.id]),
        metadata=GuidelineMetadataUpdateParams(set_={"reviewed": True}, unset=["owner"]),
        enabled=False,
    )
    assert updated.guideline.action == "tell the opening hours for today"
    assert updated.guideline.enabled is False
    assert set(updated.guideline.tags) == {f"agent:{agent.id}", tag.id}
    assert updated.guideline.metadata == {"reviewed": True}
    assert [a.tool_id for a in updated.tool_associations] == [OPENING_HOURS]

    retrieved = client.guidelines.retrieve(guideline.id)
    assert retrieved.guideline == updated.guideline
    client.guidelines.delete(guideline.id)
    assert status_of(lambda: client.guidelines.retrieve(guideline.id)) == 404
    assert status_of(lambda: client.guidelines.create(condition="")) == 422


def test_relationships(client):
    first = client.guidelines.create(condition="the customer is angry", action="apologize")
    second = client.guidelines.create(condition="the customer greets you", action="greet back")
    tag = client.tags.create(name=unique("escalation"))

    priority = client.relationships.create(
        kind="priority", source_guideline=first.id, target_guideline=second.id
    )
    assert (priority.kind, priority.source_guideline.id, priority.target_guideline.id) == (
        "priority",
        first.id,
        second.id,
    )
    reevaluation = client.relationships.create(
        kind="reevaluation", source_tag=tag.id, target_tool=OPENING_HOURS
    )
    assert reevaluation.source_tag.id == tag.id
    assert reevaluation.target_tool.name == "get_opening_hours"

    assert client.relationships.retrieve(priority.id).id == priority.id
    assert [r.id for r in client.relationships.list(guideline_id=second.id)] == [priority.id]
    assert [r.id for r in client.relationships.list(tag_id=tag.id)] == [reevaluation.id]
    assert [r.id for r in client.relationships.list(tool_id="behavior:get_opening_hours")] == [
        reevaluation.id
    ]
    relationships = client.guidelines.retrieve(first.id).relationships
    assert [r.id for r in relationships] == [priority.id]

    client.relationships.delete(priority.id)
    assert status_of(lambda: client.relationships.retrieve(priority.id)) == 404
    assert (
        status_of(lambda: client.relationships.create(kind="priority", source_guideline=first.id))
        == 422
    )


def test_journeys_and_their_mermaid_diagram(client):
    agent = client.agents.create(name="Journeyman")
    journey = client.journeys.create(
        title="Book a test drive",
        description="pick a model and a day",
        conditions=["the customer wants a test drive"],
        tags=[f"agent:{agent.id}"],
    )
    assert journey.title == "Book a test drive"
    assert len(journey.conditions) == 1
    assert [j.id for j in client.journeys.list(tag_id=f"agent:{agent.id}")] == [journey.id]

    observation = client.guidelines.create(condition="the customer asks to try a car")
    tag = client.tags.create(name=unique("sales"))
    updated = client.journeys.update(
        journey.id,
        title="Schedule a test drive",
        conditions=JourneyConditionUpdateParams(add=[observation.id]),
        tags=JourneyTagUpdateParams(add=[tag.id]),
    )
    assert updated.title == "Schedule a test drive"
    assert set(updated.conditions) == {journey.conditions[0], observation.id}
    assert set(updated.tags) == {f"agent:{agent.id}", tag.id}
    assert client.journeys.retrieve(journey.id).title == "Schedule a test drive"
    assert client.journeys.mermaid(journey.id).startswith("stateDiagram-v2")

    client.journeys.delete(journey.id)
    assert status_of(lambda: client.journeys.retrieve(journey.id)) == 404


def test_glossary(client):
    tag = client.tags.create(name=unique("finance"))
    term = client.glossary.create_term(
        name="APR",
        description="Annual percentage rate",
        synonyms=["interest rate"],
        tags=[tag.id],
    )
    assert (term.name, term.synonyms, term.tags) == ("APR", ["interest rate"], [tag.id])
    assert [t.id for t in client.glossary.list_terms(tag_id=tag.id)] == [term.id]
    updated = client.glossary.update_term(
        term.id,
        description="Yearly cost of a loan",
        synonyms=["rate"],
        tags=TermTagsUpdateParams(remove=[tag.id]),
    )
    assert (updated.description, updated.synonyms, updated.tags) == (
        "Yearly cost of a loan",
        ["rate"],
        [],
    )
    assert client.glossary.retrieve_term(term.id).name == "APR"
    client.glossary.delete_term(term.id)
    assert status_of(lambda: client.glossary.retrieve_term(term.id)) == 404


def test_context_variables_and_values(client):
    tag = client.tags.create(name=unique("members"))
    customer = client.customers.create(name="Dana")
    variable = client.context_variables.create(
        name="opening_hours",
        description="this week's hours",
        tool_id=OPENING_HOURS,
        freshness_rules="0 6 * * *",
        tags=[tag.id],
    )
    assert variable.tool_id == OPENING_HOURS
    assert [v.id for v in client.context_variables.list(tag_id=tag.id)] == [variable.id]

    for key, data in [
        (customer.id, {"open": "9-5"}),
        (f"tag:{tag.id}", "members"),
        ("DEFAULT", "9-6"),
    ]:
        stored = client.context_variables.set_value(variable.id, key, data=data)
        assert stored.data == data
        assert client.context_variables.get_value(variable.id, key).data == data

    read = client.context_variables.retrieve(variable.id, include_values=True)
    assert read.context_variable.id == variable.id
    assert set(read.key_value_pairs) == {customer.id, f"tag:{tag.id}", "DEFAULT"}
    client.context_variables.delete_value(variable.id, customer.id)
    assert status_of(lambda: client.context_variables.get_value(variable.id, customer.id)) == 404

    extra = client.tags.create(name=unique("extra"))
    updated = client.context_variables.update(
        variable.id,
        name="hours",
        freshness_rules="0 7 * * *",
        tags=ContextVariableTagsUpdateParams(add=[extra.id]),
    )
    assert (updated.name, updated.freshness_rules) == ("hours", "0 7 * * *")
    assert set(updated.tags) == {tag.id, extra.id}
    client.context_variables.delete_many(tag_id=tag.id)
    assert status_of(lambda: client.context_variables.retrieve(variable.id)) == 404

    doomed = client.context_variables.create(name="doomed")
    client.context_variables.delete(doomed.id)
    assert status_of(lambda: client.context_variables.retrieve(doomed.id)) == 404


def test_canned_responses(client):
    tag = client.tags.create(name=unique("greetings"))
    canned = client.canned_responses.create(
        value="Welcome, {{std.customer.name}}!",
        signals=["hello"],
        tags=[tag.id],
        fields=[
            CannedResponseField(name="std.customer.name", description="name", examples=["Dana"])
        ],
        metadata={"tone": "warm"},
    )
    assert (canned.value, canned.signals, canned.tags) == (
        "Welcome, {{std.customer.name}}!",
        ["hello"],
        [tag.id],
    )
    assert canned.fields[0].name == "std.customer.name"
    assert [c.id for c in client.canned_responses.list(tags=[tag.id])] == [canned.id]
    updated = client.canned_responses.update(
        canned.id,
        value="Hello, {{std.customer.name}}!",
        tags=CannedResponseTagUpdateParams(remove=[tag.id]),
        metadata=CannedResponseMetadataUpdateParams(unset=["tone"]),
    )
    assert (updated.value, updated.tags, updated.metadata) == (
        "Hello, {{std.customer.name}}!",
        [],
        {},
    )
    assert client.canned_responses.retrieve(canned.id).id == canned.id
    client.canned_responses.delete(canned.id)
    assert status_of(lambda: client.canned_responses.retrieve(canned.id)) == 404


def test_capabilities(client):
    tag = client.tags.create(name=unique("skills"))
    capability = client.capabilities.create(
        title="Book test drives",
        description="Find a slot and book it",
        signals=["try a car"],
        tags=[tag.id],
    )
    assert (capability.title, capability.signals, capability.tags) == (
        "Book test drives",
        ["try a car"],
        [tag.id],
    )
    assert [c.id for c in client.capabilities.list(tag_id=tag.id)] == [capability.id]
    updated = client.capabilities.update(
        capability.id,
        description="Find a free slot",
        tags=CapabilityTagUpdateParams(remove=[tag.id]),
    )
    assert (updated.description, updated.tags) == ("Find a free slot", [])
    assert client.capabilities.retrieve(capability.id).title == "Book test drives"
    client.capabilities.delete(capability.id)
    assert status_of(lambda: client.capabilities.retrieve(capability.id)) == 404


def test_services_list_the_tools_registered_in_code(client):
    assert "behavior" in [service.name for service in client.services.list()]
    service = client.services.retrieve("behavior")
    tools = {tool.name: tool for tool in service.tools}
    availability = tools["check_test_drive_availability"]
    assert availability.parameters["car_model"].enum == ["Aurora", "Bolt", "Cruiser"]
    assert set(availability.required) == {"car_model", "day"}
    assert status_of(lambda: client.services.retrieve("no-such-service")) == 404


def test_the_demo_agent_is_authored_behaviour(client):
    otto = client.agents.retrieve("otto-carmen")
    guidelines = client.guidelines.list(tag_id=f"agent:{otto.id}")
    assert any(
        g.condition == "the customer greets you" and g.action == "offer a refreshing drink"
        for g in guidelines
    )
    journeys = client.journeys.list(tag_id=f"agent:{otto.id}")
    assert [j.title for j in journeys] == ["Schedule a test drive"]
    assert "stateDiagram-v2" in client.journeys.mermaid(journeys[0].id)
