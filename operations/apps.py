from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """What the people who run the product watch it with: health, metrics, logs, restarts."""

    name = "operations"
    verbose_name = "Operations"

    def ready(self) -> None:
        from celery.signals import worker_shutdown

        from operations import checks  # noqa: F401  (registers the system checks)
        from operations.metrics import mark_this_process_dead

        # A stopped worker's live gauges leave the shared metrics directory with it.
        worker_shutdown.connect(lambda **_: mark_this_process_dead(), weak=False)
