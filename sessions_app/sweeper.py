"""Finds turns that nobody is running and hands them to a worker again.

Two things can go missing between a customer's message and its reply:
- the hand-over: the message is stored but its task never reached a worker (the broker was down
  when the request committed, the broker lost its queue, the worker holding it died before
  claiming); Session.requested_offset > claimed_offset says so;
- the turn: a worker claimed it and died; its lease lapses.
Every Celery worker runs this sweep on a thread (parlant_site/celery.py); `manage.py sweep_turns`
runs it once. Re-sending is safe because turn_claim is a compare-and-set: extra deliveries are
no-ops.
"""

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections
from django.db.models import F
from django.utils import timezone

from sessions_app.models import Session, Turn
from sessions_app.services import turn_finish
from sessions_app.turn_leases import turn_give_up

logger = logging.getLogger(__name__)

# Rows handled per sweep; a backlog larger than this drains over the following sweeps.
SWEEP_BATCH = 200


@dataclass
class SweepReport:
    resent_handovers: int = 0
    resumed_turns: int = 0
    given_up_turns: int = 0
    cancelled_turns: int = 0


def turns_sweep() -> SweepReport:
    from sessions_app.tasks import respond_to_session
    from sessions_app.worker import send_now

    report = SweepReport()
    now = timezone.now()
    overdue = now - timedelta(seconds=settings.PARLANT_TURN_HANDOVER_GRACE_SECONDS)
    waiting = Session.objects.filter(
        mode=Session.Mode.AUTO,
        turn_requested_at__lt=overdue,
        requested_offset__gt=F("claimed_offset"),
    ).values_list("id", "requested_offset", "turn_requested_at")[:SWEEP_BATCH]
    for session_id, offset, requested_at in list(waiting):
        # Restart the grace period first, so concurrent sweepers send it once between them.
        if not Session.objects.filter(pk=session_id, turn_requested_at=requested_at).update(
            turn_requested_at=now
        ):
            continue
        if send_now(respond_to_session, session_id, offset):
            report.resent_handovers += 1
        else:  # the broker is still away: due again at the next sweep
            Session.objects.filter(pk=session_id, turn_requested_at=now).update(
                turn_requested_at=requested_at
            )

    lapsed = Turn.objects.filter(
        status=Turn.Status.RUNNING, lease_expires_at__lt=now
    ).select_related("session")[:SWEEP_BATCH]
    for turn in list(lapsed):
        session = turn.session
        if session.mode != Session.Mode.AUTO or session.claimed_offset != turn.trigger_offset:
            if turn_finish(
                turn_id=turn.id,
                status=Turn.Status.CANCELLED,
                trace={"reason": "its worker was lost and the conversation moved on"},
                attempt=turn.attempts,
            ):
                report.cancelled_turns += 1
        elif turn.attempts >= settings.PARLANT_TURN_MAX_ATTEMPTS:
            if turn_give_up(turn=turn, reason=f"its worker was lost {turn.attempts} times"):
                report.given_up_turns += 1
        elif send_now(respond_to_session, turn.session_id, turn.trigger_offset):
            report.resumed_turns += 1
    if report != SweepReport():
        logger.info(
            "turn sweep: resent %d hand-overs, resumed %d turns, gave up %d, cancelled %d",
            report.resent_handovers,
            report.resumed_turns,
            report.given_up_turns,
            report.cancelled_turns,
            extra={"report": report.__dict__},
        )
    return report


class TurnSweeper(threading.Thread):
    """Runs turns_sweep every PARLANT_TURN_SWEEP_SECONDS until stopped."""

    def __init__(self) -> None:
        super().__init__(name="turn-sweeper", daemon=True)
        self.stopped = threading.Event()

    def run(self) -> None:
        interval = settings.PARLANT_TURN_SWEEP_SECONDS
        while not self.stopped.wait(interval):
            close_old_connections()
            try:
                turns_sweep()
            except Exception:
                # A database hiccup must not end the sweeping for the worker's lifetime.
                logger.exception("turn sweep failed")
            finally:
                close_old_connections()


_sweeper: TurnSweeper | None = None


def start_sweeper() -> None:
    global _sweeper
    if _sweeper is None and settings.PARLANT_TURN_SWEEP_SECONDS > 0:
        _sweeper = TurnSweeper()
        _sweeper.start()
