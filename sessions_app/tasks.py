"""Celery tasks: small, JSON arguments, idempotent."""

import logging

from asgiref.sync import async_to_sync
from celery import shared_task

from operations.log_context import turn_log_context
from sessions_app.engine_adapter import run_turn
from sessions_app.models import Session, Turn
from sessions_app.services import turn_claim, turn_finish
from sessions_app.turn_leases import turn_has_reply

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def respond_to_session(session_id: str, trigger_offset: int) -> None:
    """Run one agent turn answering the customer message at trigger_offset.

    A repeated delivery, or a delivery for a message that a newer turn covers, is a no-op; a
    deleted session is skipped quietly. A delivery for a turn whose worker died (its lease
    lapsed) takes the turn over.
    """
    try:
        turn = turn_claim(session_id=session_id, trigger_offset=trigger_offset)
    except Session.DoesNotExist:
        return
    if turn is None:
        return
    with turn_log_context(turn):
        if turn.attempts > 1 and turn_has_reply(
            session_id=turn.session_id, trace_id=turn.trace_id
        ):
            # The lost worker got the reply out before it died: finish, never answer twice.
            turn_finish(
                turn_id=turn.id,
                status=Turn.Status.COMPLETED,
                trace={"recovered": "the reply was posted before its worker was lost"},
                attempt=turn.attempts,
            )
            return
        logger.info("turn started", extra={"trigger_offset": trigger_offset})
        async_to_sync(run_turn)(turn=turn)
