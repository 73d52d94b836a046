"""Condition vectors for the engine's narrowing, computed when behaviour is saved.

A guideline's vector (journey conditions are guidelines too) is keyed by the condition text it
was made from and the name of the embedding model that made it: a turn never embeds a stored
condition, and a vector from another model, or from an older text, is never used. When the
configured model changes, `manage.py embed_conditions` recomputes them, and the system check
`parlant.W010` says how many are stale until then.
"""

import asyncio
import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db.models import F, Q, QuerySet

from behavior.models import Guideline
from engine.nlp.embedding import LOCAL_EMBEDDING_MODEL, local_embed
from engine.ports import NLPService

logger = logging.getLogger(__name__)

# Texts per embedding request while recomputing many conditions: small enough that a remote
# server answers within its timeout, large enough that 1,000 conditions take few requests.
EMBED_BATCH = 64


def embedding_service() -> NLPService:
    """The configured NLP provider, whose `embed` makes the vectors the turns will compare with."""
    from sessions_app.engine_adapter import build_nlp_service  # the one place providers are built

    return build_nlp_service()


def embedding_model() -> str:
    """The name of the model the configured provider embeds with (cheap: no client is built for
    the two built-in providers)."""
    provider = settings.PARLANT_NLP_PROVIDER
    if provider == "local":
        return LOCAL_EMBEDDING_MODEL
    if provider == "openai":
        return settings.OPENAI_EMBEDDING_MODEL
    service = embedding_service()
    return getattr(service, "embedding_model", "") or service.name


def embed_texts(texts: Sequence[str]) -> list[list[float]]:
    """Vectors for `texts` from the configured provider, one per text, in order.

    Runs the provider's coroutine on a thread of its own, so this works from sync code whether
    or not the calling thread already runs an event loop (admin, API, SDK, tests).
    """
    if not texts:
        return []
    if settings.PARLANT_NLP_PROVIDER == "local":
        return local_embed(texts)  # in-process and synchronous: no event loop needed
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, embedding_service().embed(list(texts))).result()


def stale_guidelines(model: str) -> QuerySet[Guideline]:
    """Guidelines whose stored vector is missing, from another text, or from another model."""
    return Guideline.objects.filter(
        Q(condition_embedding__isnull=True)
        | ~Q(embedded_condition=F("condition"))
        | ~Q(embedding_model=model)
    )


def guidelines_embed(guidelines: Iterable[Guideline], *, model: str | None = None) -> int:
    """Store a current vector for each guideline that lacks one; returns how many were stored.

    A provider failure (a remote embeddings server down) leaves the vector stale rather than
    failing the save: the turn then embeds that condition itself once, and the system check
    reports it until `embed_conditions` runs.
    """
    model = model or embedding_model()
    pending = [
        g
        for g in guidelines
        if not (
            g.condition_embedding
            and g.embedded_condition == g.condition
            and g.embedding_model == model
        )
    ]
    stored = 0
    for start in range(0, len(pending), EMBED_BATCH):
        batch = pending[start : start + EMBED_BATCH]
        try:
            vectors = embed_texts([g.condition for g in batch])
        except Exception:  # any provider error: keep the save, report the stale vector
            logger.warning(
                "Embedding %d condition(s) failed; they stay stale.", len(batch), exc_info=True
            )
            return stored
        for guideline, vector in zip(batch, vectors, strict=True):
            guideline.condition_embedding = vector
            guideline.embedded_condition = guideline.condition
            guideline.embedding_model = model
            # Only if the condition is still the one embedded: a concurrent edit wins.
            stored += Guideline.objects.filter(
                pk=guideline.pk, condition=guideline.condition
            ).update(
                condition_embedding=vector,
                embedded_condition=guideline.condition,
                embedding_model=model,
            )
    return stored
