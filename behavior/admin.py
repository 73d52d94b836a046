"""Admin for authored behaviour: every building block editable, every change kept in history.

History (who/when, a diff between any two versions, restore) comes from django-reversion and
django-reversion-compare through `HistoryAdmin`. Writes with side effects (embedding a guideline's
condition, validating a journey's graph) go through services.
"""

import base64
from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from reversion.models import Version
from reversion_compare.admin import CompareVersionAdmin

from behavior import history, services
from behavior.diagram import journey_svg
from behavior.embeddings import embedding_model
from behavior.forms import (
    CannedResponseAdminForm,
    CapabilityAdminForm,
    ContextVariableAdminForm,
    GlossaryTermAdminForm,
    GuidelineAdminForm,
    JourneyStateFormSet,
    JourneyTransitionFormSet,
    RelationshipAdminForm,
    TagAdminForm,
)
from behavior.models import (
    Agent,
    CannedResponse,
    Capability,
    ContextVariable,
    ContextVariableValue,
    GlossaryTerm,
    Guideline,
    GuidelineToolAssociation,
    Journey,
    JourneyState,
    JourneyTransition,
    Relationship,
    Retriever,
    Tag,
    Tool,
    ToolService,
    agent_tag_id,
)

# Registered before any VersionAdmin autoregisters a model, so the follows declared there apply.
history.register_models()


class HistoryAdmin(CompareVersionAdmin):
    """Keeps every change with who and when, compares any two versions, restores old ones."""

    history_latest_first = True
    object_history_template = "admin/behavior/object_history.html"

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        return [
            path(
                "<str:object_id>/history/<int:version_id>/restore/",
                self.admin_site.admin_view(self.restore_view),
                name="{}_{}_restore".format(*info),
            ),
            *super().get_urls(),
        ]

    def _get_action_list(self, request, object_id, extra_context=None):
        actions = super()._get_action_list(request, object_id, extra_context)
        info = self.model._meta.app_label, self.model._meta.model_name
        for action in actions:
            action["restore_url"] = reverse(
                "admin:{}_{}_restore".format(*info), args=[object_id, action["version"].pk]
            )
        return actions

    def restore_view(self, request: HttpRequest, object_id: str, version_id: int) -> HttpResponse:
        """POST: put the version back (with the rows it follows), recorded as a new revision."""
        if request.method != "POST":
            return HttpResponse(status=405, headers={"Allow": "POST"})
        version = get_object_or_404(
            Version.objects.get_for_object_reference(self.model, object_id), pk=version_id
        )
        if not self.has_change_permission(request):
            return HttpResponse(status=403)
        created = version.revision.date_created
        with history.revision(f"Restored the version of {created:%Y-%m-%d %H:%M}", request.user):
            version.revision.revert(delete=True)
        if self.model is Guideline:
            services.guideline_index(guideline=Guideline.objects.get(pk=object_id))
        self.message_user(request, f"Restored the version of {created:%Y-%m-%d %H:%M:%S}.")
        change_url = reverse(
            f"admin:{self.model._meta.app_label}_{self.model._meta.model_name}_change",
            args=[object_id],
        )
        return HttpResponse(status=302, headers={"Location": change_url})


def _tag_links(row: Any) -> str:
    """The row's tags as a comma list (from the prefetched `tags`)."""
    return ", ".join(tag.name for tag in row.tags.all()) or "— every agent —"


class ScopeListFilter(admin.SimpleListFilter):
    """Filter scoped rows by the agent they apply to: its own tag, its tags, or global."""

    title = "applies to agent"
    parameter_name = "agent"

    def lookups(self, request, model_admin):
        return [(agent.id, agent.name) for agent in Agent.objects.only("id", "name")]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        agent_tags = list(
            Agent.tags.through.objects.filter(agent_id=self.value()).values_list(
                "tag_id", flat=True
            )
        )
        return queryset.for_agent(self.value(), agent_tags)


class UntaggedListFilter(admin.SimpleListFilter):
    title = "scope"
    parameter_name = "scope"

    def lookups(self, request, model_admin):
        return [("global", "Every agent (no tags)"), ("tagged", "Tagged")]

    def queryset(self, request, queryset):
        if self.value() == "global":
            return queryset.filter(tags__isnull=True)
        if self.value() == "tagged":
            return queryset.filter(tags__isnull=False).distinct()
        return queryset


# --- Tags and agents ---------------------------------------------------------------------------


class TagKindListFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [("plain", "Plain tags"), ("agent", "Agent scope"), ("journey", "Journey scope")]

    def queryset(self, request, queryset):
        if self.value() == "plain":
            return queryset.plain()
        if self.value() == "agent":
            return queryset.filter(agent__isnull=False)
        if self.value() == "journey":
            return queryset.filter(journey__isnull=False)
        return queryset


class ScopedAdmin(HistoryAdmin):
    """Admin of an entity scoped by tags: its "Applies to" column, scope filters, tag picker."""

    list_filter = (ScopeListFilter, UntaggedListFilter, "tags")
    filter_horizontal = ("tags",)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tags")

    @admin.display(description="Applies to")
    def scope(self, entity) -> str:
        return _tag_links(entity)


@admin.register(Tag)
class TagAdmin(HistoryAdmin):
    form = TagAdminForm
    list_display = ("name", "id", "kind", "created_at")
    list_filter = (TagKindListFilter,)
    search_fields = ("name", "id")
    readonly_fields = ("id", "agent", "journey", "created_at")
    list_select_related = ("agent", "journey")

    @admin.display(description="Kind")
    def kind(self, tag: Tag) -> str:
        if tag.agent_id:
            return f"scopes agent {tag.agent.name}"
        if tag.journey_id:
            return f"scopes journey {tag.journey.title}"
        return "tag"

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_scope_tag:
            return False  # scope tags follow their agent or journey
        return super().has_change_permission(request, obj)

    def get_deleted_objects(self, objs, request):
        deleted, counts, permissions_needed, protected = super().get_deleted_objects(objs, request)
        # Entities scoped by a tag alone would apply to every agent once it is gone.
        for tag in objs:
            for name, count in services.tag_usage(tag.pk).items():
                protected.append(f"{count} {name} scoped only by the tag {tag.name}")
            if tag.is_scope_tag:
                protected.append(f"{tag.name}: deleted with its agent or journey")
        return deleted, counts, permissions_needed, protected


@admin.register(Agent)
class AgentAdmin(HistoryAdmin):
    list_display = ("name", "id", "composition_mode", "message_output_mode", "guideline_count")
    list_filter = ("composition_mode", "message_output_mode", "tags")
    search_fields = ("name", "description", "id")
    readonly_fields = ("id", "created_at", "behaviour")
    filter_horizontal = ("tags",)
    actions = ["export_behavior"]
    fieldsets = (
        (None, {"fields": ("name", "description", "tags")}),
        (
            "Replies",
            {
                "fields": (
                    "composition_mode",
                    "message_output_mode",
                    "max_engine_iterations",
                    "is_llm_free",
                )
            },
        ),
        ("Behaviour", {"fields": ("behaviour",)}),
        ("Record", {"fields": ("id", "created_at"), "classes": ("collapse",)}),
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(guideline_total=Count("scope_tag__guidelines", distinct=True))
        )

    @admin.display(description="Own guidelines", ordering="guideline_total")
    def guideline_count(self, agent: Agent) -> int:
        return agent.guideline_total

    @admin.display(description="Authored behaviour")
    def behaviour(self, agent: Agent) -> str:
        if not agent.pk:
            return "Save the agent first."
        tag = agent_tag_id(agent.id)
        links = [
            (reverse(f"admin:behavior_{model}_changelist") + f"?agent={agent.id}", label)
            for model, label in (
                ("guideline", "Guidelines"),
                ("journey", "Journeys"),
                ("glossaryterm", "Terms"),
                ("contextvariable", "Variables"),
                ("cannedresponse", "Canned responses"),
                ("capability", "Capabilities"),
            )
        ]
        export_url = reverse("admin:behavior_agent_export", args=[agent.pk])
        return format_html(
            "{} · <a href='{}'>Export as YAML</a><br><small>Entities tagged <code>{}</code>, "
            "one of this agent's tags, or untagged apply to it.</small>",
            format_html_join(" · ", "<a href='{}'>{}</a>", links),
            export_url,
            tag,
        )

    def get_urls(self):
        return [
            path(
                "<str:agent_id>/export/",
                self.admin_site.admin_view(self.export_view),
                name="behavior_agent_export",
            ),
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="behavior_agent_import",
            ),
            *super().get_urls(),
        ]

    def export_view(self, request: HttpRequest, agent_id: str) -> HttpResponse:
        from behavior.transfer import behavior_export, dump_document

        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        agent = get_object_or_404(Agent, pk=agent_id)
        response = HttpResponse(
            dump_document(behavior_export(agent_id=agent.pk)), content_type="application/yaml"
        )
        response["Content-Disposition"] = f'attachment; filename="{agent.pk}.behavior.yaml"'
        return response

    def import_view(self, request: HttpRequest) -> HttpResponse:
        from django.template.response import TemplateResponse

        from behavior.forms import BehaviorImportForm
        from behavior.transfer import behavior_import, load_document

        if not self.has_add_permission(request):
            return HttpResponse(status=403)
        form = BehaviorImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                document = load_document(form.cleaned_data["document"].read().decode())
                with history.revision("import behaviour", user=request.user):
                    agent = behavior_import(document=document)
            except (ValueError, UnicodeDecodeError, services.ValidationError) as error:
                form.add_error("document", str(error))
            else:
                self.message_user(request, f"Imported the behaviour of {agent.name}.")
                return HttpResponse(
                    status=302,
                    headers={"Location": reverse("admin:behavior_agent_change", args=[agent.pk])},
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": "Import an agent's behaviour",
        }
        return TemplateResponse(request, "admin/behavior/agent/import.html", context)

    def delete_model(self, request, obj):
        services.agent_delete(agent_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for agent_id in queryset.values_list("pk", flat=True):
            services.agent_delete(agent_id=agent_id)

    @admin.action(description="Export the behaviour of the selected agent (YAML)")
    def export_behavior(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one agent to export.", messages.WARNING)
            return None
        return self.export_view(request, queryset.get().pk)


# --- Tools -------------------------------------------------------------------------------------


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows mirrored from code: listed and searchable, never edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ToolService)
class ToolServiceAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "url", "tool_count")
    search_fields = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(tool_total=Count("tools"))

    @admin.display(description="Tools", ordering="tool_total")
    def tool_count(self, service: ToolService) -> int:
        return service.tool_total


