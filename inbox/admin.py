from django.contrib import admin

from inbox.models import OperatorProfile, SavedReply, SessionNote


@admin.register(SavedReply)
class SavedReplyAdmin(admin.ModelAdmin):
    list_display = ["title", "text"]
    search_fields = ["title", "text"]


@admin.register(OperatorProfile)
class OperatorProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "display_name"]
    search_fields = ["display_name", "user__username"]


@admin.register(SessionNote)
class SessionNoteAdmin(admin.ModelAdmin):
    list_display = ["session", "author", "created_at", "text"]
    list_select_related = ["author"]
    readonly_fields = ["session", "author", "created_at"]
