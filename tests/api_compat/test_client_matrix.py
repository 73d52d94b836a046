"""Every public method of the official Python client (parlant-client 3.3.1), called against the
product in real processes, each result read back.

A recording proxy notes each method called; the last test checks that the set equals the
client's public surface, so a method cannot be skipped silently. Methods this server does not
offer answer a JSON error that says so, and the test asserts that answer.
"""

import inspect
import time
import uuid

import pytest
from parlant.client import ParlantClient
from parlant.client.core.api_error import ApiError
from parlant.client.types import (
    AgentMessageGuideline,
    AgentTagUpdateParams,
    CannedResponseTagUpdateParams,
    CapabilityTagUpdateParams,
    ContextVariableTagsUpdateParams,
    CustomerMetadataUpdateParams,
    CustomerTagUpdateParams,
    GuidelineMetadataUpdateParams,
    JourneyTagUpdateParams,
    McpServiceParams,
    OpenApiServiceParams,
    Payload,
    SessionLabelsUpdateParams,
    SessionMetadataUpdateParams,
    TermTagsUpdateParams,
)

# Methods the server answers with a JSON error naming the missing feature, and why.
NOT_SUPPORTED = {
    "evaluations.create": "Parlant's evaluation jobs; behaviour tests replace them",
    "evaluations.retrieve": "Parlant's evaluation jobs; behaviour tests replace them",
    "services.create_or_update": "tools are Python functions deployed with the code, not URLs",
    "services.delete": "a service defined in code is removed by removing its tools.py",
}

called: set[str] = set()


class Recording:
    """Wraps one client resource and records `resource.method` on each call."""

    def __init__(self, name: str, resource) -> None:
        self._name = name
        self._resource = resource

    def __getattr__(self, method: str):
        target = getattr(self._resource, method)

        def call(*args, **kwargs):
            called.add(f"{self._name}.{method}")
            return target(*args, **kwargs)

        return call


class RecordingClient:
    def __init__(self, client: ParlantClient) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Recording:
        return Recording(name, getattr(self._client, name))


def public_methods(client: ParlantClient) -> set[str]:
    methods = set()
    for name, resource in vars(client).items():
        if name.startswith("_") or not type(resource).__name__.endswith("Client"):
            continue
        for method, _ in inspect.getmembers(type(resource), inspect.isfunction):
            if not method.startswith("_"):
                methods.add(f"{name}.{method}")
    return methods


@pytest.fixture(scope="module")
def raw_client(product) -> ParlantClient:
    return ParlantClient(base_url=product.url, timeout=30)


@pytest.fixture(scope="module")
def client(raw_client) -> RecordingClient:
    return RecordingClient(raw_client)


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}"


def error_of(call) -> ApiError:
    with pytest.raises(ApiError) as raised:
        call()
    return raised.value


def events_until(client, session_id: str, predicate, min_offset: int = 0) -> list:
    """Long-poll until an event satisfies `predicate`; returns all events seen."""
    seen: list = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            batch = client.sessions.list_events(session_id, min_offset=min_offset, wait_for_data=5)
        except ApiError as error:
            if error.status_code != 504:
                raise
            continue
        seen += batch
        if any(predicate(event) for event in batch):
            return seen
        min_offset = max(event.offset for event in batch) + 1
    raise AssertionError(f"no matching event within 30 s: {seen}")


def test_tags_and_agents(client):
    tag = client.tags.create(name=unique("team"))
    assert client.tags.retrieve(tag.id).name == tag.name
    assert [t.id for t in client.tags.list(name=tag.name)] == [tag.id]
    assert client.tags.update(tag.id, name=unique("crew")).id == tag.id

    agent = client.agents.create(name="Matrix", description="checks", tags=[tag.id])
    assert client.agents.retrieve(agent.id).tags == [tag.id]
    assert agent.id in [a.id for a in client.agents.list()]
    updated = client.agents.update(
        agent.id, name="Matrix 2", tags=AgentTagUpdateParams(remove=[tag.id])
    )
    assert client.agents.retrieve(agent.id).name == updated.name == "Matrix 2"
    client.agents.delete(agent.id)
    assert error_of(lambda: client.agents.retrieve(agent.id)).status_code == 404
    client.tags.delete(tag.id)
    assert error_of(lambda: client.tags.retrieve(tag.id)).status_code == 404


def test_customers(client):
    tag = client.tags.create(name=unique("vip"))
    customer = client.customers.create(name="Dana", metadata={"tier": "gold"}, tags=[tag.id])
    assert client.customers.retrieve(customer.id).metadata == {"tier": "gold"}
    page = client.customers.list(limit=1000)
    assert customer.id in [c.id for c in page.items]
    client.customers.update(
        customer.id,
        name="Dana L",
        metadata=CustomerMetadataUpdateParams(set_={"city": "Haifa"}, unset=["tier"]),
        tags=CustomerTagUpdateParams(remove=[tag.id]),
    )
    read = client.customers.retrieve(customer.id)
    assert (read.name, read.metadata, read.tags) == ("Dana L", {"city": "Haifa"}, [])
    client.customers.delete(customer.id)
    assert error_of(lambda: client.customers.retrieve(customer.id)).status_code == 404


