"""Writes for customers, sessions and events: views, admin, tasks and the engine call these."""

from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from behavior.models import Agent, Tag
from operations.metrics import record_turn_finished
from parlant_site.ids import new_id
from sessions_app.broadcast import broadcast_event, event_payload
from sessions_app.models import (
    GUEST_CUSTOMER_ID,
    ApiKey,
    Customer,
    Event,
    Session,
    Turn,
    hash_api_key,
)


class StaleTurn(Exception):
    """A newer customer message arrived, so the turn's reply would answer a stale conversation."""


def customer_create(
    *,
    name: str,
    customer_id: str | None = None,
    metadata: dict | None = None,
    tag_ids: list[str] | None = None,
) -> Customer:
    customer = Customer.objects.create(
        id=customer_id or new_id(), name=name, metadata=metadata or {}
    )
    if tag_ids:
        customer.tags.set(Tag.objects.filter(pk__in=tag_ids))
    return customer


def guest_customer() -> Customer:
    """The customer that sessions without one belong to, as in Parlant."""
    customer, _ = Customer.objects.get_or_create(pk=GUEST_CUSTOMER_ID, defaults={"name": "Guest"})
    return customer


def session_create(
    *,
    agent: Agent,
    customer: Customer | None = None,
    title: str = "",
    metadata: dict | None = None,
    labels: list[str] | None = None,
) -> Session:
    return Session.objects.create(
        agent=agent,
        customer=customer or guest_customer(),
        title=title,
        metadata=metadata or {},
        labels=sorted(set(labels or [])),
    )


@transaction.atomic
def event_append(
    *,
    session_id: str,
    kind: str,
    source: str,
    data: dict[str, Any],
    trace_id: str = "",
    metadata: dict[str, Any] | None = None,
    unless_newer_customer_message_than: int | None = None,
) -> Event:
    """Append one event at the session's next offset and broadcast it after commit.

    The UPDATE comes first so it takes the session row lock (PostgreSQL) or the write lock
    (SQLite) before the offset is read: concurrent writers get consecutive offsets, never the same
    one. The unique constraint on (session, offset) is the backstop.

    With `unless_newer_customer_message_than=N` the append is refused with StaleTurn when a
    customer message newer than offset N exists; the check runs under the same lock, so a turn
    can never post a reply to a conversation that has moved on.
    """
    if not Session.objects.filter(pk=session_id).update(
        next_offset=F("next_offset") + 1, updated_at=timezone.now()
    ):
        raise Session.DoesNotExist(f"Session {session_id} does not exist")
    if (
        unless_newer_customer_message_than is not None
        and Event.objects.filter(
            session_id=session_id,
            kind=Event.Kind.MESSAGE,
            source=Event.Source.CUSTOMER,
            offset__gt=unless_newer_customer_message_than,
        ).exists()
    ):
        raise StaleTurn(session_id)
    offset = Session.objects.values_list("next_offset", flat=True).get(pk=session_id) - 1
    event = Event.objects.create(
        session_id=session_id,
        offset=offset,
        kind=kind,
        source=source,
        data=data,
        trace_id=trace_id,
        metadata=metadata or {},
    )
    transaction.on_commit(partial(broadcast_event, session_id, event_payload(event)))
    return event


@transaction.atomic
def event_data_replace(*, session_id: str, offset: int, data: dict[str, Any]) -> Event:
    """Replace an event's data in place (a streamed message growing) and broadcast the new state."""
    event = Event.objects.select_for_update().get(session_id=session_id, offset=offset)
    event.data = data
    event.save(update_fields=["data"])
    transaction.on_commit(partial(broadcast_event, session_id, event_payload(event)))
    return event


