"""Celery tasks of the quality app: small, ids only, idempotent."""

from celery import shared_task

from quality.services import behavior_test_run_execute


@shared_task(acks_late=True)
def run_behavior_tests(run_id: str) -> None:
    """Run a queued test run; a repeated delivery finds it claimed and does nothing."""
    behavior_test_run_execute(run_id=run_id)