def test_guidelines_relationships_and_journeys(client):
    first = client.guidelines.create(
        condition="the customer is upset", action="apologize", metadata={"owner": "care"}
    )
    second = client.guidelines.create(condition="the customer greets you", action="greet back")
    assert client.guidelines.retrieve(first.id).guideline.action == "apologize"
    assert first.id in [g.id for g in client.guidelines.list()]
    client.guidelines.update(
        first.id,
        action="apologize sincerely",
        metadata=GuidelineMetadataUpdateParams(unset=["owner"]),
    )
    assert client.guidelines.retrieve(first.id).guideline.metadata == {}

    relationship = client.relationships.create(
        kind="priority", source_guideline=first.id, target_guideline=second.id
    )
    assert client.relationships.retrieve(relationship.id).kind == "priority"
    assert [r.id for r in client.relationships.list(guideline_id=second.id)] == [relationship.id]
    client.relationships.delete(relationship.id)
    assert error_of(lambda: client.relationships.retrieve(relationship.id)).status_code == 404

    tag = client.tags.create(name=unique("sales"))
    journey = client.journeys.create(
        title="Book a test drive",
        description="pick a day",
        conditions=["the customer wants a test drive"],
    )
    assert client.journeys.retrieve(journey.id).title == "Book a test drive"
    assert journey.id in [j.id for j in client.journeys.list()]
    client.journeys.update(
        journey.id, title="Test drive", tags=JourneyTagUpdateParams(add=[tag.id])
    )
    assert client.journeys.retrieve(journey.id).tags == [tag.id]
    assert client.journeys.mermaid(journey.id).startswith("stateDiagram-v2")
    client.journeys.delete(journey.id)
    assert error_of(lambda: client.journeys.retrieve(journey.id)).status_code == 404
    for guideline in (first, second):
        client.guidelines.delete(guideline.id)
        assert error_of(lambda g=guideline: client.guidelines.retrieve(g.id)).status_code == 404


def test_glossary_canned_responses_and_capabilities(client):
    tag = client.tags.create(name=unique("finance"))
    term = client.glossary.create_term(name="APR", description="rate", tags=[tag.id])
    assert [t.id for t in client.glossary.list_terms(tag_id=tag.id)] == [term.id]
    client.glossary.update_term(
        term.id, synonyms=["interest"], tags=TermTagsUpdateParams(remove=[tag.id])
    )
    assert client.glossary.retrieve_term(term.id).synonyms == ["interest"]
    client.glossary.delete_term(term.id)
    assert error_of(lambda: client.glossary.retrieve_term(term.id)).status_code == 404

    canned = client.canned_responses.create(value="Welcome!", fields=[], tags=[tag.id])
    assert [c.id for c in client.canned_responses.list(tags=[tag.id])] == [canned.id]
    client.canned_responses.update(
        canned.id, value="Hello!", tags=CannedResponseTagUpdateParams(remove=[tag.id])
    )
    assert client.canned_responses.retrieve(canned.id).value == "Hello!"
    client.canned_responses.delete(canned.id)
    assert error_of(lambda: client.canned_responses.retrieve(canned.id)).status_code == 404

    capability = client.capabilities.create(
        title="Book", description="books", signals=["book"], tags=[tag.id]
    )
    assert [c.id for c in client.capabilities.list(tag_id=tag.id)] == [capability.id]
    client.capabilities.update(
        capability.id, title="Book drives", tags=CapabilityTagUpdateParams(remove=[tag.id])
    )
    assert client.capabilities.retrieve(capability.id).title == "Book drives"
    client.capabilities.delete(capability.id)
    assert error_of(lambda: client.capabilities.retrieve(capability.id)).status_code == 404


def test_context_variables(client):
    tag = client.tags.create(name=unique("members"))
    variable = client.context_variables.create(name="hours", description="open", tags=[tag.id])
    assert [v.id for v in client.context_variables.list(tag_id=tag.id)] == [variable.id]
    assert client.context_variables.set_value(variable.id, "DEFAULT", data="9-5").data == "9-5"
    assert client.context_variables.get_value(variable.id, "DEFAULT").data == "9-5"
    read = client.context_variables.retrieve(variable.id, include_values=True)
    assert set(read.key_value_pairs) == {"DEFAULT"}
    client.context_variables.delete_value(variable.id, "DEFAULT")
    assert (
        error_of(lambda: client.context_variables.get_value(variable.id, "DEFAULT")).status_code
        == 404
    )
    client.context_variables.update(
        variable.id, name="opening hours", tags=ContextVariableTagsUpdateParams(add=[])
    )
    assert client.context_variables.retrieve(variable.id).context_variable.name == "opening hours"
    client.context_variables.delete(variable.id)
    assert error_of(lambda: client.context_variables.retrieve(variable.id)).status_code == 404
    doomed = client.context_variables.create(name="doomed", tags=[tag.id])
    client.context_variables.delete_many(tag_id=tag.id)
    assert error_of(lambda: client.context_variables.retrieve(doomed.id)).status_code == 404


