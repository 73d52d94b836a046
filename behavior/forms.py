"""Admin forms: validation that spans fields or rows (relationship ends, journey graphs,
templates, cron rules), and friendlier inputs for lists of phrases."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from behavior.freshness import parse_cron
from behavior.models import (
    AGENT_TAG_PREFIX,
    JOURNEY_TAG_PREFIX,
    CannedResponse,
    Capability,
    ContextVariable,
    GlossaryTerm,
    Guideline,
    Journey,
    JourneyState,
    Relationship,
    Tag,
)
from behavior.templates import check_template


class LinesField(forms.CharField):
    """A list of phrases edited as one per line (stored as a JSON list)."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 60})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "One per line.")
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, list):
            return "\n".join(str(item) for item in value)
        return value or ""

    def to_python(self, value: Any) -> list[str]:
        text = super().to_python(value) or ""
        return list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))


class TagAdminForm(forms.ModelForm):
    class Meta:
        model = Tag
        fields = ["name"]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if name.startswith((AGENT_TAG_PREFIX, JOURNEY_TAG_PREFIX)):
            raise ValidationError("Names starting with 'agent:' or 'journey:' are reserved.")
        return name


class GuidelineAdminForm(forms.ModelForm):
    labels = LinesField(label="Labels")
    examples = LinesField(
        label="Example customer messages",
        help_text="Messages for which the condition holds, one per line (optional); matching "
        "compares the conversation with them too.",
    )

    class Meta:
        model = Guideline
        fields = [
            "condition",
            "action",
            "description",
            "examples",
            "tags",
            "criticality",
            "enabled",
            "composition_mode",
            "track",
            "priority",
            "labels",
            "metadata",
        ]


class GlossaryTermAdminForm(forms.ModelForm):
    synonyms = LinesField(label="Synonyms")

    class Meta:
        model = GlossaryTerm
        fields = ["name", "description", "synonyms", "tags"]


class CapabilityAdminForm(forms.ModelForm):
    signals = LinesField(label="Signals", help_text="Phrasings that call for it; one per line.")

    class Meta:
        model = Capability
        fields = ["title", "description", "signals", "tags"]


class CannedResponseAdminForm(forms.ModelForm):
    signals = LinesField(label="Signals", help_text="Other phrasings; one per line.")
    field_dependencies = LinesField(
        label="Field dependencies", help_text="Fields that must be available; one per line."
    )

    class Meta:
        model = CannedResponse
        fields = ["value", "fields", "signals", "field_dependencies", "metadata", "tags"]

    def clean_value(self) -> str:
        value = self.cleaned_data["value"]
        check_template(value)
        return value

    def clean_fields(self) -> list[dict]:
        fields = self.cleaned_data.get("fields") or []
        if not isinstance(fields, list) or not all(
            isinstance(item, dict) and item.get("name") for item in fields
        ):
            raise ValidationError('Write a list like [{"name": "price", "description": "…"}].')
        return fields


class ContextVariableAdminForm(forms.ModelForm):
    class Meta:
        model = ContextVariable
        fields = ["name", "description", "tool", "freshness_rules", "tags"]

    def clean_freshness_rules(self) -> str:
        rules = self.cleaned_data.get("freshness_rules", "").strip()
        if rules:
            try:
                parse_cron(rules)
            except ValueError as error:
                raise ValidationError(str(error)) from None
        return rules


class RelationshipAdminForm(forms.ModelForm):
    """Exactly one source and one target. Inlines fix one end through their foreign key, so
    only the ends shown in the form are counted there."""

    class Meta:
        model = Relationship
        fields = [
            "kind",
            "source_guideline",
            "source_tag",
            "source_journey",
            "source_tool",
            "target_guideline",
            "target_tag",
            "target_journey",
            "target_tool",
            "group_id",
        ]

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("group_id") and cleaned.get("kind") != Relationship.Kind.DEPENDENCY_ANY:
            raise ValidationError(
                {"group_id": "Only a dependency-on-any relationship has a group."}
            )
        for side in ("source", "target"):
            shown = [
                f"{side}_{kind}"
                for kind in Relationship.ENDPOINT_KINDS
                if f"{side}_{kind}" in self.fields
            ]
            if not shown:
                continue
            chosen = [name for name in shown if cleaned.get(name)]
            if len(chosen) != 1:
                raise ValidationError(
                    f"Choose exactly one {side}: a guideline, a tag, a journey or a tool."
                )
        return cleaned


class JourneyStateFormSet(forms.BaseInlineFormSet):
    """One start state at most in the form (it is created if missing), one end at most; chat
    states need an action and tool states a tool."""

    def clean(self) -> None:
        super().clean()
        kinds: list[str] = []
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data:
                continue
            if form.cleaned_data.get("DELETE"):
                if form.instance.pk and form.instance.kind == JourneyState.Kind.INITIAL:
                    raise ValidationError("The start state cannot be deleted.")
                continue
            kind = form.cleaned_data.get("kind")
            kinds.append(kind)
            if kind == JourneyState.Kind.CHAT and not form.cleaned_data.get("action", "").strip():
                form.add_error("action", "A chat state needs an action.")
            if kind == JourneyState.Kind.TOOL and not form.cleaned_data.get("tools"):
                form.add_error("tools", "A tool state needs at least one tool.")
        if kinds.count(JourneyState.Kind.INITIAL) > 1:
            raise ValidationError("A journey has exactly one start state.")
        if kinds.count(JourneyState.Kind.END) > 1:
            raise ValidationError("A journey has at most one end state.")


class JourneyTransitionFormSet(forms.BaseInlineFormSet):
    """No dangling transitions: both ends are states of this journey, never into the start."""

    def clean(self) -> None:
        super().clean()
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            if not data or data.get("DELETE"):
                continue
            source, target = data.get("source"), data.get("target")
            if source is None or target is None:
                continue  # the field errors already say so
            for end in (source, target):
                if end.journey_id != self.instance.pk:
                    form.add_error(None, "Both states must belong to this journey.")
            if target.kind == JourneyState.Kind.INITIAL:
                form.add_error("target", "The start state cannot be a transition's target.")
            if source.kind == JourneyState.Kind.END:
                form.add_error("source", "The end state cannot have outgoing transitions.")


class BehaviorImportForm(forms.Form):
    document = forms.FileField(
        help_text="A YAML or JSON document made by “Export”: the agent and all its behaviour."
    )


class JourneyAdminForm(forms.ModelForm):
    """A journey in one pass: when it starts in plain words, and (new journeys) its steps."""

    start_when = LinesField(
        label="Starts when",
        help_text="One situation per line, e.g. “the customer wants to book a test drive”. "
        "The journey starts when any of them holds.",
    )
    steps = LinesField(
        label="Steps",
        help_text="New journeys: one thing the agent says or asks per line. They are linked "
        "Start → first → … → End for you; branch and add conditions below afterwards.",
    )

    class Meta:
        model = Journey
        fields = ["title", "description", "tags", "composition_mode", "priority", "labels"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Ids are set at construction, so `_state.adding` (not pk) tells a new journey apart.
        if not self.instance._state.adding:
            self.fields["start_when"].initial = [
                guideline.condition for guideline in self.instance.conditions.all()
            ]
            self.fields.pop("steps")
