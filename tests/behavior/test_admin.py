"""The editor's admin: lists without N+1 queries, relationships both ways, journey diagrams and
checks, change history with diff and restore, import and export."""

import base64
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from reversion.models import Version

from behavior import services
from behavior.models import Agent, Guideline, JourneyState, JourneyTransition, Relationship, Tag
from behavior.transfer import behavior_export, dump_document
from tests.builders import make_agent, make_customer

pytestmark = pytest.mark.django_db


def add_behaviour(agent: Agent, count: int) -> None:
    """`count` of every building block, tagged to `agent` and to a plain tag."""
    tag = services.tag_create(name=f"tag-{agent.id}")
    agent.tags.add(tag)
    scope = [f"agent:{agent.id}", tag.id]
    for index in range(count):
        first = services.guideline_create(
            condition=f"c{index}", action="a", tag_ids=scope, tool_ids=["get_opening_hours"]
        )
        second = services.guideline_create(condition=f"d{index}", tag_ids=scope)
        services.relationship_create(
            kind="priority",
            source=services.Endpoint(guideline_id=first.id),
            target=services.Endpoint(guideline_id=second.id),
        )
        journey = services.journey_create(
            title=f"J{index}", conditions=[f"s{index}"], tag_ids=scope
        )
        services.journey_state_create(journey=journey, kind="chat", action="ask")
        services.term_create(name=f"T{index}", description="d", tag_ids=scope)
        variable = services.variable_create(
            name=f"v{index}", tool_id="get_opening_hours", tag_ids=scope
        )
        services.variable_value_set(variable_id=variable.id, key=services.ValueKey(), data=1)
        services.canned_response_create(value=f"Hi {index}", signals=["hi"], tag_ids=scope)
        services.capability_create(title=f"C{index}", description="d", tag_ids=scope)


CHANGELISTS = [
    "agent",
    "tag",
    "guideline",
    "relationship",
    "journey",
    "glossaryterm",
    "contextvariable",
    "cannedresponse",
    "capability",
    "tool",
    "toolservice",
    "retriever",
]


@pytest.mark.parametrize("model", CHANGELISTS)
def test_changelists_cost_the_same_queries_for_many_rows(
    admin_client, model, django_assert_num_queries
):
    url = reverse(f"admin:behavior_{model}_changelist")
    add_behaviour(make_agent(name="few"), 1)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(url).status_code == 200
    add_behaviour(make_agent(name="many"), 8)
    with django_assert_num_queries(len(few.captured_queries)):
        response = admin_client.get(url)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "model",
    [
        "guideline",
        "journey",
        "glossaryterm",
        "contextvariable",
        "cannedresponse",
        "capability",
        "agent",
        "relationship",
    ],
)
def test_changelists_search_and_filter(admin_client, model):
    agent = make_agent(name="Otto")
    add_behaviour(agent, 2)
    url = reverse(f"admin:behavior_{model}_changelist")
    assert admin_client.get(url, {"q": "zzz-nothing"}).status_code == 200
    if model not in ("agent", "relationship"):
        filtered = admin_client.get(url, {"agent": agent.id})
        assert filtered.status_code == 200
        assert admin_client.get(url, {"scope": "global"}).status_code == 200


def test_the_agent_filter_shows_what_applies_to_that_agent(admin_client):
    otto, ada = make_agent(name="Otto"), make_agent(name="Ada")
    services.guideline_create(condition="for otto only", tag_ids=[f"agent:{otto.id}"])
    services.guideline_create(condition="for everyone")
    services.guideline_create(condition="for ada only", tag_ids=[f"agent:{ada.id}"])
    page = admin_client.get(reverse("admin:behavior_guideline_changelist"), {"agent": otto.id})
    text = page.content.decode()
    assert "for otto only" in text
    assert "for everyone" in text
    assert "for ada only" not in text


def test_a_guidelines_page_shows_its_relationships_both_ways(admin_client):
    middle = services.guideline_create(condition="the middle one")
    before = services.guideline_create(condition="points at the middle")
    after = services.guideline_create(condition="pointed at by the middle")
    services.relationship_create(
        kind="entailment",
        source=services.Endpoint(guideline_id=before.id),
        target=services.Endpoint(guideline_id=middle.id),
    )
    services.relationship_create(
        kind="priority",
        source=services.Endpoint(guideline_id=middle.id),
        target=services.Endpoint(guideline_id=after.id),
    )

    page = admin_client.get(reverse("admin:behavior_guideline_change", args=[middle.id]))
    text = page.content.decode()

    assert "Relationships from this guideline" in text
    assert "Relationships into this guideline" in text
    assert "pointed at by the middle" in text
    assert "points at the middle" in text


