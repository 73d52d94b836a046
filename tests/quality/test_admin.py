"""The editor's loop in admin: save a turn as a test, run tests in the background, read results,
talk to the agent in the test chat, read the insights page."""

import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from behavior.management.commands.seed_demo import DEMO_AGENT_ID
from behavior.models import Guideline, JourneyState
from quality.models import BehaviorTest, ModelPrice, TestRun, TurnFacts
from quality.tasks import run_behavior_tests
from sessions_app.models import Session, Turn
from sessions_app.services import customer_message_post
from sessions_app.tasks import respond_to_session
from tests.builders import make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    call_command("seed_demo")


def converse(session: Session, messages: list[str], capture) -> None:
    """Each message answered by the real turn task, in this thread."""
    for text in messages:
        with capture(execute=False):
            event = customer_message_post(session=session, message=text)
        respond_to_session.run(session.id, event.offset)


def greeting() -> Guideline:
    return Guideline.objects.get(
        tags__id=f"agent:{DEMO_AGENT_ID}", condition="the customer greets you"
    )


def test_a_turn_saved_as_a_test_proposes_what_the_turn_did(
    demo, admin_client, django_capture_on_commit_callbacks
):
    session = Session.objects.create(agent_id=DEMO_AGENT_ID, customer=make_customer())
    converse(
        session, ["Do you offer financing?", "Hello there!"], django_capture_on_commit_callbacks
    )
    turn = Turn.objects.filter(session=session).order_by("trigger_offset").last()
    url = reverse("admin:quality_agentworkbench_save_turn", args=[session.id, turn.trace_id])

    session_page = admin_client.get(reverse("admin:sessions_app_session_change", args=[session.id]))
    assert url in session_page.content.decode()
    assert "Hello there!" in admin_client.get(url).content.decode()

    response = admin_client.post(url, {"save_as_test": "1"})
    test = BehaviorTest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:quality_behaviortest_change", args=[test.pk])
    assert test.definition["message"] == "Hello there!"
    assert test.definition["conversation"][0] == {"customer": "Do you offer financing?"}
    assert list(test.definition["conversation"][1]) == ["agent"]
    assert test.definition["expect"]["guidelines_matched"] == [greeting().id]
    assert test.definition["expect"]["no_tool_call"] is True
    assert test.source_session_id == session.id
    change_page = admin_client.get(response["Location"]).content.decode()
    assert "guidelines_matched" in change_page


def test_the_editor_changes_a_saved_test_and_bad_yaml_is_refused_on_its_field(demo, admin_client):
    url = reverse("admin:quality_behaviortest_add")
    response = admin_client.post(
        url,
        {
            "agent": DEMO_AGENT_ID,
            "name": "t",
            "definition_text": "message: hi\nexpect: {handoff: maybe}",
        },
    )
    assert response.status_code == 200
    assert "test &#x27;t&#x27;.expect.handoff: expected true or false" in response.content.decode()
    response = admin_client.post(
        url,
        {
            "agent": DEMO_AGENT_ID,
            "name": "t",
            "definition_text": "message: hi\nexpect: {handoff: false}",
        },
    )
    assert response.status_code == 302
    assert BehaviorTest.objects.get().definition == {
        "message": "hi",
        "expect": {"handoff": False},
        "name": "t",
    }


def test_run_tests_in_the_background_and_read_failures_with_links(
    demo, admin_client, django_capture_on_commit_callbacks
):
    rule = greeting()
    BehaviorTest.objects.create(
        agent_id=DEMO_AGENT_ID,
        name="greeting",
        definition={
            "message": "Hello there!",
            "expect": {"guidelines_matched": [rule.id]},
        },
    )
    BehaviorTest.objects.create(
        agent_id=DEMO_AGENT_ID,
        name="financing",
        definition={"message": "Do you offer financing?", "expect": {"reply_contains": ["3.9%"]}},
    )
    # Guidelines match by meaning of their condition and examples: change both.
    rule.condition = "the customer asks about trucks"
    rule.examples = ["do you sell pickup trucks?"]
    rule.save()

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = admin_client.post(
            reverse("admin:quality_agentworkbench_run_start", args=[DEMO_AGENT_ID])
        )
    run = TestRun.objects.get()
    assert len(queued) == 1  # sent to the worker only after commit
    assert response["Location"] == reverse("admin:quality_agentworkbench_run", args=[run.id])
    status_url = reverse("admin:quality_agentworkbench_run_status", args=[run.id])
    assert admin_client.get(status_url).json()["is_done"] is False

    run_behavior_tests.run(run.id)
    run_behavior_tests.run(run.id)  # a repeated delivery finds the run claimed
    status = admin_client.get(status_url).json()
    assert status == {
        **status,
        "is_done": True,
        "total": 2,
        "completed": 2,
        "passed": 1,
        "failed": 1,
    }

    page = admin_client.get(response["Location"]).content.decode()
    guideline_url = reverse("admin:behavior_guideline_change", args=[rule.id])
    assert "FAILED · greeting" in page
    assert f'class="fix-link" href="{guideline_url}"' in page
    assert "the guideline did not match this message" in page
    tests_page = admin_client.get(
        reverse("admin:quality_agentworkbench_tests", args=[DEMO_AGENT_ID])
    )
    assert "Run again on this version" in tests_page.content.decode()


