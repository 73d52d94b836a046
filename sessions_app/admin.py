from django.contrib import admin, messages
from django.db.models import Count, OuterRef, Subquery
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from sessions_app import services
from sessions_app.explanations import explain_turn, names_for
from sessions_app.models import ApiKey, Customer, Event, Session


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "id", "created_at")
    search_fields = ("name", "id")
    readonly_fields = ("id", "created_at")
    filter_horizontal = ("tags",)


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
    llm = explanation.get("llm") or {}
    # A turn that made no LLM call (the local provider, a canned reply) has no cost line.
    cost = (
        format_html(
            "<small>{} LLM call(s), {} round(s), {} prompt tokens; composed as {}</small>",
            llm.get("calls", 0),
            llm.get("rounds", 0),
            llm.get("prompt_tokens", 0),
            (explanation.get("composition") or {}).get("mode") or "-",
        )
        if llm.get("prompt_tokens") or llm.get("completion_tokens")
        else format_html(
            "<small>Composed as {}</small>",
            (explanation.get("composition") or {}).get("mode") or "-",
        )
    )
    return format_html(
        "<strong>{}</strong>; {} guideline(s) considered<ul>{}{}{}</ul>{}",
        explanation.get("outcome", ""),
        explanation.get("guidelines_considered", 0),
        matched,
        journeys,
        tools,
        cost,
    )


HANDOFF_WORDS = {
    "waiting": "Handed off: waiting for a teammate",
    "joined": "{name} joined",
    "returned": "Handed back to the agent",
}


def render_transcript(session: Session) -> str:
    """The conversation as people read it, each agent reply beside the explanation of it."""
    events = list(session.events.filter(deleted=False).exclude(kind=Event.Kind.STATUS))
    turns = list(session.turns.all())
    by_trace = {turn.trace_id: turn for turn in turns}
    names = names_for([turn.trace for turn in turns])
    rows = []
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        if event.kind == Event.Kind.CUSTOM and data.get("handoff") in HANDOFF_WORDS:
            participant = data.get("participant") or {}
            words = HANDOFF_WORDS[data["handoff"]].format(
                name=participant.get("display_name", "A teammate")
            )
            rows.append(format_html('<div class="turn"><p class="system">{}</p></div>', words))
            continue
        if event.kind != Event.Kind.MESSAGE:
            continue
        is_customer = event.source in (Event.Source.CUSTOMER, Event.Source.CUSTOMER_UI)
        participant = data.get("participant") or {}
        who = participant.get("display_name") or event.get_source_display()
        turn = by_trace.get(event.trace_id) if event.source == Event.Source.AI_AGENT else None
        why = (
            format_html(
                '<div class="why"><strong>Why</strong> {}'
                '<p><a class="save-as-test" href="{}">Save as test</a></p></div>',
                render_explanation(explain_turn(turn.trace, names)),
                reverse(
                    "admin:quality_agentworkbench_save_turn",
                    args=[turn.session_id, turn.trace_id],
                ),
            )
            if turn is not None
            else format_html("<div>{}</div>", "")
        )
        rows.append(
            format_html(
                '<div class="turn"><div class="bubble {}"><span class="who">{} · {}</span>{}'
                "</div>{}</div>",
                "customer" if is_customer else "agent",
                who,
                event.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                str(data.get("message", "")),
                why,
            )
        )
    if not rows:
        return format_html("<p>{}</p>", "No messages yet.")
    return format_html(
        '<div class="transcript">{}</div>', format_html_join("", "{}", ((row,) for row in rows))
    )


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = (
        "conversation", "agent", "customer", "mode", "held_by", "event_count", "updated_at"
    )
    list_filter = ("mode", "agent")
    list_select_related = ("agent", "customer", "held_by")
    search_fields = ("id", "title", "customer__name", "agent__name")
    autocomplete_fields = ("agent", "customer")
    readonly_fields = (
        "id", "created_at", "next_offset", "claimed_offset", "agent_state", "transcript"
    )
    fieldsets = (
        (None, {"fields": ("transcript",)}),
        ("Session", {"fields": ("agent", "customer", "title", "mode", "held_by", "labels")}),
        (
            "Record",
            {
                "fields": ("id", "created_at", "metadata", "next_offset", "claimed_offset",
                           "agent_state"),
                "classes": ("collapse",),
            },
        ),
    )

    def has_change_permission(self, request, obj=None) -> bool:
        # A conversation is a record: read here, answered in the operator dashboard.
        return False

    def has_add_permission(self, request) -> bool:
        return False  # sessions start from the API, the chat or the widget

    @admin.display(description="Conversation")
    def transcript(self, session: Session) -> str:
        return render_transcript(session)

    def get_queryset(self, request):
        first_message = Event.objects.filter(
            session=OuterRef("pk"), kind=Event.Kind.MESSAGE, source=Event.Source.CUSTOMER
        ).order_by("offset")
        return (
            super()
            .get_queryset(request)
            .annotate(event_total=Count("events"))
            .annotate(first_message=Subquery(first_message.values("data__message")[:1]))
        )

    @admin.display(description="Conversation", ordering="created_at")
    def conversation(self, session: Session) -> str:
        """Named as people recall it: its title, else the customer's first words."""
        first = str(getattr(session, "first_message", None) or "")
        text = session.title or first or "(no messages yet)"
        return text if len(text) <= 70 else text[:69] + "…"

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
