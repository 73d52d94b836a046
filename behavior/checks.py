"""System check: stored condition vectors made from another text or by another model."""

from django.core.checks import Warning, register
from django.db import DatabaseError


@register()
def check_condition_vectors(app_configs, **kwargs):
    from behavior.embeddings import embedding_model, stale_guidelines

    try:
        model = embedding_model()
        stale = stale_guidelines(model).count()
    except DatabaseError:  # before the first migrate there is nothing to check
        return []
    if not stale:
        return []
    return [
        Warning(
            f"{stale} guideline or journey condition(s) have no vector from the embedding model "
            f"{model!r}: each turn embeds them again until they are stored.",
            hint="Run `manage.py embed_conditions`.",
            id="parlant.W010",
        )
    ]
