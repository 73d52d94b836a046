"""Rules of the building blocks that hold whatever interface writes them."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from behavior import services
from behavior.freshness import is_stale, parse_cron, previous_tick
from behavior.models import JourneyState, Relationship, Tag, Tool
from behavior.templates import check_template, template_fields
from behavior.tooling import tool_registry_sync
from engine.tools import default_registry
from tests.builders import make_agent


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("rules", "now", "tick"),
    [
        ("* * * * *", "2026-03-04 10:17:42", "2026-03-04 10:17:00"),
        ("0 * * * *", "2026-03-04 10:17:00", "2026-03-04 10:00:00"),
        ("30 6 * * *", "2026-03-04 05:00:00", "2026-03-03 06:30:00"),
        ("0 9 * * 1", "2026-03-04 10:00:00", "2026-03-02 09:00:00"),  # Monday
        ("*/15 8-9 1,15 * *", "2026-03-16 00:00:00", "2026-03-15 09:45:00"),
        ("0 0 29 2 *", "2026-03-01 00:00:00", "2024-02-29 00:00:00"),
    ],
)
def test_cron_rules_find_the_latest_tick(rules, now, tick):
    assert previous_tick(parse_cron(rules), at(now)) == at(tick)


@pytest.mark.parametrize(
    "rules", ["", "every hour", "60 * * * *", "* * * *", "*/0 * * * *", "5-1 * * * *"]
)
def test_bad_cron_rules_are_refused_with_a_message(rules):
    with pytest.raises(ValueError, match=r"\w"):
        parse_cron(rules)


def test_staleness_follows_the_rules():
    now = at("2026-03-04 10:17:00")
    assert is_stale("", at("2026-03-04 10:16:59"), now)  # no rules: refresh every turn
    assert is_stale("0 * * * *", None, now)  # never written
    assert not is_stale("0 * * * *", at("2026-03-04 10:00:01"), now)
    assert is_stale("0 * * * *", at("2026-03-04 09:59:59"), now)


def test_templates_name_their_fields_and_malformed_ones_are_refused():
    assert template_fields("Hi {{std.customer.name}}, {{ price }} {{price}}") == [
        "std.customer.name",
        "price",
    ]
    for bad in ["", "   ", "Hi {{name", "Hi name}}", "{{ two words }}"]:
        with pytest.raises(ValidationError):
            check_template(bad)


@pytest.mark.django_db
def test_tags_resolve_creates_scope_tags_only_for_existing_agents_and_journeys():
    agent = make_agent()
    journey = services.journey_create(title="J")
    tags = services.tags_resolve([f"agent:{agent.id}", f"journey:{journey.id}"])
    assert [(t.agent_id, t.journey_id) for t in tags] == [(agent.id, None), (None, journey.id)]
    with pytest.raises(ValidationError, match="agent:ghost"):
        services.tags_resolve(["agent:ghost"])
    agent.delete()
    assert not Tag.objects.filter(pk=f"agent:{agent.id}").exists()


@pytest.mark.django_db
def test_the_database_refuses_relationships_without_exactly_one_end():
    guideline = services.guideline_create(condition="c")
    tag = services.tag_create(name="t")
    with pytest.raises(IntegrityError), transaction.atomic():
        Relationship.objects.create(kind="priority", source_guideline=guideline)
    with pytest.raises(IntegrityError), transaction.atomic():
        Relationship.objects.create(
            kind="priority", source_guideline=guideline, source_tag=tag, target_guideline=guideline
        )


@pytest.mark.django_db
def test_a_journey_has_one_start_state_at_most_in_the_database():
    journey = services.journey_create(title="J")
    with pytest.raises(IntegrityError), transaction.atomic():
        JourneyState.objects.create(journey=journey, kind="initial")


@pytest.mark.django_db
def test_journey_checks_name_each_problem():
    journey = services.journey_create(title="J")
    start = services.journey_initial_state(journey)
    ask = services.journey_state_create(journey=journey, kind="chat", action="ask")
    services.journey_state_create(journey=journey, kind="chat", action="orphan")
    services.journey_transition_create(source=start, target=ask)
    assert services.journey_problems(journey) == [
        "State 'orphan' cannot be reached from the start."
    ]
    with pytest.raises(ValidationError):
        services.journey_transition_create(source=ask, target=start)
    with pytest.raises(ValidationError, match="action"):
        services.journey_state_create(journey=journey, kind="chat")
    with pytest.raises(ValidationError, match="tool"):
        services.journey_state_create(journey=journey, kind="tool")
    other = services.journey_create(title="Other")
    with pytest.raises(ValidationError, match="same journey"):
        services.journey_transition_create(source=ask, target=services.journey_initial_state(other))


def test_graph_checks_cover_start_count_and_dangling_transitions():
    problems = services.graph_problems(
        states=[("a", "initial", False, 0, "Start"), ("b", "initial", False, 0, "Start")],
        transitions=[("t", "a", "zzz")],
    )
    assert "exactly one start state (it has 2)" in problems[0]
    assert "points outside this journey" in problems[1]


@pytest.mark.django_db
def test_registered_tools_are_mirrored_and_vanished_ones_marked_unavailable():
    from engine.tools import ToolContext, ToolResult

    def temporary_tool(context: ToolContext, city: str) -> ToolResult:
        """Look up the weather."""
        return ToolResult(data=city)

    default_registry.register(temporary_tool)
    try:
        tool_registry_sync()
        tool = Tool.objects.get(pk="temporary_tool")
        assert (tool.service_id, tool.description, tool.required) == (
            "tests",
            "Look up the weather.",
            ["city"],
        )
        assert tool.parameters == {"city": {"type": "string", "description": ""}}
    finally:
        default_registry._tools.pop("temporary_tool")
    tool_registry_sync()
    assert Tool.objects.get(pk="temporary_tool").is_available is False
    assert Tool.objects.get(pk="get_opening_hours").is_available is True


@pytest.mark.django_db
def test_deleting_an_agent_takes_what_only_it_had_and_never_makes_it_global():
    vip = services.tag_create(name="vip")
    agent = make_agent()
    own = f"agent:{agent.id}"
    services.guideline_create(condition="only the agent's", tag_ids=[own])
    shared = services.guideline_create(condition="also vip", tag_ids=[own, vip.id])
    journey = services.journey_create(title="J", conditions=["starts"], tag_ids=[own])
    services.guideline_create(condition="inside the journey", tag_ids=[f"journey:{journey.id}"])
    services.term_create(name="T", description="d", tag_ids=[own])

    services.agent_delete(agent_id=agent.id)

    from behavior.models import GlossaryTerm, Guideline, Journey

    assert list(Guideline.objects.values_list("condition", flat=True)) == ["also vip"]
    assert list(shared.tags.values_list("pk", flat=True)) == [vip.id]
    assert not Journey.objects.exists()
    assert not GlossaryTerm.objects.exists()


@pytest.mark.django_db
def test_a_tag_that_alone_scopes_entities_cannot_be_deleted(api_client):
    vip = services.tag_create(name="vip")
    guideline = services.guideline_create(condition="vip only", tag_ids=[vip.id])
    response = api_client.delete(f"/tags/{vip.id}")
    assert response.status_code == 422
    assert "every agent" in response.json()["detail"]
    services.guideline_delete(guideline_id=guideline.id)
    assert api_client.delete(f"/tags/{vip.id}").status_code == 204
