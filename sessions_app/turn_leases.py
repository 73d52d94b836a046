"""Turn leases: a running turn belongs to its worker only while that worker keeps renewing it.

A worker that dies mid-turn stops renewing; once the lease lapses, a redelivered or re-sent task
takes the turn over (services.turn_claim). What keeps the customer at exactly one reply is
here: a reply is appended only by the lease's current holder and only if the turn has none yet.
"""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from sessions_app.models import Event, Turn
from sessions_app.services import StaleTurn, event_append, turn_finish


class TurnLeaseLost(StaleTurn):
    """Another worker holds the turn now (this one was presumed dead), or it has its reply."""


def lease_deadline() -> Any:
    return timezone.now() + timedelta(seconds=settings.PARLANT_TURN_LEASE_SECONDS)


def turn_lease_renew(*, turn_id: str, attempt: int) -> bool:
    """Extend the lease of a running turn; False once another worker has taken it over."""
    return bool(
        Turn.objects.filter(pk=turn_id, attempts=attempt, status=Turn.Status.RUNNING).update(
            lease_expires_at=lease_deadline()
        )
    )


def turn_has_reply(*, session_id: str, trace_id: str) -> bool:
    return Event.objects.filter(
        session_id=session_id,
        trace_id=trace_id,
        kind=Event.Kind.MESSAGE,
        source=Event.Source.AI_AGENT,
    ).exists()


@transaction.atomic
def turn_reply_append(
    *,
    turn_id: str,
    attempt: int,
    session_id: str,
    trace_id: str,
    trigger_offset: int,
    data: dict[str, Any],
) -> Event:
    """Append the turn's reply if this worker still holds the turn and no reply exists yet.

    The turn row is locked first, so a takeover cannot slip between the check and the append.
    """
    holds_turn = (
        Turn.objects.select_for_update()
        .filter(pk=turn_id, attempts=attempt, status=Turn.Status.RUNNING)
        .exists()
    )
    if not holds_turn or turn_has_reply(session_id=session_id, trace_id=trace_id):
        raise TurnLeaseLost(session_id)
    return event_append(
        session_id=session_id,
        kind=Event.Kind.MESSAGE,
        source=Event.Source.AI_AGENT,
        data=data,
        trace_id=trace_id,
        unless_newer_customer_message_than=trigger_offset,
    )


def turn_give_up(*, turn: Turn, reason: str) -> bool:
    """End a turn that cannot finish with an error status event, so the customer is not left
    waiting in silence. Only the first caller for this attempt does it."""
    with transaction.atomic():
        if not turn_finish(
            turn_id=turn.id,
            status=Turn.Status.FAILED,
            trace={"error": reason},
            attempt=turn.attempts,
        ):
            return False
        event_append(
            session_id=turn.session_id,
            kind=Event.Kind.STATUS,
            source=Event.Source.AI_AGENT,
            data={"status": "error", "data": {"exception": "TurnAbandoned", "reason": reason}},
            trace_id=turn.trace_id,
        )
    return True
