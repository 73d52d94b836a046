"""Turns the agent takes without a new customer message, cancellation, and trace ids.

Parlant's behaviours: a session created with allow_greeting opens with the agent's words; a
message event with source ai_agent makes the agent speak now, following given guidelines once;
a `cancelled` status event cancels the running turn (409 when none runs); every posted event
carries a trace id, and the agent's reply shares the trace of the message that caused it.
"""

import pytest

from behavior.models import agent_tag_id
from behavior.services import canned_response_create
from sessions_app.engine_adapter import TurnEventSink
from sessions_app.models import Event, Session, Turn
from sessions_app.services import turn_claim
from sessions_app.tasks import respond_to_session
from tests.builders import make_agent, make_guideline, make_session

pytestmark = pytest.mark.django_db


def agent_messages(session_id: str) -> list[Event]:
    return list(
        Event.objects.filter(session_id=session_id, kind="message", source="ai_agent").order_by(
            "offset"
        )
    )


@pytest.fixture
def otto() -> Session:
    agent = make_agent(name="Otto")
    make_guideline(agent, condition="the customer greets you", action="offer a refreshing drink")
    return agent


def test_allow_greeting_makes_the_agent_open_the_conversation(
    api_client, otto, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api_client.post(
            "/sessions?allow_greeting=true", {"agent_id": otto.id}, format="json"
        )
    assert response.status_code == 201
    session_id = response.json()["id"]
    assert len(callbacks) >= 1
    trigger = Event.objects.get(session_id=session_id)
    assert trigger.data["status"] == "acknowledged"
    respond_to_session.run(session_id, trigger.offset)
    replies = agent_messages(session_id)
    assert len(replies) == 1
    assert replies[0].data["message"].strip()
    assert Turn.objects.get(session_id=session_id).status == Turn.Status.COMPLETED


def test_without_allow_greeting_the_agent_waits_for_the_customer(
    api_client, otto, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api_client.post("/sessions", {"agent_id": otto.id}, format="json")
    assert callbacks == []
    assert Event.objects.filter(session_id=response.json()["id"]).count() == 0


def test_an_ai_agent_message_event_makes_the_agent_follow_the_given_guideline_once(
    api_client, otto, django_capture_on_commit_callbacks
):
    session = make_session(agent=otto)
    # The local provider says only approved text: the words for the instruction are a template.
    canned_response_create(
        value="Our showroom closes at six today.", tag_ids=[agent_tag_id(otto.id)]
    )
    action = "tell the customer that the showroom closes at six today"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api_client.post(
            f"/sessions/{session.id}/events",
            {"kind": "message", "source": "ai_agent",
             "guidelines": [{"action": action, "rationale": "follow_up"}]},
            format="json",
        )
    assert response.status_code == 201, response.content
    trigger = response.json()
    assert trigger["kind"] == "status"
    assert trigger["source"] == "ai_agent"
    assert trigger["trace_id"]
    assert len(callbacks) >= 1
    respond_to_session.run(session.id, trigger["offset"])
    replies = agent_messages(session.id)
    assert len(replies) == 1
    assert "six" in replies[0].data["message"].lower()
    assert replies[0].trace_id == trigger["trace_id"]


def test_an_ai_agent_message_cannot_carry_its_own_text(api_client, otto):
    session = make_session(agent=otto)
    response = api_client.post(
        f"/sessions/{session.id}/events",
        {"kind": "message", "source": "ai_agent", "message": "Hi!"},
        format="json",
    )
    assert response.status_code == 422
    assert "human_agent_on_behalf_of_ai_agent" in response.json()["detail"]


def test_cancelling_with_nothing_running_answers_409(api_client, otto):
    session = make_session(agent=otto)
    response = api_client.post(
        f"/sessions/{session.id}/events",
        {"kind": "status", "source": "customer", "status": "cancelled"},
        format="json",
    )
    assert response.status_code == 409
    assert "no turn in progress" in response.json()["detail"]
    assert Event.objects.filter(session=session).count() == 0


def test_cancelling_a_queued_turn_means_it_never_replies(
    api_client, otto, django_capture_on_commit_callbacks
):
    session = make_session(agent=otto)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = api_client.post(
            f"/sessions/{session.id}/events",
            {"kind": "message", "source": "customer", "message": "Hello there!"},
            format="json",
        ).json()
    cancelled = api_client.post(
        f"/sessions/{session.id}/events",
        {"kind": "status", "source": "customer", "status": "cancelled"},
        format="json",
    )
    assert cancelled.status_code == 201
    assert cancelled.json()["data"]["status"] == "cancelled"
    assert cancelled.json()["trace_id"] == message["trace_id"]
    assert len(callbacks) >= 1
    respond_to_session.run(session.id, message["offset"])
    assert agent_messages(session.id) == []


def test_cancelling_a_running_turn_stops_its_reply(
    api_client, otto, django_capture_on_commit_callbacks
):
    session = make_session(agent=otto)
    with django_capture_on_commit_callbacks(execute=False):
        message = api_client.post(
            f"/sessions/{session.id}/events",
            {"kind": "message", "source": "customer", "message": "Hello there!"},
            format="json",
        ).json()
    turn = turn_claim(session_id=session.id, trigger_offset=message["offset"])
    assert turn.trace_id == message["trace_id"]
    response = api_client.post(
        f"/sessions/{session.id}/events",
        {"kind": "status", "source": "customer", "status": "cancelled"},
        format="json",
    )
    assert response.status_code == 201
    turn.refresh_from_db()
    assert turn.status == Turn.Status.CANCELLED
    # The engine had already composed its reply: the sink refuses to post it.
    sink = TurnEventSink(
        session_id=session.id, trace_id=turn.trace_id, trigger_offset=turn.trigger_offset,
        turn_id=turn.id,
    )
    from asgiref.sync import async_to_sync

    from engine.types import EventKind, EventSource, NewEvent
    from sessions_app.services import StaleTurn

    with pytest.raises(StaleTurn):
        async_to_sync(sink.emit)(
            NewEvent(kind=EventKind.MESSAGE, source=EventSource.AI_AGENT, data={"message": "x"})
        )
    assert agent_messages(session.id) == []


def test_the_reply_shares_the_trace_of_the_message_that_caused_it(
    api_client, otto, django_capture_on_commit_callbacks
):
    session = make_session(agent=otto)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = api_client.post(
            f"/sessions/{session.id}/events",
            {"kind": "message", "source": "customer", "message": "Hello there!"},
            format="json",
        ).json()
    assert len(callbacks) >= 1
    respond_to_session.run(session.id, message["offset"])
    traced = api_client.get(
        f"/sessions/{session.id}/events?trace_id={message['trace_id']}&kinds=message"
        "&wait_for_data=0"
    ).json()
    assert [event["source"] for event in traced] == ["customer", "ai_agent"]
    assert traced[0]["correlation_id"] == traced[1]["correlation_id"] == message["trace_id"]


def test_custom_and_status_events_posted_by_clients_carry_a_trace_id(api_client, otto):
    session = make_session(agent=otto)
    for body in (
        {"kind": "custom", "source": "customer", "data": {"clicked": "buy"}},
        {"kind": "status", "source": "customer", "status": "typing"},
    ):
        event = api_client.post(f"/sessions/{session.id}/events", body, format="json").json()
        assert event["trace_id"]
        assert event["correlation_id"] == event["trace_id"]
