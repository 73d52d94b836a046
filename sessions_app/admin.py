from django.contrib import admin, messages
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from sessions_app import services
from sessions_app.explanations import explain_turn, names_for
from sessions_app.models import ApiKey, Customer, Event, Session, Turn


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "id", "created_at")
    search_fields = ("name", "id")
    readonly_fields = ("id", "created_at")
    filter_horizontal = ("tags",)


class EventInline(admin.TabularInline):
    model = Event
    fields = ("offset", "kind", "source", "data", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("offset",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class TurnInline(admin.TabularInline):
    model = Turn
    fields = (
        "trigger_offset",
        "status",
        "explanation",
        "save_as_test",
        "trace_id",
        "created_at",
        "finished_at",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Test")
    def save_as_test(self, turn: Turn) -> str:
        url = reverse(
            "admin:quality_agentworkbench_save_turn", args=[turn.session_id, turn.trace_id]
        )
        return format_html('<a class="save-as-test" href="{}">Save as test</a>', url)

    @admin.display(description="Why the agent replied as it did")
    def explanation(self, turn: Turn) -> str:
        return render_explanation(explain_turn(turn.trace, names_for([turn.trace])))


def render_explanation(explanation: dict) -> str:
    """The explanation as a short list; every value goes through format_html's escaping."""
    matched = format_html_join(
        "",
        "<li>{} <small>({})</small></li>",
        ((item["guideline"], item["why"]) for item in explanation.get("matched_guidelines", [])),
    )
    tools = format_html_join(
        "",
        "<li>tool {}({}) {}</li>",
        (
            (call["tool_id"], call["arguments"], call["skipped"] or "ran")
            for call in explanation.get("tool_calls", [])
        ),
    )
    journeys = format_html_join(
        "",
        "<li>journey {}: {} → {}</li>",
        (
            (move["journey"], move["from"], move["to"])
            for move in explanation.get("journeys", [])
        ),
    )
    llm = explanation.get("llm", {})
    return format_html(
        "<strong>{}</strong>; {} guideline(s) considered<ul>{}{}{}</ul>"
        "<small>{} LLM call(s), {} round(s), {} prompt tokens; composed as {}</small>",
        explanation.get("outcome", ""),
        explanation.get("guidelines_considered", 0),
        matched,
        journeys,
        tools,
        llm.get("calls", 0),
        llm.get("rounds", 0),
        llm.get("prompt_tokens", 0),
        explanation.get("composition", {}).get("mode", "-"),
    )


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ("__str__", "agent", "customer", "mode", "held_by", "event_count", "updated_at")
    list_filter = ("mode", "agent")
    list_select_related = ("agent", "customer", "held_by")
    search_fields = ("id", "title", "customer__name", "agent__name")
    autocomplete_fields = ("agent", "customer")
    readonly_fields = ("id", "created_at", "next_offset", "claimed_offset", "agent_state")
    inlines = [EventInline, TurnInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(event_total=Count("events"))

    @admin.display(description="Events", ordering="event_total")
    def event_count(self, session: Session) -> int:
        return session.event_total


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created here and shown once; only their hash is kept. Revoke, never edit."""

    list_display = ("name", "role", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("role", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "prefix")
    readonly_fields = ("id", "prefix", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        # A key's role is fixed at creation: a new role means a new key, so nothing widens quietly.
        return (*self.readonly_fields, "role") if obj is not None else self.readonly_fields

    def save_model(self, request, obj: ApiKey, form, change: bool) -> None:
        if change:
            obj.save(update_fields=["name"])
            return
        created, raw_key = services.api_key_create(name=obj.name, role=obj.role)
        obj.pk, obj.prefix = created.pk, created.prefix  # the admin redirects to the saved row
        messages.warning(
            request,
            format_html("Copy the new key now; it is not shown again: <code>{}</code>", raw_key),
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoked keys stay listed, so a leaked prefix can still be identified

    @admin.action(description="Revoke the selected API keys")
    def revoke(self, request, queryset) -> None:
        for api_key_id in queryset.values_list("pk", flat=True):
            services.api_key_revoke(api_key_id=api_key_id)
        self.message_user(request, "Revoked.", messages.SUCCESS)