@admin.register(Tool)
class ToolAdmin(ReadOnlyAdmin):
    list_display = ("name", "service", "description", "is_available", "used_by")
    list_filter = ("is_available", "service")
    list_select_related = ("service",)
    search_fields = ("name", "description", "id")
    readonly_fields = (
        "id",
        "service",
        "name",
        "description",
        "parameters",
        "required",
        "is_consequential",
        "is_available",
        "created_at",
        "updated_at",
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                guideline_total=Count("guideline_associations", distinct=True),
                state_total=Count("journey_states", distinct=True),
            )
        )

    @admin.display(description="Used by")
    def used_by(self, tool: Tool) -> str:
        return f"{tool.guideline_total} guideline(s), {tool.state_total} journey state(s)"


@admin.register(Retriever)
class RetrieverAdmin(admin.ModelAdmin):
    list_display = ("id", "description", "is_available")
    list_filter = ("is_available",)
    search_fields = ("id", "description")
    readonly_fields = ("id", "description", "module", "is_available", "created_at", "updated_at")
    autocomplete_fields = ("agents", "guidelines")

    def has_add_permission(self, request):
        return False  # retrievers are registered in code


# --- Guidelines and relationships --------------------------------------------------------------


class GuidelineToolInline(admin.TabularInline):
    model = GuidelineToolAssociation
    fields = ("tool",)
    autocomplete_fields = ("tool",)
    extra = 0
    verbose_name = "tool the guideline may call"
    verbose_name_plural = "tools the guideline may call"


class OutgoingRelationshipInline(admin.TabularInline):
    model = Relationship
    fk_name = "source_guideline"
    form = RelationshipAdminForm
    fields = ("kind", "target_guideline", "target_tag", "target_journey", "target_tool")
    autocomplete_fields = ("target_guideline", "target_tag", "target_journey", "target_tool")
    extra = 0
    verbose_name = "relationship from this guideline"
    verbose_name_plural = "relationships from this guideline"


class IncomingRelationshipInline(admin.TabularInline):
    model = Relationship
    fk_name = "target_guideline"
    form = RelationshipAdminForm
    fields = ("source_guideline", "source_tag", "source_journey", "source_tool", "kind")
    autocomplete_fields = ("source_guideline", "source_tag", "source_journey", "source_tool")
    extra = 0
    verbose_name = "relationship into this guideline"
    verbose_name_plural = "relationships into this guideline"


