"""Refresh the database mirror of the tools and retrievers registered in code."""

from django.core.management.base import BaseCommand

from behavior.tooling import tool_registry_sync


class Command(BaseCommand):
    help = "Mirror @tool and @retriever functions of installed apps into the admin's tool list."

    def handle(self, *args, **options) -> None:
        tools, retrievers = tool_registry_sync()
        self.stdout.write(f"Synced {tools} tool(s) and {retrievers} retriever(s).")
