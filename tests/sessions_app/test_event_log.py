"""The event log: gap-free offsets from 0, also under concurrent writers."""

import threading

import pytest
from django.db import close_old_connections, connection

from sessions_app.models import Event
from sessions_app.services import StaleTurn, event_append, events_delete_from
from tests.builders import make_session


@pytest.mark.django_db
def test_it_numbers_events_from_zero_without_gaps():
    session = make_session()
    offsets = [
        event_append(session_id=session.id, kind="custom", source="system", data={"n": n}).offset
        for n in range(5)
    ]
    assert offsets == [0, 1, 2, 3, 4]


@pytest.mark.django_db
def test_it_refuses_an_unknown_session():
    from sessions_app.models import Session

    with pytest.raises(Session.DoesNotExist):
        event_append(session_id="nope", kind="custom", source="system", data={})


@pytest.mark.django_db
def test_it_refuses_a_reply_once_the_customer_wrote_again():
    session = make_session()
    first = event_append(session_id=session.id, kind="message", source="customer", data={})
    event_append(session_id=session.id, kind="message", source="customer", data={})
    with pytest.raises(StaleTurn):
        event_append(
            session_id=session.id,
            kind="message",
            source="ai_agent",
            data={},
            unless_newer_customer_message_than=first.offset,
        )
    assert Event.objects.filter(session=session).count() == 2


@pytest.mark.django_db
def test_deleting_events_lets_the_log_continue_without_a_gap():
    session = make_session()
    for _ in range(4):
        event_append(session_id=session.id, kind="custom", source="system", data={})
    events_delete_from(session_id=session.id, min_offset=2)
    appended = event_append(session_id=session.id, kind="custom", source="system", data={})
    assert appended.offset == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_get_distinct_consecutive_offsets():
    """Many threads append at once; on PostgreSQL this exercises the row lock for real."""
    session = make_session()
    writers, per_writer = 8, 15
    failures: list[BaseException] = []
    barrier = threading.Barrier(writers)

    def write() -> None:
        try:
            barrier.wait()
            for n in range(per_writer):
                event_append(session_id=session.id, kind="custom", source="system", data={"n": n})
        except BaseException as error:  # noqa: BLE001  (reported to the main thread)
            failures.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    offsets = list(Event.objects.filter(session=session).values_list("offset", flat=True))
    assert sorted(offsets) == list(range(writers * per_writer))