def test_services(client):
    assert "behavior" in [service.name for service in client.services.list()]
    assert client.services.retrieve("behavior").tools
    for kind, params in (
        ("openapi", {"openapi": OpenApiServiceParams(url="http://127.0.0.1:9/", source="x.json")}),
        ("mcp", {"mcp": McpServiceParams(url="http://127.0.0.1:9/")}),
    ):
        refusal = error_of(
            lambda k=kind, p=params: client.services.create_or_update("remote", kind=k, **p)
        )
        assert refusal.status_code == 422
        assert "not supported" in refusal.body["detail"]
    assert "remote" not in [service.name for service in client.services.list()]
    refusal = error_of(lambda: client.services.delete("behavior"))
    assert refusal.status_code == 422
    assert "defined in code" in refusal.body["detail"]
    assert client.services.retrieve("behavior").tools  # still there


def test_sessions_and_events(client):
    customer = client.customers.create(name="Noa")
    session = client.sessions.create(
        agent_id="otto-carmen",
        customer_id=customer.id,
        title="matrix",
        metadata={"channel": "web"},
        labels=["vip"],
    )
    assert client.sessions.retrieve(session.id).title == "matrix"
    assert [s.id for s in client.sessions.list(customer_id=customer.id)] == [session.id]
    client.sessions.update(
        session.id,
        title="matrix 2",
        metadata=SessionMetadataUpdateParams(set_={"a": 1}),
        labels=SessionLabelsUpdateParams(upsert=["gold"]),
        consumption_offsets={"client": 0},
    )
    read = client.sessions.retrieve(session.id)
    assert (read.title, read.metadata["a"], set(read.labels)) == ("matrix 2", 1, {"vip", "gold"})

    message = client.sessions.create_event(
        session.id, kind="message", source="customer", message="Hello there!"
    )
    assert message.trace_id
    seen = events_until(
        client,
        session.id,
        lambda e: (
            e.kind == "status" and e.data["status"] == "ready" and e.trace_id == message.trace_id
        ),
    )
    reply = next(e for e in seen if e.source == "ai_agent" and e.kind == "message")
    assert reply.trace_id == message.trace_id
    assert client.sessions.read_event(session.id, reply.id).data["message"] == reply.data["message"]
    client.sessions.update_event(session.id, reply.id, metadata={"set": {"rating": 5}})
    assert client.sessions.read_event(session.id, reply.id).metadata == {"rating": 5}

    # The agent speaks now, following a guideline once. The local provider says only approved
    # text, so the words for that instruction are registered as the agent's canned response.
    client.canned_responses.create(
        value="Our showroom closes at six today.", fields=[], tags=["agent:otto-carmen"]
    )
    trigger = client.sessions.create_event(
        session.id,
        kind="message",
        source="ai_agent",
        guidelines=[AgentMessageGuideline(action="say that the showroom closes at six")],
    )
    seen = events_until(
        client,
        session.id,
        # The turn is over once its "ready" arrives.
        lambda e: (
            e.kind == "status" and e.data["status"] == "ready" and e.trace_id == trigger.trace_id
        ),
        min_offset=trigger.offset + 1,
    )
    assert any("six" in e.data["message"].lower() for e in seen if e.kind == "message")

    # Nothing runs now: cancelling says so.
    assert (
        error_of(
            lambda: client.sessions.create_event(
                session.id, kind="status", source="customer", status="cancelled"
            )
        ).status_code
        == 409
    )

    last = client.sessions.list_events(session.id, wait_for_data=0)[-1]
    client.sessions.delete_events(session.id, min_offset=last.offset)
    assert [e.offset for e in client.sessions.list_events(session.id, wait_for_data=0)][
        -1
    ] < last.offset

    greeted = client.sessions.create(
        agent_id="otto-carmen", customer_id=customer.id, allow_greeting=True
    )
    events_until(client, greeted.id, lambda e: e.kind == "message" and e.source == "ai_agent")

    client.sessions.delete(session.id)
    assert error_of(lambda: client.sessions.retrieve(session.id)).status_code == 404
    client.sessions.delete_many(customer_id=customer.id)
    assert client.sessions.list(customer_id=customer.id) == []


def test_evaluations_answer_a_json_404_naming_the_missing_feature(client):
    created = error_of(
        lambda: client.evaluations.create(
            payloads=[
                Payload(
                    kind="guideline",
                    guideline={
                        "content": {"condition": "x", "action": "y"},
                        "tool_ids": [],
                        "operation": "add",
                        "action_proposition": False,
                        "properties_proposition": False,
                    },
                )
            ]
        )
    )
    assert created.status_code == 404
    assert "Evaluations are not supported" in created.body["detail"]
    read = error_of(lambda: client.evaluations.retrieve("any-id"))
    assert read.status_code == 404
    assert "behaviour tests" in read.body["detail"]


def test_every_public_method_of_the_client_was_called(raw_client):
    """Runs last in this module: the methods above, against the whole client surface."""
    everything = public_methods(raw_client)
    assert len(everything) == 71
    assert everything - called == set()
    assert set(NOT_SUPPORTED) <= everything
