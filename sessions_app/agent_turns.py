"""Turns the agent takes without a new customer message, and cancelling a running turn.

Parlant lets a client ask the agent to speak now (a message event with source `ai_agent`: after
a human hands a session back, or with guidelines to follow once), lets a new session open with
the agent's greeting, and cancels a running turn with a `cancelled` status event.

A requested turn is triggered by an `acknowledged` status event that carries the request; the
worker claims it by that event's offset exactly like a turn answering a customer message.
"""

from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from parlant_site.ids import new_id
from sessions_app.models import Event, Session, Turn
from sessions_app.services import event_append

# Key in the trigger event's data that lists the actions the agent was asked to follow once.
REQUESTED_ACTIONS_KEY = "requested_actions"


class NothingToCancel(Exception):
    """A cancellation was asked for, but the session has no turn running or waiting."""


def agent_turn_request(
    *, session: Session, actions: list[str] | None = None, reason: str = "requested"
) -> Event:
    """Ask the agent to take a turn now; returns the event that triggers it.

    `actions` are followed in this turn only. In manual mode the turn still runs and stays
    silent, as every turn does while a human holds the session.
    """
    from sessions_app.tasks import respond_to_session
    from sessions_app.worker import send_on_commit

    data: dict[str, Any] = {"status": "acknowledged", "data": {"reason": reason}}
    if actions:
        data["data"][REQUESTED_ACTIONS_KEY] = list(actions)
    with transaction.atomic():
        trigger = event_append(
            session_id=session.id,
            kind=Event.Kind.STATUS,
            source=Event.Source.AI_AGENT,
            data=data,
            trace_id=new_id(),
        )
        send_on_commit(respond_to_session, session.id, trigger.offset)
    return trigger


def requested_actions(trigger_data: Any) -> tuple[str, ...]:
    """The actions a turn's trigger event asked the agent to follow, if any."""
    if not isinstance(trigger_data, dict) or not isinstance(trigger_data.get("data"), dict):
        return ()
    actions = trigger_data["data"].get(REQUESTED_ACTIONS_KEY) or ()
    return tuple(str(action) for action in actions)


@transaction.atomic
def turn_cancel(*, session_id: str, source: str, metadata: dict | None = None) -> Event:
    """Cancel the session's running turn (or the one queued to run) and say so.

    The session row is locked first, the same lock under which a turn appends its reply
    (`engine_adapter.TurnEventSink`), so a reply either lands before the cancellation or never.
    Raises NothingToCancel when no turn is running or waiting.
    """
    session = Session.objects.select_for_update().get(pk=session_id)
    # A turn that said "ready" has answered; only its bookkeeping is left, nothing to cancel.
    answered = Event.objects.filter(
        session_id=session_id,
        kind=Event.Kind.STATUS,
        source=Event.Source.AI_AGENT,
        trace_id=OuterRef("trace_id"),
        offset__gt=OuterRef("trigger_offset"),
        data__status="ready",
    )
    in_progress = Turn.objects.filter(session_id=session_id, status=Turn.Status.RUNNING).exclude(
        Exists(answered)
    )
    running = list(in_progress.values_list("trace_id", flat=True))
    Turn.objects.filter(pk__in=list(in_progress.values_list("pk", flat=True))).update(
        status=Turn.Status.CANCELLED, finished_at=timezone.now()
    )
    latest_trigger = (
        Event.objects.filter(session_id=session_id, offset__gt=session.claimed_offset)
        .filter(_turn_triggers())
        .order_by("-offset")
        .values_list("offset", "trace_id")
        .first()
    )
    if latest_trigger is not None and session.mode == Session.Mode.AUTO:
        # A turn is queued but not claimed yet: claiming its trigger now means it never runs.
        Session.objects.filter(pk=session_id, claimed_offset__lt=latest_trigger[0]).update(
            claimed_offset=latest_trigger[0]
        )
        running.append(latest_trigger[1])
    if not running:
        raise NothingToCancel(f"Session {session_id} has no turn in progress to cancel.")
    cancelled = event_append(
        session_id=session_id,
        kind=Event.Kind.STATUS,
        source=source,
        data={"status": "cancelled", "data": {}},
        trace_id=running[-1],
        metadata=metadata,
    )
    event_append(
        session_id=session_id,
        kind=Event.Kind.STATUS,
        source=Event.Source.AI_AGENT,
        data={"status": "ready", "data": {}},
        trace_id=running[-1],
    )
    return cancelled


def _turn_triggers() -> Q:
    """Events that start a turn: customer messages and requested-turn acknowledgements."""
    return Q(kind=Event.Kind.MESSAGE, source=Event.Source.CUSTOMER) | Q(
        kind=Event.Kind.STATUS,
        source=Event.Source.AI_AGENT,
        data__status="acknowledged",
        data__data__reason__isnull=False,
    )
