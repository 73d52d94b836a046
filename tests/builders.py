"""Plain builders for test data; each takes overrides and returns the saved row."""

from behavior.models import Agent, CannedResponse, Guideline
from behavior.services import agent_scope_tag
from sessions_app.models import Customer, Session


def make_agent(**overrides) -> Agent:
    fields = {"name": "Test Agent", "description": "An agent for tests."} | overrides
    return Agent.objects.create(**fields)


def make_guideline(agent: Agent, **overrides) -> Guideline:
    """A guideline scoped to `agent` through its `agent:<id>` tag."""
    fields = {"condition": "the customer greets you", "action": "offer a drink"} | overrides
    guideline = Guideline.objects.create(**fields)
    guideline.tags.add(agent_scope_tag(agent.id))
    return guideline


GREETINGS = ["hello", "hi there", "good morning"]
WELCOME = "Welcome! Can I offer you a refreshing drink?"


def make_greeting(agent: Agent) -> Guideline:
    """The greeting guideline with its example messages and the approved text the local
    provider (which says only approved text) answers it with."""
    guideline = make_guideline(
        agent,
        condition="the customer greets you",
        action="offer a refreshing drink",
        examples=GREETINGS,
    )
    welcome = CannedResponse.objects.create(value=WELCOME)
    welcome.tags.add(agent_scope_tag(agent.id))
    return guideline


def make_customer(**overrides) -> Customer:
    return Customer.objects.create(**({"name": "Dana"} | overrides))


def make_session(
    agent: Agent | None = None, customer: Customer | None = None, **overrides
) -> Session:
    return Session.objects.create(
        agent=agent or make_agent(), customer=customer or make_customer(), **overrides
    )
