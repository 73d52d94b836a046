"""A turn outlives its worker: the lease, the takeover, exactly one reply, the sweep."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from sessions_app.engine_adapter import run_turn
from sessions_app.models import Event, Session, Turn
from sessions_app.services import customer_message_post, turn_claim
from sessions_app.sweeper import turns_sweep
from sessions_app.tasks import respond_to_session
from sessions_app.turn_leases import TurnLeaseLost, turn_reply_append
from tests.builders import make_agent, make_guideline, make_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def session() -> Session:
    agent = make_agent(name="Otto")
    make_guideline(agent, condition="the customer greets you", action="offer a refreshing drink")
    return make_session(agent=agent)


@pytest.fixture
def brokered(settings):
    """The distributed hand-over, with the in-memory broker instead of Redis."""
    settings.PARLANT_INPROCESS_WORKER = False
    return settings


def post(session: Session, text: str, capture) -> Event:
    with capture(execute=False):
        return customer_message_post(session=session, message=text)


def lapse(turn: Turn) -> None:
    Turn.objects.filter(pk=turn.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))


def agent_replies(session: Session) -> list[Event]:
    return list(session.events.filter(kind="message", source="ai_agent"))


def test_a_live_lease_keeps_the_turn_with_its_worker(session, django_capture_on_commit_callbacks):
    message = post(session, "Hello!", django_capture_on_commit_callbacks)
    first = turn_claim(session_id=session.id, trigger_offset=message.offset)
    assert first is not None
    assert first.lease_expires_at > timezone.now()
    assert turn_claim(session_id=session.id, trigger_offset=message.offset) is None


def test_a_lapsed_lease_is_taken_over_and_the_dead_worker_cannot_reply(
    session, django_capture_on_commit_callbacks
):
    message = post(session, "Hello!", django_capture_on_commit_callbacks)
    dead = turn_claim(session_id=session.id, trigger_offset=message.offset)
    lapse(dead)
    successor = turn_claim(session_id=session.id, trigger_offset=message.offset)
    assert successor is not None
    assert (successor.pk, successor.attempts) == (dead.pk, 2)

    reply = {"message": "late", "participant": {"id": "otto", "display_name": "Otto"}}
    with pytest.raises(TurnLeaseLost):
        turn_reply_append(
            turn_id=dead.id, attempt=dead.attempts, session_id=session.id,
            trace_id=dead.trace_id, trigger_offset=message.offset, data=reply,
        )
    async_to_sync(run_turn)(turn=successor)
    assert len(agent_replies(session)) == 1
    successor.refresh_from_db()
    assert successor.status == Turn.Status.COMPLETED
    offsets = list(session.events.values_list("offset", flat=True).order_by("offset"))
    assert offsets == list(range(len(offsets)))


def test_a_reply_posted_before_the_worker_died_is_not_repeated(
    session, django_capture_on_commit_callbacks
):
    message = post(session, "Hello!", django_capture_on_commit_callbacks)
    respond_to_session.run(session.id, message.offset)
    turn = Turn.objects.get(session=session)
    # The worker died after its reply but before it recorded the turn as finished.
    Turn.objects.filter(pk=turn.pk).update(status=Turn.Status.RUNNING)
    lapse(turn)
    respond_to_session.run(session.id, message.offset)
    turn.refresh_from_db()
    assert turn.status == Turn.Status.COMPLETED
    assert turn.attempts == 2
    assert len(agent_replies(session)) == 1


def test_the_sweep_resends_a_hand_over_the_broker_never_got(
    session, brokered, django_capture_on_commit_callbacks
):
    brokered.PARLANT_TURN_HANDOVER_GRACE_SECONDS = 0
    message = post(session, "Hello!", django_capture_on_commit_callbacks)
    session.refresh_from_db()
    assert session.requested_offset == message.offset
    report = turns_sweep()
    assert report.resent_handovers == 1
    assert turns_sweep().resent_handovers == 1  # still unclaimed: due again
    respond_to_session.run(session.id, message.offset)
    assert turns_sweep().resent_handovers == 0
    assert len(agent_replies(session)) == 1


def test_the_sweep_resumes_a_lapsed_turn_then_gives_up_with_an_error_status(
    session, brokered, settings, django_capture_on_commit_callbacks
):
    settings.PARLANT_TURN_MAX_ATTEMPTS = 2
    message = post(session, "Hello!", django_capture_on_commit_callbacks)
    turn = turn_claim(session_id=session.id, trigger_offset=message.offset)
    lapse(turn)
    assert turns_sweep().resumed_turns == 1
    turn_claim(session_id=session.id, trigger_offset=message.offset)  # the second worker...
    lapse(turn)  # ...dies too
    with django_capture_on_commit_callbacks(execute=False):
        assert turns_sweep().given_up_turns == 1
    turn.refresh_from_db()
    assert turn.status == Turn.Status.FAILED
    error = session.events.get(kind="status", data__status="error")
    assert error.trace_id == turn.trace_id
    assert turn_claim(session_id=session.id, trigger_offset=message.offset) is None


def test_a_lapsed_turn_whose_conversation_moved_on_is_cancelled(
    session, brokered, django_capture_on_commit_callbacks
):
    first = post(session, "Hello!", django_capture_on_commit_callbacks)
    turn = turn_claim(session_id=session.id, trigger_offset=first.offset)
    lapse(turn)
    second = post(session, "Anyone there?", django_capture_on_commit_callbacks)
    assert turn_claim(session_id=session.id, trigger_offset=second.offset) is not None
    assert turns_sweep().cancelled_turns == 1
    turn.refresh_from_db()
    assert turn.status == Turn.Status.CANCELLED
