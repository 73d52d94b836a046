"""Create or update an agent and all its behaviour from an exported document."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from behavior.history import revision
from behavior.transfer import behavior_import, load_document


class Command(BaseCommand):
    help = "Import an agent's behaviour from a YAML/JSON document made by export_behavior."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", help="The document; '-' reads standard input.")

    def handle(self, *args, path: str, **options) -> None:
        import sys

        text = sys.stdin.read() if path == "-" else Path(path).read_text()
        try:
            with revision(f"import behaviour from {path}"):
                agent = behavior_import(document=load_document(text))
        except (ValueError, ValidationError) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Imported the behaviour of {agent.name} ({agent.id}).")