def _inline_management(prefixes: list[str]) -> dict[str, str]:
    data = {}
    for prefix in prefixes:
        data |= {
            f"{prefix}-TOTAL_FORMS": "0",
            f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
        }
    return data


GUIDELINE_INLINES = ["tool_associations", "outgoing_relationships", "incoming_relationships"]


def test_saving_a_guideline_in_admin_embeds_its_condition_and_records_history(admin_client):
    agent = make_agent()
    tag = services.agent_scope_tag(agent.id)
    data = {
        "condition": "the customer asks for a brochure",
        "action": "send the brochure link",
        "description": "",
        "tags": [tag.id],
        "criticality": "medium",
        "enabled": "on",
        "composition_mode": "",
        "track": "on",
        "priority": "0",
        "labels": "brochure\nsales",
        "examples": "can you mail me a leaflet?\n\ndo you have something printed I can read",
        "metadata": "{}",
        **_inline_management(GUIDELINE_INLINES),
        "tool_associations-TOTAL_FORMS": "1",
        "tool_associations-0-tool": "get_opening_hours",
    }
    response = admin_client.post(reverse("admin:behavior_guideline_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors

    guideline = Guideline.objects.get(condition="the customer asks for a brochure")
    assert guideline.condition_embedding
    assert guideline.embedded_condition == guideline.condition
    assert guideline.labels == ["brochure", "sales"]
    assert guideline.examples == [
        "can you mail me a leaflet?",
        "do you have something printed I can read",
    ]
    assert list(guideline.tools.values_list("id", flat=True)) == ["get_opening_hours"]
    (version,) = Version.objects.get_for_object(guideline)
    assert version.revision.user.is_superuser


def test_a_relationship_needs_exactly_one_end_on_each_side_in_admin(admin_client):
    first = services.guideline_create(condition="first")
    tag = services.tag_create(name="vip")
    response = admin_client.post(
        reverse("admin:behavior_relationship_add"),
        {
            "kind": "priority",
            "source_guideline": first.id,
            "source_tag": tag.id,
            "target_guideline": first.id,
        },
    )
    assert response.status_code == 200
    assert "Choose exactly one source" in response.content.decode()


def test_journey_page_draws_the_diagram_and_reports_problems(admin_client):
    journey = services.journey_create(title="Drive <script>", conditions=["c"])
    ask = services.journey_state_create(journey=journey, kind="chat", action="ask <b>model</b>")
    services.journey_state_create(journey=journey, kind="chat", action="lonely state")
    services.journey_transition_create(source=services.journey_initial_state(journey), target=ask)

    page = admin_client.get(reverse("admin:behavior_journey_change", args=[journey.id]))
    text = page.content.decode()

    encoded = re.search(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", text).group(1)
    svg = base64.b64decode(encoded).decode()
    assert "ask &lt;b&gt;model&lt;/b&gt;" in svg
    assert "<b>" not in svg
    assert svg.count("marker-end=") == 1  # the one transition
    assert "cannot be reached from the start" in text
    assert "lonely state" in text
    assert "Drive <script>" not in text
    assert "Drive &lt;script&gt;" in text


def test_a_valid_journey_passes_its_checks(admin_client):
    journey = services.journey_create(title="Drive", conditions=["c"])
    ask = services.journey_state_create(journey=journey, kind="chat", action="ask")
    services.journey_transition_create(source=services.journey_initial_state(journey), target=ask)
    page = admin_client.get(reverse("admin:behavior_journey_change", args=[journey.id]))
    assert "The journey is valid." in page.content.decode()


def _journey_form(journey, states, transitions) -> dict[str, str]:
    data = {
        "title": journey.title,
        "description": "",
        "conditions": [g.id for g in journey.conditions.all()],
        "composition_mode": "",
        "priority": "0",
        "labels": "[]",
        "states-TOTAL_FORMS": str(len(states)),
        "states-INITIAL_FORMS": str(len(states)),
        "states-MIN_NUM_FORMS": "0",
        "states-MAX_NUM_FORMS": "1000",
        "transitions-TOTAL_FORMS": str(len(transitions)),
        "transitions-INITIAL_FORMS": "0",
        "transitions-MIN_NUM_FORMS": "0",
        "transitions-MAX_NUM_FORMS": "1000",
    }
    for index, state in enumerate(states):
        data |= {
            f"states-{index}-id": state.id,
            f"states-{index}-journey": journey.id,
            f"states-{index}-kind": state.kind,
            f"states-{index}-position": state.position,
            f"states-{index}-action": state.action,
            f"states-{index}-description": "",
            f"states-{index}-composition_mode": "",
        }
    for index, (source, target, condition) in enumerate(transitions):
        data |= {
            f"transitions-{index}-source": source,
            f"transitions-{index}-target": target,
            f"transitions-{index}-condition": condition,
            f"transitions-{index}-journey": journey.id,
        }
    return data


def test_editors_add_transitions_inline_and_dangling_ones_are_refused(admin_client):
    journey = services.journey_create(title="Drive", conditions=["c"])
    start = services.journey_initial_state(journey)
    ask = services.journey_state_create(journey=journey, kind="chat", action="ask")
    other = services.journey_create(title="Other", conditions=["d"])
    foreign = services.journey_state_create(journey=other, kind="chat", action="elsewhere")
    url = reverse("admin:behavior_journey_change", args=[journey.id])

    refused = admin_client.post(
        url, _journey_form(journey, [start, ask], [(start.id, foreign.id, "")])
    )
    assert refused.status_code == 200
    assert not JourneyTransition.objects.exists()

    into_start = admin_client.post(
        url, _journey_form(journey, [start, ask], [(ask.id, start.id, "")])
    )
    assert into_start.status_code == 200
    assert not JourneyTransition.objects.exists()

    accepted = admin_client.post(
        url,
        _journey_form(journey, [start, ask], [(start.id, ask.id, "the customer wants to drive")]),
    )
    assert accepted.status_code == 302
    (transition,) = JourneyTransition.objects.all()
    assert (transition.source_id, transition.target_id) == (start.id, ask.id)


def test_a_chat_state_needs_an_action_and_the_start_cannot_be_deleted(admin_client):
    journey = services.journey_create(title="Drive", conditions=["c"])
    start = services.journey_initial_state(journey)
    ask = services.journey_state_create(journey=journey, kind="chat", action="ask")
    url = reverse("admin:behavior_journey_change", args=[journey.id])

    data = _journey_form(journey, [start, ask], [])
    data["states-1-action"] = ""
    assert admin_client.post(url, data).status_code == 200

    data = _journey_form(journey, [start, ask], [])
    data["states-0-DELETE"] = "on"
    assert admin_client.post(url, data).status_code == 200
    assert JourneyState.objects.filter(pk=start.pk).exists()


def test_a_new_journey_in_admin_gets_its_start_and_end_states(admin_client):
    data = {
        "title": "New one",
        "description": "",
        "composition_mode": "",
        "priority": "0",
        "labels": "[]",
        **_inline_management(["states", "transitions"]),
    }
    response = admin_client.post(reverse("admin:behavior_journey_add"), data)
    assert response.status_code == 302
    assert sorted(JourneyState.objects.values_list("kind", flat=True)) == ["end", "initial"]


def test_history_compares_versions_and_restores_an_old_one(admin_client):
    guideline = services.guideline_create(condition="c", action="first action")
    change_url = reverse("admin:behavior_guideline_change", args=[guideline.id])
    data = {
        "condition": "c",
        "action": "second action",
        "description": "",
        "criticality": "medium",
        "enabled": "on",
        "composition_mode": "",
        "track": "on",
        "priority": "0",
        "labels": "",
        "metadata": "{}",
        **_inline_management(GUIDELINE_INLINES),
    }
    from behavior.history import revision

    with revision("initial"):
        guideline.save()
    assert admin_client.post(change_url, data).status_code == 302
    old, new = sorted(Version.objects.get_for_object(guideline), key=lambda v: v.pk)

    history = admin_client.get(reverse("admin:behavior_guideline_history", args=[guideline.id]))
    assert history.status_code == 200
    assert "admin" in history.content.decode()
    compare = admin_client.get(
        reverse("admin:behavior_guideline_compare", args=[guideline.id]),
        {"version_id1": old.pk, "version_id2": new.pk},
    )
    assert compare.status_code == 200
    assert "first action" in compare.content.decode()

    restore_url = reverse("admin:behavior_guideline_revision", args=[guideline.id, old.pk])
    assert admin_client.get(restore_url).status_code == 200
    restored = admin_client.post(restore_url, {**data, "action": "first action"})
    assert restored.status_code == 302
    guideline.refresh_from_db()
    assert guideline.action == "first action"


def test_export_and_import_through_the_admin(admin_client):
    agent = make_agent(name="Portable")
    add_behaviour(agent, 1)
    exported = admin_client.get(reverse("admin:behavior_agent_export", args=[agent.id]))
    assert exported.status_code == 200
    assert exported["Content-Disposition"].endswith('.behavior.yaml"')
    document = exported.content

    Agent.objects.filter(pk=agent.id).delete()
    upload = SimpleUploadedFile("otto.yaml", document, content_type="application/yaml")
    imported = admin_client.post(reverse("admin:behavior_agent_import"), {"document": upload})
    assert imported.status_code == 302
    assert Agent.objects.get(pk=agent.id).name == "Portable"
    assert dump_document(behavior_export(agent_id=agent.id)).encode() == document


def test_importing_garbage_shows_the_error_on_the_form(admin_client):
    upload = SimpleUploadedFile("bad.yaml", b"just: text", content_type="application/yaml")
    page = admin_client.post(reverse("admin:behavior_agent_import"), {"document": upload})
    assert page.status_code == 200
    assert "Not a behaviour document" in page.content.decode()


def test_tools_are_listed_read_only(admin_client):
    listing = admin_client.get(reverse("admin:behavior_tool_changelist"))
    assert "check_test_drive_availability" in listing.content.decode()
    assert admin_client.get(reverse("admin:behavior_tool_add")).status_code == 403


def test_variable_values_are_edited_inline_per_customer_tag_or_default(admin_client):
    customer = make_customer(name="Dana")
    variable = services.variable_create(name="plan")
    services.variable_value_set(
        variable_id=variable.id, key=services.ValueKey(customer_id=customer.id), data="gold"
    )
    page = admin_client.get(reverse("admin:behavior_contextvariable_change", args=[variable.id]))
    assert page.status_code == 200
    assert "leave customer and tag empty for the default" in page.content.decode().lower()


def test_one_click_restore_brings_back_an_old_version_with_its_tools(admin_client):
    from behavior.history import revision

    with revision("first"):
        guideline = services.guideline_create(
            condition="asks the hours", action="tell them", tool_ids=["get_opening_hours"]
        )
    with revision("second"):
        services.guideline_update(
            guideline=guideline,
            fields={"condition": "asks about prices", "action": "quote"},
            tools_remove=["get_opening_hours"],
        )
    first = Version.objects.get_for_object(guideline).get(revision__comment="first")
    history_page = admin_client.get(
        reverse("admin:behavior_guideline_history", args=[guideline.id])
    ).content.decode()
    restore_url = reverse("admin:behavior_guideline_restore", args=[guideline.id, first.pk])
    assert restore_url in history_page

    assert admin_client.get(restore_url).status_code == 405
    response = admin_client.post(restore_url)

    assert response.status_code == 302
    guideline.refresh_from_db()
    assert (guideline.condition, guideline.action) == ("asks the hours", "tell them")
    assert list(guideline.tools.values_list("id", flat=True)) == ["get_opening_hours"]
    assert guideline.embedded_condition == "asks the hours"
    latest = Version.objects.get_for_object(guideline).first()
    assert latest.revision.comment.startswith("Restored the version of")


def test_the_admin_refuses_to_delete_a_tag_that_alone_scopes_entities(admin_client):
    vip = services.tag_create(name="vip")
    services.guideline_create(condition="vip only", tag_ids=[vip.id])
    page = admin_client.get(reverse("admin:behavior_tag_delete", args=[vip.id]))
    assert "1 guidelines scoped only by the tag vip" in page.content.decode()
    admin_client.post(reverse("admin:behavior_tag_delete", args=[vip.id]), {"post": "yes"})
    assert Tag.objects.filter(pk=vip.id).exists()


def test_deleting_a_journey_in_admin_removes_its_condition_guidelines(admin_client):
    journey = services.journey_create(title="J", conditions=["starts"])
    admin_client.post(reverse("admin:behavior_journey_delete", args=[journey.id]), {"post": "yes"})
    assert not Guideline.objects.exists()


def test_admin_sets_and_checks_a_dependency_any_group(admin_client):
    first = services.guideline_create(condition="first")
    second = services.guideline_create(condition="second")
    url = reverse("admin:behavior_relationship_add")
    wrong = admin_client.post(
        url,
        {
            "kind": "priority",
            "source_guideline": first.id,
            "target_guideline": second.id,
            "group_id": "payment",
        },
    )
    assert wrong.status_code == 200
    assert "Only a dependency-on-any relationship has a group." in wrong.content.decode()
    admin_client.post(
        url,
        {
            "kind": "dependency_any",
            "source_guideline": first.id,
            "target_guideline": second.id,
            "group_id": "payment",
        },
    )
    assert list(Relationship.objects.values_list("kind", "group_id")) == [
        ("dependency_any", "payment")
    ]
