"""Reads of authored behaviour: querysets carrying what their callers (API, admin) need."""

from django.db.models import Prefetch, QuerySet

from behavior.models import (
    Agent,
    CannedResponse,
    Capability,
    ContextVariable,
    GlossaryTerm,
    Guideline,
    GuidelineToolAssociation,
    Journey,
    Relationship,
    Tag,
    ToolService,
)
from behavior.snapshot import agent_snapshot  # noqa: F401  (the engine's selector lives there)

_ENDPOINTS = (
    "source_guideline",
    "source_tag",
    "source_tool",
    "target_guideline",
    "target_tag",
    "target_tool",
)


def agents_listing() -> QuerySet[Agent]:
    return Agent.objects.prefetch_related("tags").order_by("created_at", "id")


def tags_listing() -> QuerySet[Tag]:
    return Tag.objects.plain().order_by("created_at", "id")


def guidelines_listing() -> QuerySet[Guideline]:
    return Guideline.objects.prefetch_related("tags").order_by("created_at", "id")


def relationships_listing() -> QuerySet[Relationship]:
    return (
        Relationship.objects.select_related(*_ENDPOINTS)
        .prefetch_related("source_guideline__tags", "target_guideline__tags")
        .order_by("created_at", "id")
    )


def guideline_relationships(guideline: Guideline) -> QuerySet[Relationship]:
    """Relationships with the guideline at either end, directly or through one of its tags."""
    from django.db.models import Q

    tag_ids = [tag.id for tag in guideline.tags.all()]
    return relationships_listing().filter(
        Q(source_guideline=guideline)
        | Q(target_guideline=guideline)
        | Q(source_tag__in=tag_ids)
        | Q(target_tag__in=tag_ids)
    )


def guideline_tool_associations(guideline: Guideline) -> QuerySet[GuidelineToolAssociation]:
    return guideline.tool_associations.select_related("tool").order_by("created_at", "id")


def journeys_listing() -> QuerySet[Journey]:
    return Journey.objects.prefetch_related(
        "tags", Prefetch("conditions", queryset=Guideline.objects.order_by("created_at", "id"))
    ).order_by("created_at", "id")


def terms_listing() -> QuerySet[GlossaryTerm]:
    return GlossaryTerm.objects.prefetch_related("tags").order_by("created_at", "id")


def variables_listing() -> QuerySet[ContextVariable]:
    return (
        ContextVariable.objects.select_related("tool")
        .prefetch_related("tags")
        .order_by("created_at", "id")
    )


def canned_responses_listing() -> QuerySet[CannedResponse]:
    return CannedResponse.objects.prefetch_related("tags").order_by("created_at", "id")


def capabilities_listing() -> QuerySet[Capability]:
    return Capability.objects.prefetch_related("tags").order_by("created_at", "id")


def services_listing() -> QuerySet[ToolService]:
    return ToolService.objects.prefetch_related("tools").order_by("name")
