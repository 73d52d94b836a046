"""Admin pages people read: names instead of ids, journeys built in one pass, readable version
compares, sessions as transcripts, imports that ask first."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from reversion.models import Version

from behavior import services
from behavior.history import revision
from behavior.models import Agent, Journey, JourneyState, JourneyTransition, Tag
from behavior.transfer import behavior_export, dump_document
from sessions_app.services import customer_message_post, session_handoff
from tests.builders import make_agent, make_session

pytestmark = pytest.mark.django_db


def journey_add_form(**fields) -> dict[str, str]:
    management = {}
    for prefix in ("states", "transitions"):
        management |= {
            f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000",
        }
    return {"description": "", "composition_mode": "", "priority": "0", "labels": "[]",
            **management, **fields}


def test_a_journey_is_built_in_one_pass_from_words(admin_client):
    response = admin_client.post(
        reverse("admin:behavior_journey_add"),
        journey_add_form(
            title="Book a test drive",
            start_when="the customer wants a test drive\nthe customer asks to try a car",
            steps="ask which model\nask which day\nconfirm the booking",
        ),
        follow=True,
    )
    assert response.status_code == 200
    journey = Journey.objects.get(title="Book a test drive")
    assert sorted(journey.conditions.values_list("condition", flat=True)) == [
        "the customer asks to try a car", "the customer wants a test drive",
    ]
    transitions = [str(t) for t in JourneyTransition.objects.filter(journey=journey)]
    assert transitions == [
        "Start → ask which model", "ask which model → ask which day",
        "ask which day → confirm the booking", "confirm the booking → End",
    ]
    page = admin_client.get(reverse("admin:behavior_journey_change", args=[journey.id]))
    assert "The journey is valid." in page.content.decode()
    # The form shows the start conditions as the words they were written in.
    assert "the customer asks to try a car" in page.content.decode()

    journey_tag = Tag.objects.get(pk=f"journey:{journey.id}")
    assert str(journey_tag) == "Journey: Book a test drive"


def test_a_journey_that_can_never_start_says_so(admin_client):
    response = admin_client.post(
        reverse("admin:behavior_journey_add"),
        journey_add_form(title="Orphan", start_when="", steps="say hello"),
        follow=True,
    )
    assert "This journey can never start" in response.content.decode()
    journey = Journey.objects.get(title="Orphan")
    page = admin_client.get(reverse("admin:behavior_journey_change", args=[journey.id]))
    assert "This journey can never start" in page.content.decode()
    assert "The journey is valid." not in page.content.decode()


def test_lists_name_scope_tags_instead_of_showing_ids(admin_client):
    journey = services.journey_create(title="Trade-in", conditions=["the customer has a car"])
    services.guideline_create(
        condition="the customer mentions mileage", action="ask for the exact number",
        tag_ids=[f"journey:{journey.id}"],
    )
    listing = admin_client.get(reverse("admin:behavior_guideline_changelist")).content.decode()
    assert "Journey: Trade-in" in listing
    assert f"journey:{journey.id}" not in listing
    tags = admin_client.get(reverse("admin:behavior_tag_changelist")).content.decode()
    assert "Journey: Trade-in" in tags


def test_an_agents_page_adds_guidelines_for_that_agent(admin_client):
    agent = make_agent(name="Otto")
    services.agent_scope_tag(agent.id)
    page = admin_client.get(reverse("admin:behavior_agent_change", args=[agent.id]))
    add_url = reverse("admin:behavior_guideline_add") + f"?tags=agent:{agent.id}"
    assert add_url in page.content.decode()
    form = admin_client.get(add_url).content.decode()
    assert "Agent: Otto" in form


def test_version_compare_leaves_out_embeddings_and_shows_old_and_new(admin_client):
    guideline = services.guideline_create(condition="the customer greets", action="wave")
    with revision("initial"):
        guideline.save()
    guideline.action = "offer a drink"
    guideline.condition_embedding = [0.123456789] * 64
    with revision("second"):
        guideline.save()
    old, new = sorted(Version.objects.get_for_object(guideline), key=lambda v: v.pk)
    compare = admin_client.get(
        reverse("admin:behavior_guideline_compare", args=[guideline.id]),
        {"version_id1": old.pk, "version_id2": new.pk},
    ).content.decode()
    assert "<del>wave</del> → <ins>offer a drink</ins>" in compare
    assert "0.123456789" not in compare


def test_importing_over_an_existing_agent_previews_and_asks_first(admin_client):
    agent = make_agent(name="Portable")
    services.guideline_create(condition="the customer greets", action="wave",
                              tag_ids=[f"agent:{agent.id}"])
    document = behavior_export(agent_id=agent.id)
    document["guidelines"][0]["action"] = "offer a drink"
    document["terms"] = [{"id": "term-apr", "name": "APR", "description": "yearly rate",
                          "synonyms": [], "tags": []}]
    text = dump_document(document)
    upload = SimpleUploadedFile("portable.yaml", text.encode(), content_type="application/yaml")
    preview = admin_client.post(reverse("admin:behavior_agent_import"), {"document": upload})
    assert preview.status_code == 200
    body = preview.content.decode()
    assert "Importing will replace the behaviour of Portable" in body
    assert "~ When the customer greets, then offer a drink" in body
    assert "+ APR" in body
    # Nothing changed yet.
    assert behavior_export(agent_id=agent.id)["guidelines"][0]["action"] == "wave"

    confirmed = admin_client.post(
        reverse("admin:behavior_agent_import"),
        {"confirm": "replace", "document_text": text},
    )
    assert confirmed.status_code == 302
    assert behavior_export(agent_id=agent.id)["guidelines"][0]["action"] == "offer a drink"
    assert Agent.objects.get(pk=agent.id).name == "Portable"


def test_a_session_reads_as_a_transcript_with_each_replys_explanation(admin_client):
    session = make_session()
    customer_message_post(session=session, message="<b>Hello</b> there")
    session_handoff(session_id=session.id, mode="manual")
    page = admin_client.get(reverse("admin:sessions_app_session_change", args=[session.id]))
    assert page.status_code == 200
    body = page.content.decode()
    assert "&lt;b&gt;Hello&lt;/b&gt; there" in body
    assert "Handed off: waiting for a teammate" in body
    # Read-only: a record, not a form.
    assert 'name="_save"' not in body
    assert JourneyState.objects.count() == 0


def test_a_restore_ends_on_the_page_with_a_banner_saying_so(admin_client):
    guideline = services.guideline_create(condition="the customer greets", action="wave")
    with revision("initial"):
        guideline.save()
    guideline.action = "offer a drink"
    with revision("second"):
        guideline.save()
    old = min(Version.objects.get_for_object(guideline), key=lambda version: version.pk)
    restored = admin_client.post(
        reverse("admin:behavior_guideline_restore", args=[guideline.id, old.pk])
    )
    assert restored.status_code == 302
    page = admin_client.get(restored["Location"])
    assert "Restored the version of" in page.content.decode()
    guideline.refresh_from_db()
    assert guideline.action == "wave"
