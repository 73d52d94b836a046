from django.contrib import admin
from django.db.models import Count

from sessions_app.models import Customer, Event, Session, Turn


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
    fields = ("trigger_offset", "status", "trace_id", "trace", "created_at", "finished_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ("__str__", "agent", "customer", "mode", "event_count", "updated_at")
    list_filter = ("mode", "agent")
    list_select_related = ("agent", "customer")
    search_fields = ("id", "title", "customer__name", "agent__name")
    autocomplete_fields = ("agent", "customer")
    readonly_fields = ("id", "created_at", "next_offset", "claimed_offset", "agent_state")
    inlines = [EventInline, TurnInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(event_total=Count("events"))

    @admin.display(description="Events", ordering="event_total")
    def event_count(self, session: Session) -> int:
        return session.event_total