def customer_message_post(
    *,
    session: Session,
    message: str,
    participant: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    source: str = Event.Source.CUSTOMER,
    flagged: bool = False,
    moderation_tags: list[str] | None = None,
) -> Event:
    """Record a customer's message and, in auto mode, queue the agent's turn after commit."""
    from sessions_app.tasks import respond_to_session as respond_to_session_task
    from sessions_app.worker import send_on_commit

    customer = session.customer
    data: dict[str, Any] = {
        "message": message,
        "participant": participant or {"id": customer.id, "display_name": customer.name},
        "flagged": flagged,
        "tags": moderation_tags or [],
    }
    with transaction.atomic():
        event = event_append(
            session_id=session.id,
            kind=Event.Kind.MESSAGE,
            source=source,
            data=data,
            trace_id=new_id(),
            metadata=metadata,
        )
        if session.mode == Session.Mode.AUTO:
            # The durable half of the hand-over, in the message's own transaction: should the
            # task below never reach a worker, the sweeper still finds this request.
            Session.objects.filter(pk=session.id).update(
                requested_offset=event.offset, turn_requested_at=timezone.now()
            )
            send_on_commit(respond_to_session_task, session.id, event.offset)
    return event


def staff_message_post(
    *,
    session: Session,
    message: str,
    source: str,
    participant: dict[str, Any],
    metadata: dict[str, Any] | None = None,
) -> Event:
    """A human's message: from a human agent, or sent by one on behalf of the AI agent."""
    return event_append(
        session_id=session.id,
        kind=Event.Kind.MESSAGE,
        source=source,
        data={"message": message, "participant": participant},
        trace_id=new_id(),
        metadata=metadata,
    )


@transaction.atomic
def events_delete_from(*, session_id: str, min_offset: int) -> int:
    """Delete the events at min_offset and after; later events continue from the first gap."""
    session = Session.objects.select_for_update().get(pk=session_id)
    deleted, _ = Event.objects.filter(session_id=session_id, offset__gte=min_offset).delete()
    if min_offset < session.next_offset:
        Session.objects.filter(pk=session_id).update(next_offset=min_offset)
    return deleted


@transaction.atomic
def turn_claim(*, session_id: str, trigger_offset: int) -> Turn | None:
    """Claim the turn that answers the customer message at `trigger_offset`, with a lease.

    A compare-and-set on the session: only the first delivery of the newest trigger wins. A
    later delivery of the same trigger takes the turn over only when the lease of the worker
    that claimed it has lapsed (that worker died) and attempts remain; it gets the turn with
    `attempts` raised. Anything else (a repeated delivery while the turn is alive or finished,
    a late one for a message that a newer turn covers, a session in manual mode) gets None.
    """
    now = timezone.now()
    lease_until = now + timedelta(seconds=settings.PARLANT_TURN_LEASE_SECONDS)
    claimed = Session.objects.filter(
        pk=session_id, claimed_offset__lt=trigger_offset, mode=Session.Mode.AUTO
    ).update(
        claimed_offset=trigger_offset,
        turn_requested_at=Case(
            When(requested_offset__lte=trigger_offset, then=Value(None)),
            default=F("turn_requested_at"),
        ),
    )
    if claimed:
        # The turn shares the trace of the event that triggered it, so the reply can be tied to
        # the message that caused it (GET /sessions/{id}/events?trace_id=…), as in Parlant.
        trigger_trace = (
            Event.objects.filter(session_id=session_id, offset=trigger_offset)
            .values_list("trace_id", flat=True)
            .first()
        )
        turn, created = Turn.objects.get_or_create(
            session_id=session_id,
            trigger_offset=trigger_offset,
            defaults={"trace_id": trigger_trace or new_id(), "lease_expires_at": lease_until},
        )
        if created:
            return turn
    taken_over = Turn.objects.filter(
        session_id=session_id,
        trigger_offset=trigger_offset,
        status=Turn.Status.RUNNING,
        lease_expires_at__lt=now,
        attempts__lt=settings.PARLANT_TURN_MAX_ATTEMPTS,
        session__mode=Session.Mode.AUTO,
        session__claimed_offset=trigger_offset,
    ).update(lease_expires_at=lease_until, attempts=F("attempts") + 1)
    if not taken_over:
        return None
    return Turn.objects.get(session_id=session_id, trigger_offset=trigger_offset)


