"""Re-send lost turn hand-overs and lapsed turns once (Celery workers also do it on their own)."""

from django.core.management.base import BaseCommand

from sessions_app.sweeper import turns_sweep


class Command(BaseCommand):
    help = "Hand turns that nobody is running (lost hand-over, dead worker) to a worker again."

    def handle(self, *args, **options) -> None:
        report = turns_sweep()
        self.stdout.write(
            f"resent {report.resent_handovers} hand-overs, resumed {report.resumed_turns} turns, "
            f"gave up {report.given_up_turns}, cancelled {report.cancelled_turns}"
        )
