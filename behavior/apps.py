from django.apps import AppConfig


class BehaviorConfig(AppConfig):
    name = "behavior"
    verbose_name = "Agent behaviour"

    def ready(self) -> None:
        from parlant_site import checks  # noqa: F401  (registers the system checks)
