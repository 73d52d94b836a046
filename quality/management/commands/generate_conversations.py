"""manage.py generate_conversations AGENT: a seeded set of finished conversations, for the
insights page's benchmark and browser test (never for a production database)."""

from django.core.management.base import BaseCommand, CommandError

from behavior.models import Agent
from quality.generate import conversations_generate


class Command(BaseCommand):
    help = "Generate finished conversations (sessions, events, turns and their facts)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("agent_id")
        parser.add_argument("--sessions", type=int, default=100)
        parser.add_argument("--turns-per-session", type=int, default=4)
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, **options) -> None:
        if not Agent.objects.filter(pk=options["agent_id"]).exists():
            raise CommandError(f"No agent {options['agent_id']!r}.")
        generated = conversations_generate(
            agent_id=options["agent_id"],
            sessions=options["sessions"],
            turns_per_session=options["turns_per_session"],
            days=options["days"],
            seed=options["seed"],
        )
        self.stdout.write(
            f"Generated {generated.sessions} sessions, {generated.turns} turns, "
            f"{generated.unhandled} unhandled messages, {generated.handed_off} handed off."
        )
