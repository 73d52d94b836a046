from django.apps import AppConfig
from django.db.models.signals import post_migrate


class BehaviorConfig(AppConfig):
    name = "behavior"
    verbose_name = "Agent behaviour"

    def ready(self) -> None:
        from behavior import checks as behavior_checks  # noqa: F401  (registers W010)
        from behavior import history, tooling
        from parlant_site import checks  # noqa: F401  (registers the system checks)

        tooling.discover()
        history.register_models()
        post_migrate.connect(tooling.sync_after_migrate, sender=self)
