"""A turn end to end inside one process: message in, statuses and the agent's reply out."""

import pytest

from sessions_app.models import Event, Session, Turn
from sessions_app.services import customer_message_post, session_handoff
from sessions_app.tasks import respond_to_session
from tests.builders import make_agent, make_greeting, make_session

pytestmark = pytest.mark.django_db


def agent_messages(session: Session) -> list[Event]:
    return list(session.events.filter(kind="message", source="ai_agent").order_by("offset"))


def statuses(session: Session) -> list[str]:
    return [
        event.data["status"] for event in session.events.filter(kind="status").order_by("offset")
    ]


@pytest.fixture
def greeting_session() -> Session:
    agent = make_agent(name="Otto")
    make_greeting(agent)
    return make_session(agent=agent)


def post(session: Session, text: str, django_capture_on_commit_callbacks) -> Event:
    # Capture without executing: the test runs the task itself, in this thread's transaction.
    with django_capture_on_commit_callbacks(execute=False):
        return customer_message_post(session=session, message=text)


def test_it_answers_a_greeting_by_offering_a_drink(
    greeting_session, django_capture_on_commit_callbacks
):
    message = post(greeting_session, "Hello there!", django_capture_on_commit_callbacks)
    respond_to_session.run(greeting_session.id, message.offset)
    replies = agent_messages(greeting_session)
    assert len(replies) == 1
    assert "drink" in replies[0].data["message"].lower()
    assert replies[0].data["participant"]["display_name"] == "Otto"
    assert statuses(greeting_session) == ["acknowledged", "processing", "typing", "ready"]
    turn = Turn.objects.get(session=greeting_session)
    assert turn.status == Turn.Status.COMPLETED
    assert replies[0].trace_id == turn.trace_id


def test_it_queues_the_turn_only_after_commit(greeting_session, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        customer_message_post(session=greeting_session, message="Hi")
        assert agent_messages(greeting_session) == []
    assert len(callbacks) == 2  # the broadcast and the turn


def test_a_repeated_delivery_makes_no_second_reply(
    greeting_session, django_capture_on_commit_callbacks
):
    message = post(greeting_session, "Hi!", django_capture_on_commit_callbacks)
    respond_to_session.run(greeting_session.id, message.offset)
    respond_to_session.run(greeting_session.id, message.offset)
    assert len(agent_messages(greeting_session)) == 1
    assert Turn.objects.filter(session=greeting_session).count() == 1


def test_a_newer_message_makes_the_stale_turn_give_way(
    greeting_session, django_capture_on_commit_callbacks
):
    first = post(greeting_session, "Hi!", django_capture_on_commit_callbacks)
    second = post(
        greeting_session, "Actually, what about financing?", django_capture_on_commit_callbacks
    )
    respond_to_session.run(greeting_session.id, first.offset)  # runs, but must not reply
    assert agent_messages(greeting_session) == []
    respond_to_session.run(greeting_session.id, second.offset)
    replies = agent_messages(greeting_session)
    assert len(replies) == 1
    assert replies[0].offset > second.offset


def test_a_late_delivery_for_an_older_message_is_a_no_op(
    greeting_session, django_capture_on_commit_callbacks
):
    first = post(greeting_session, "Hi!", django_capture_on_commit_callbacks)
    second = post(greeting_session, "Hello again", django_capture_on_commit_callbacks)
    respond_to_session.run(greeting_session.id, second.offset)
    respond_to_session.run(greeting_session.id, first.offset)
    assert len(agent_messages(greeting_session)) == 1


def test_the_agent_stays_silent_in_manual_mode(
    greeting_session, django_capture_on_commit_callbacks
):
    session_handoff(session_id=greeting_session.id, mode=Session.Mode.MANUAL)
    greeting_session.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = customer_message_post(session=greeting_session, message="Hi!")
    assert len(callbacks) == 1  # only the broadcast: no turn is queued
    respond_to_session.run(greeting_session.id, message.offset)
    assert agent_messages(greeting_session) == []


def test_a_deleted_session_is_skipped_quietly():
    respond_to_session.run("no-such-session", 0)
    assert not Turn.objects.exists()
