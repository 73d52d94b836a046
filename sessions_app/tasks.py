"""Celery tasks: small, JSON arguments, idempotent."""

import logging

from asgiref.sync import async_to_sync
from celery import shared_task

from operations.log_context import turn_log_context
from sessions_app.engine_adapter import run_turn
from sessions_app.models import Session
from sessions_app.services import turn_claim

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def respond_to_session(session_id: str, trigger_offset: int) -> None:
    """Run one agent turn answering the customer message at trigger_offset.

    A repeated delivery, or a delivery for a message that a newer turn covers, is a no-op; a
    deleted session is skipped quietly.
    """
    try:
        turn = turn_claim(session_id=session_id, trigger_offset=trigger_offset)
    except Session.DoesNotExist:
        return
    if turn is None:
        return
    with turn_log_context(turn):
        logger.info("turn started", extra={"trigger_offset": trigger_offset})
        async_to_sync(run_turn)(turn=turn)
