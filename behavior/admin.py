from django.contrib import admin
from django.db.models import Count

from behavior.models import Agent, Guideline, Tag


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "id", "created_at")
    search_fields = ("name", "id")
    readonly_fields = ("id", "created_at")


class GuidelineInline(admin.TabularInline):
    model = Guideline
    fields = ("condition", "action", "criticality", "enabled")
    extra = 0
    show_change_link = True


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ("name", "id", "composition_mode", "message_output_mode", "guideline_count")
    list_filter = ("composition_mode", "message_output_mode", "tags")
    search_fields = ("name", "description", "id")
    readonly_fields = ("id", "created_at")
    filter_horizontal = ("tags",)
    inlines = [GuidelineInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(guideline_total=Count("guidelines"))

    @admin.display(description="Guidelines", ordering="guideline_total")
    def guideline_count(self, agent: Agent) -> int:
        return agent.guideline_total


@admin.register(Guideline)
class GuidelineAdmin(admin.ModelAdmin):
    list_display = ("condition", "action", "agent", "criticality", "enabled", "updated_at")
    list_filter = ("enabled", "criticality", "agent", "tags")
    list_select_related = ("agent",)
    search_fields = ("condition", "action", "description", "id")
    autocomplete_fields = ("agent",)
    filter_horizontal = ("tags",)
    readonly_fields = ("id", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("agent", "condition", "action", "description")}),
        ("Behaviour", {"fields": ("criticality", "enabled", "tags", "metadata")}),
        ("Record", {"fields": ("id", "created_at", "updated_at"), "classes": ("collapse",)}),
    )