@admin.register(Guideline)
class GuidelineAdmin(ScopedAdmin):
    form = GuidelineAdminForm
    list_display = ("condition", "action", "scope", "criticality", "enabled", "updated_at")
    list_filter = (ScopeListFilter, UntaggedListFilter, "enabled", "criticality", "tools", "tags")
    search_fields = ("condition", "action", "description", "id")
    readonly_fields = ("id", "is_indexed", "created_at", "updated_at")
    inlines = [GuidelineToolInline, OutgoingRelationshipInline, IncomingRelationshipInline]
    fieldsets = (
        (None, {"fields": ("condition", "action", "description", "examples")}),
        ("Scope", {"fields": ("tags",)}),
        (
            "Behaviour",
            {
                "fields": (
                    "criticality",
                    "enabled",
                    "composition_mode",
                    "track",
                    "priority",
                    "labels",
                    "metadata",
                )
            },
        ),
        (
            "Record",
            {"fields": ("id", "is_indexed", "created_at", "updated_at"), "classes": ("collapse",)},
        ),
    )

    @admin.display(description="Condition embedded", boolean=True)
    def is_indexed(self, guideline: Guideline) -> bool:
        return bool(guideline.condition_embedding) and (
            guideline.embedded_condition == guideline.condition
            and guideline.embedding_model == embedding_model()
        )

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        if "tags" in initial and isinstance(initial["tags"], str):
            try:  # "?tags=journey:<id>" links from a journey page pre-select its scope tag
                tags = services.tags_resolve(initial["tags"].split(","))
            except services.ValidationError:
                tags = []
            initial["tags"] = [tag.pk for tag in tags]
        return initial

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.guideline_index(guideline=form.instance)


@admin.register(Relationship)
class RelationshipAdmin(HistoryAdmin):
    form = RelationshipAdminForm
    list_display = ("kind", "source", "target", "created_at")
    list_filter = ("kind",)
    list_select_related = (
        "source_guideline",
        "source_tag",
        "source_journey",
        "source_tool",
        "target_guideline",
        "target_tag",
        "target_journey",
        "target_tool",
    )
    search_fields = (
        "id",
        "source_guideline__condition",
        "target_guideline__condition",
        "source_tag__name",
        "target_tag__name",
        "source_journey__title",
        "target_journey__title",
    )
    autocomplete_fields = (
        "source_guideline",
        "source_tag",
        "source_journey",
        "source_tool",
        "target_guideline",
        "target_tag",
        "target_journey",
        "target_tool",
    )
    readonly_fields = ("id", "created_at")
    fieldsets = (
        (None, {"fields": ("kind",)}),
        (
            "Source (exactly one)",
            {"fields": ("source_guideline", "source_tag", "source_journey", "source_tool")},
        ),
        (
            "Target (exactly one)",
            {"fields": ("target_guideline", "target_tag", "target_journey", "target_tool")},
        ),
        ("Record", {"fields": ("id", "created_at"), "classes": ("collapse",)}),
    )

    @staticmethod
    def _end(relationship: Relationship, side: str) -> str:
        for kind in Relationship.ENDPOINT_KINDS:
            value = getattr(relationship, f"{side}_{kind}")
            if value is not None:
                return f"{kind}: {value}"
        return "—"

    @admin.display(description="Source")
    def source(self, relationship: Relationship) -> str:
        return self._end(relationship, "source")

    @admin.display(description="Target")
    def target(self, relationship: Relationship) -> str:
        return self._end(relationship, "target")


# --- Journeys ----------------------------------------------------------------------------------


class JourneyStateInline(admin.StackedInline):
    model = JourneyState
    formset = JourneyStateFormSet
    fields = (("kind", "position"), "action", "tools", "description", "composition_mode")
    autocomplete_fields = ("tools",)
    extra = 0
    show_change_link = False


class JourneyTransitionInline(admin.TabularInline):
    model = JourneyTransition
    formset = JourneyTransitionFormSet
    fk_name = "journey"
    fields = ("source", "target", "condition")
    extra = 0

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in ("source", "target"):
            journey_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = JourneyState.objects.filter(journey_id=journey_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Journey)
