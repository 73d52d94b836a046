"""Recompute the stored condition vectors that are missing or stale (after changing the
embedding model, e.g. PARLANT_NLP_PROVIDER or OPENAI_EMBEDDING_MODEL)."""

from django.core.management.base import BaseCommand, CommandError

from behavior.embeddings import embedding_model, guidelines_embed, stale_guidelines


class Command(BaseCommand):
    help = "Embed every guideline and journey condition whose vector is missing or stale."

    def add_arguments(self, parser):
        parser.add_argument(
            "--all", action="store_true", help="Recompute every vector, not only stale ones."
        )

    def handle(self, *args, **options):
        model = embedding_model()
        pending = list(stale_guidelines(model))
        if options["all"]:
            from behavior.models import Guideline

            pending = list(Guideline.objects.all())
            for guideline in pending:
                guideline.condition_embedding = None
        stored = guidelines_embed(pending, model=model)
        if stored < len(pending):
            raise CommandError(
                f"Embedded {stored} of {len(pending)} conditions with {model}; the provider "
                "failed for the rest (see the log)."
            )
        self.stdout.write(f"Embedded {stored} condition(s) with {model}.")
