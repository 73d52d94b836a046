from django.apps import AppConfig


class InboxConfig(AppConfig):
    """What operators keep beside a conversation: their public profile, notes, saved replies."""

    name = "inbox"
    verbose_name = "Operator inbox"
    default_auto_field = "django.db.models.BigAutoField"