def test_the_test_chat_replies_with_its_explanation_and_saves_a_test(demo, admin_client):
    reply_url = reverse("admin:quality_agentworkbench_chat_reply", args=[DEMO_AGENT_ID])
    assert (
        admin_client.get(
            reverse("admin:quality_agentworkbench_chat", args=[DEMO_AGENT_ID])
        ).status_code
        == 200
    )
    data = admin_client.post(
        reply_url,
        json.dumps({"conversation": [], "message": "I'd like to book a test drive"}),
        content_type="application/json",
    ).json()
    assert "Aurora" in data["reply"][0]
    assert data["explanation"]["journeys"][0]["journey"] == "Schedule a test drive"
    journey_id = data["explanation"]["journeys"][0]["journey_id"]
    assert any(link["label"] == "journey Schedule a test drive" for link in data["links"])
    follow_up = admin_client.post(
        reply_url,
        json.dumps(
            {
                "conversation": [{"customer": "I'd like to book a test drive"}, *data["added"]],
                "message": "The Bolt please",
                "state": data["state"],
            }
        ),
        content_type="application/json",
    ).json()
    # One chat step per turn: with the model known, the journey moves on to asking for the day.
    ask_day = JourneyState.objects.get(action="ask which day suits them")
    assert follow_up["state"]["journey_paths"][journey_id][-1] == ask_day.id
    assert follow_up["explanation"]["journeys"][0]["to"] == ask_day.id
    assert follow_up["reply"]
    assert "Aurora" not in follow_up["reply"][0]  # the model question is not asked again
    saved = admin_client.post(
        reverse("admin:quality_agentworkbench_chat_save", args=[DEMO_AGENT_ID]),
        json.dumps(
            {
                "conversation": [{"customer": "I'd like to book a test drive"}, *data["added"]],
                "message": "The Bolt please",
                "trace": follow_up["trace"],
            }
        ),
        content_type="application/json",
    )
    assert saved.status_code == 201
    test = BehaviorTest.objects.get(pk=saved.json()["id"])
    assert test.definition["journey_state"] == {
        "journey": journey_id,
        "state": data["state"]["journey_paths"][journey_id][-1],
    }
    assert test.definition["expect"]["journey"]["journey"] == journey_id
    assert test.definition["expect"]["no_tool_call"] is True  # the check still lacks the day
    assert not Session.objects.exists()


def test_the_test_chat_refuses_bad_input_with_a_json_error(demo, admin_client):
    reply_url = reverse("admin:quality_agentworkbench_chat_reply", args=[DEMO_AGENT_ID])
    bad = admin_client.post(reply_url, "not json", content_type="application/json")
    assert bad.status_code == 400
    assert bad.json() == {"detail": "The body is not JSON."}
    empty = admin_client.post(
        reply_url, json.dumps({"message": " "}), content_type="application/json"
    )
    assert empty.status_code == 400
    odd = admin_client.post(
        reply_url,
        json.dumps({"message": "hi", "conversation": [{"robot": "x"}]}),
        content_type="application/json",
    )
    assert odd.status_code == 400
    assert "conversation[0]" in odd.json()["detail"]
    not_a_list = admin_client.post(
        reply_url, json.dumps({"message": "hi", "conversation": 5}), content_type="application/json"
    )
    assert not_a_list.status_code == 400


def test_insights_of_real_turns(
    demo, admin_client, django_capture_on_commit_callbacks, django_assert_num_queries
):
    ModelPrice.objects.create(model="local", prompt_per_1k=1, completion_per_1k=2)
    first = Session.objects.create(agent_id=DEMO_AGENT_ID, customer=make_customer())
    second = Session.objects.create(agent_id=DEMO_AGENT_ID, customer=make_customer(name="Lee <b>"))
    converse(
        first,
        ["Hello there!", "What is the weather on <i>Mars</i>?"],
        django_capture_on_commit_callbacks,
    )
    converse(
        second,
        ["I'd like to book a test drive", "I want to speak with a human"],
        django_capture_on_commit_callbacks,
    )
    assert TurnFacts.objects.count() == 4

    url = reverse("admin:quality_agentworkbench_insights", args=[DEMO_AGENT_ID])
    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(url).content.decode()
    page_queries = len(queries)  # read now: the next request resets the connection's log
    assert "Conversations: 2" in page
    assert "1 resolved without a human · 1 handed off" in page
    assert "What is the weather on &lt;i&gt;Mars&lt;/i&gt;?" in page
    assert reverse("admin:sessions_app_session_change", args=[first.id]) in page
    assert "When the customer asks about financing" in page  # never matched
    assert "<svg" in page
    journeys = page.split('id="journeys"')[1]
    assert "Schedule a test drive" in journeys
    assert "<td>1</td><td>0</td><td>1</td>" in journeys  # started, completed, abandoned
    # Where the customer left: the journey's first question, the one step said before the
    # customer asked for a human (a chat step is performed by saying it, one per turn).
    assert "ask which day suits them (1)" in journeys
    assert "p50" in page
    bad = admin_client.get(url, {"start": "yesterday"})
    assert bad.status_code == 200

    third = Session.objects.create(agent_id=DEMO_AGENT_ID, customer=make_customer())
    converse(third, ["Hi", "When are you open?", "Bye"], django_capture_on_commit_callbacks)
    with django_assert_num_queries(page_queries):  # the same queries, whatever the number of turns
        assert "Conversations: 3" in admin_client.get(url).content.decode()
