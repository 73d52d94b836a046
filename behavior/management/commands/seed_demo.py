"""Load the demo agent, Otto Carmen, idempotently: running it twice changes nothing."""

from django.core.management.base import BaseCommand
from django.db import transaction

from behavior.models import Agent, Guideline

DEMO_AGENT_ID = "otto-carmen"
DEMO_GUIDELINES = [
    ("the customer greets you", "offer a refreshing drink"),
    ("the customer asks about car prices", "ask which model they are interested in before quoting"),
    ("the customer wants to book a test drive", "ask which day and time suit them"),
    ("the customer asks about financing", "explain that financing is available from 3.9% APR"),
    ("the customer is unhappy or complains", "apologize and offer to connect them with a manager"),
    ("the customer says goodbye", "thank them for visiting Carmen Motors"),
]


class Command(BaseCommand):
    help = "Create or update the demo agent Otto Carmen and its guidelines."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        agent, created = Agent.objects.update_or_create(
            pk=DEMO_AGENT_ID,
            defaults={
                "name": "Otto Carmen",
                "description": "A friendly assistant at Carmen Motors, a car dealership.",
            },
        )
        for condition, action in DEMO_GUIDELINES:
            Guideline.objects.update_or_create(
                agent=agent, condition=condition, defaults={"action": action}
            )
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} demo agent {agent.name} ({agent.id}).")