class JourneyAdmin(ScopedAdmin):
    list_display = ("title", "scope", "state_count", "priority", "updated_at")
    search_fields = ("title", "description", "id")
    autocomplete_fields = ("conditions",)
    readonly_fields = ("id", "diagram", "problems", "scoped_guidelines", "created_at", "updated_at")
    inlines = [JourneyStateInline, JourneyTransitionInline]
    fieldsets = (
        (None, {"fields": ("title", "description", "conditions")}),
        ("Diagram", {"fields": ("diagram", "problems")}),
        ("Scope", {"fields": ("tags", "composition_mode", "priority", "labels")}),
        ("Guidelines active during this journey", {"fields": ("scoped_guidelines",)}),
        ("Record", {"fields": ("id", "created_at", "updated_at"), "classes": ("collapse",)}),
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                state_total=Count("states", filter=Q(states__kind__in=["chat", "tool", "fork"]))
            )
        )

    @admin.display(description="States", ordering="state_total")
    def state_count(self, journey: Journey) -> int:
        return journey.state_total

    @admin.display(description="Journey")
    def diagram(self, journey: Journey) -> str:
        if not journey.pk:
            return "Save the journey to see its diagram."
        # The SVG is built by behavior.diagram with every label escaped, and shown as an image
        # so nothing in it can run in the admin page.
        encoded = base64.b64encode(journey_svg(journey).encode()).decode()
        return format_html(
            '<img src="data:image/svg+xml;base64,{}" alt="Diagram of {}" '
            'style="max-width:100%;background:#fff;border:1px solid #ddd">',
            encoded,
            journey.title,
        )

    @admin.display(description="Checks")
    def problems(self, journey: Journey) -> str:
        if not journey.pk:
            return "—"
        found = services.journey_problems(journey)
        if not found:
            return format_html('<span style="color:#006e53">✔ {}</span>', "The journey is valid.")
        return format_html(
            '<ul style="color:#ba2121;margin:0">{}</ul>',
            format_html_join("", "<li>{}</li>", ((problem,) for problem in found)),
        )

    @admin.display(description="Scoped guidelines")
    def scoped_guidelines(self, journey: Journey) -> str:
        if not journey.pk:
            return "—"
        condition_ids = set(journey.conditions.values_list("pk", flat=True))
        rows = [
            g
            for g in Guideline.objects.filter(tags__id=f"journey:{journey.pk}")
            if g.pk not in condition_ids
        ]
        add_url = reverse("admin:behavior_guideline_add") + f"?tags=journey:{journey.pk}"
        items = format_html_join(
            "",
            "<li><a href='{}'>{}</a></li>",
            ((reverse("admin:behavior_guideline_change", args=[g.pk]), str(g)) for g in rows),
        )
        return format_html(
            "<ul>{}</ul><a href='{}'>Add a guideline for this journey</a>", items, add_url
        )

    def delete_model(self, request, obj):
        services.journey_delete(journey_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for journey_id in queryset.values_list("pk", flat=True):
            services.journey_delete(journey_id=journey_id)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # After the inlines, so a start state added in the form is not created twice.
        services.journey_initial_state(form.instance)
        services.journey_scope_tag(form.instance.pk)
        for problem in services.journey_problems(form.instance):
            messages.warning(request, problem)


# --- Glossary, variables, canned responses, capabilities ----------------------------------------


@admin.register(GlossaryTerm)
class GlossaryTermAdmin(ScopedAdmin):
    form = GlossaryTermAdminForm
    list_display = ("name", "description", "synonym_list", "scope", "updated_at")
    search_fields = ("name", "description", "synonyms", "id")
    readonly_fields = ("id", "created_at", "updated_at")

    @admin.display(description="Synonyms")
    def synonym_list(self, term: GlossaryTerm) -> str:
        return ", ".join(term.synonyms)


class ContextVariableValueInline(admin.TabularInline):
    model = ContextVariableValue
    fields = ("customer", "tag", "data", "updated_at")
    readonly_fields = ("updated_at",)
    autocomplete_fields = ("customer", "tag")
    extra = 0
    verbose_name = "value (leave customer and tag empty for the default)"


@admin.register(ContextVariable)
class ContextVariableAdmin(ScopedAdmin):
    form = ContextVariableAdminForm
    list_display = ("name", "description", "tool", "freshness_rules", "scope", "value_count")
    list_select_related = ("tool",)
    search_fields = ("name", "description", "id")
    autocomplete_fields = ("tool",)
    readonly_fields = ("id", "created_at", "updated_at")
    inlines = [ContextVariableValueInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(value_total=Count("values"))

    @admin.display(description="Values", ordering="value_total")
    def value_count(self, variable: ContextVariable) -> int:
        return variable.value_total


@admin.register(CannedResponse)
class CannedResponseAdmin(ScopedAdmin):
    form = CannedResponseAdminForm
    list_display = ("value", "signal_list", "scope", "updated_at")
    search_fields = ("value", "signals", "id")
    readonly_fields = ("id", "created_at", "updated_at")

    @admin.display(description="Signals")
    def signal_list(self, canned: CannedResponse) -> str:
        return "; ".join(canned.signals)


@admin.register(Capability)
class CapabilityAdmin(ScopedAdmin):
    form = CapabilityAdminForm
    list_display = ("title", "description", "scope", "updated_at")
    search_fields = ("title", "description", "id")
    readonly_fields = ("id", "created_at", "updated_at")
