"""Create an API key and print it once (admin does the same with a form)."""

from django.core.management.base import BaseCommand

from sessions_app.models import ApiKey
from sessions_app.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key with a role and print the raw key; only its hash is stored."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name")
        parser.add_argument("--role", choices=ApiKey.Role.values, default=ApiKey.Role.APP)

    def handle(self, *args, name: str, role: str, **options) -> None:
        _, raw_key = api_key_create(name=name, role=role)
        self.stdout.write(raw_key)
