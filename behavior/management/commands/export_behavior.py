"""Write an agent's whole behaviour as one YAML (or JSON) document."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from behavior.models import Agent
from behavior.transfer import behavior_export, dump_document


class Command(BaseCommand):
    help = "Export an agent's behaviour (guidelines, journeys, terms, variables, ...) as YAML/JSON."

    def add_arguments(self, parser) -> None:
        parser.add_argument("agent_id")
        parser.add_argument("--output", "-o", help="File to write (default: standard output).")
        parser.add_argument("--json", action="store_true", help="Write JSON instead of YAML.")

    def handle(self, *args, agent_id: str, output: str | None, json: bool, **options) -> None:
        try:
            document = behavior_export(agent_id=agent_id)
        except Agent.DoesNotExist:
            raise CommandError(f"No agent with id {agent_id!r}.") from None
        text = dump_document(document, as_json=json)
        if output:
            Path(output).write_text(text)
            self.stderr.write(f"Wrote the behaviour of {agent_id} to {output}.")
        else:
            self.stdout.write(text, ending="")
