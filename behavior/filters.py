"""FilterSets for the authoring list endpoints (Parlant's query parameters)."""

import django_filters as filters
from django import forms
from django.db.models import Q, QuerySet

from behavior.models import (
    CannedResponse,
    Capability,
    ContextVariable,
    GlossaryTerm,
    Guideline,
    Journey,
    Relationship,
    Tag,
)


class StringListField(forms.Field):
    """A repeated query parameter (?tags=a&tags=b) as a list of strings."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        if not value:
            return []
        return [str(item) for item in value]


class StringListFilter(filters.Filter):
    field_class = StringListField


class TaggedFilterSet(filters.FilterSet):
    """`tag_id`: only rows carrying that tag (also `agent:<id>` and `journey:<id>`)."""

    tag_id = filters.CharFilter(method="filter_tag")

    def filter_tag(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(tags__id=value).distinct()


class GuidelineFilterSet(TaggedFilterSet):
    class Meta:
        model = Guideline
        fields = ["tag_id"]


class JourneyFilterSet(TaggedFilterSet):
    class Meta:
        model = Journey
        fields = ["tag_id"]


class TermFilterSet(TaggedFilterSet):
    class Meta:
        model = GlossaryTerm
        fields = ["tag_id"]


class ContextVariableFilterSet(TaggedFilterSet):
    class Meta:
        model = ContextVariable
        fields = ["tag_id"]


class CapabilityFilterSet(TaggedFilterSet):
    class Meta:
        model = Capability
        fields = ["tag_id"]


class CannedResponseFilterSet(filters.FilterSet):
    """`tags` (repeatable): canned responses carrying any of these tags."""

    tags = StringListFilter(method="filter_tags")

    class Meta:
        model = CannedResponse
        fields = ["tags"]

    def filter_tags(self, queryset: QuerySet, name: str, value: list[str]) -> QuerySet:
        return queryset.filter(tags__id__in=value).distinct() if value else queryset


class TagFilterSet(filters.FilterSet):
    name = filters.CharFilter(field_name="name")

    class Meta:
        model = Tag
        fields = ["name"]


class RelationshipFilterSet(filters.FilterSet):
    """Relationships touching a guideline, tag or tool (as source or target).

    `indirect` (default true) also includes, for a guideline, the relationships of the tags it
    carries, since those apply to it too.
    """

    kind = filters.ChoiceFilter(choices=Relationship.Kind.choices)
    guideline_id = filters.CharFilter(method="filter_guideline")
    tag_id = filters.CharFilter(method="filter_tag")
    tool_id = filters.CharFilter(method="filter_tool")
    indirect = filters.BooleanFilter(method="filter_nothing")

    class Meta:
        model = Relationship
        fields = ["kind", "guideline_id", "tag_id", "tool_id", "indirect"]

    def filter_nothing(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset  # read by filter_guideline

    def filter_guideline(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        touching = Q(source_guideline_id=value) | Q(target_guideline_id=value)
        if self.form.cleaned_data.get("indirect") is not False:
            tag_ids = Guideline.tags.through.objects.filter(guideline_id=value).values("tag_id")
            touching |= Q(source_tag__in=tag_ids) | Q(target_tag__in=tag_ids)
        return queryset.filter(touching)

    def filter_tag(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value.startswith("journey:"):
            journey_id = value.removeprefix("journey:")
            return queryset.filter(
                Q(source_journey_id=journey_id) | Q(target_journey_id=journey_id)
            )
        return queryset.filter(Q(source_tag_id=value) | Q(target_tag_id=value))

    def filter_tool(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        tool_name = value.partition(":")[2] if ":" in value else value
        return queryset.filter(Q(source_tool_id=tool_name) | Q(target_tool_id=tool_name))
