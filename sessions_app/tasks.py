"""Celery tasks: small, JSON arguments, idempotent."""

from asgiref.sync import async_to_sync
from celery import shared_task

from sessions_app.engine_adapter import run_turn
from sessions_app.models import Session
from sessions_app.services import turn_claim


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
    async_to_sync(run_turn)(turn=turn)