def turn_finish(
    *, turn_id: str, status: str, trace: dict[str, Any], attempt: int | None = None
) -> bool:
    """Record how a turn ended; with `attempt`, only if no later worker has taken it over."""
    from quality.services import turn_facts_record

    turns = Turn.objects.filter(pk=turn_id)
    if attempt is not None:
        turns = turns.filter(attempts=attempt, status=Turn.Status.RUNNING)
    with transaction.atomic():
        finished = bool(
            turns.update(
                status=status, trace=trace, finished_at=timezone.now(), lease_expires_at=None
            )
        )
        if finished and status == Turn.Status.COMPLETED:
            # The insights page sums these rows instead of reading every trace.
            turn_facts_record(turn_id=turn_id, trace=trace)
    if finished:
        record_turn_finished(turn_id=turn_id, status=status, trace=trace)
    return finished


def session_agent_state_save(*, session_id: str, agent_state: dict[str, Any]) -> None:
    Session.objects.filter(pk=session_id).update(agent_state=agent_state)


# --- Handoff and API keys (issue 5) -------------------------------------------------------------


def session_handoff(*, session_id: str, mode: str, operator: Any = None) -> None:
    """Switch a session's mode and record who holds it.

    `manual` with an operator: that operator holds it (take over). `manual` without one: it waits
    for a human. `auto`: the agent answers again and nobody holds it (hand back). Watchers of
    the session and every operator dashboard hear of the change after commit.
    """
    from inbox.services import handoff_line
    from sessions_app.broadcast import OPERATORS_GROUP, send_to_group, session_group

    held_by = operator if mode == Session.Mode.MANUAL else None
    changes: dict[str, Any] = {"mode": mode, "held_by": held_by, "updated_at": timezone.now()}
    if mode == Session.Mode.MANUAL:
        changes["turn_requested_at"] = None  # a human answers now: nothing left to hand over
    with transaction.atomic():
        before = Session.objects.select_for_update().filter(pk=session_id).values(
            "mode", "held_by_id"
        ).first()
        if before is None or not Session.objects.filter(pk=session_id).update(**changes):
            raise Session.DoesNotExist(f"Session {session_id} does not exist")
        # The customer reads who answers them now in their own timeline.
        handoff_line(
            session_id=session_id, was_mode=before["mode"], was_held_by_id=before["held_by_id"],
            mode=mode, operator=held_by,
        )
    message = {"type": "session.changed", "session_id": session_id}
    transaction.on_commit(partial(send_to_group, session_group(session_id), message))
    transaction.on_commit(
        partial(send_to_group, OPERATORS_GROUP, {**message, "type": "dashboard.activity"})
    )


def api_key_create(*, name: str, role: str) -> tuple[ApiKey, str]:
    """Create an API key; the raw key is returned once and never stored."""
    raw_key = ApiKey.generate_raw_key()
    api_key = ApiKey.objects.create(
        name=name, role=role, prefix=raw_key[:10], key_hash=hash_api_key(raw_key)
    )
    return api_key, raw_key


def api_key_revoke(*, api_key_id: str) -> None:
    ApiKey.objects.filter(pk=api_key_id, revoked_at__isnull=True).update(revoked_at=timezone.now())


@transaction.atomic
def event_metadata_update(
    *, session_id: str, event_id: str, set_values: dict[str, Any], unset_keys: list[str]
) -> Event:
    """Change only an event's metadata (its content is append-only) and broadcast it."""
    event = Event.objects.select_for_update().get(session_id=session_id, pk=event_id)
    event.metadata.update(set_values)
    for key in unset_keys:
        event.metadata.pop(key, None)
    event.save(update_fields=["metadata"])
    transaction.on_commit(partial(broadcast_event, session_id, event_payload(event)))
    return event
