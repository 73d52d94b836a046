from django.apps import AppConfig


class QualityConfig(AppConfig):
    """Behaviour tests, the admin's test chat and insights from real conversations."""

    name = "quality"
    verbose_name = "Quality: behaviour tests and insights"
    default_auto_field = "django.db.models.BigAutoField"
