"""The Celery app. In the embedded mode no broker is used: turns run on the in-process worker."""

import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parlant_site.settings")

app = Celery("parlant_site", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def start_turn_sweeper(**_: object) -> None:
    """Every worker also re-sends lost hand-overs and lapsed turns (sessions_app/sweeper.py)."""
    from sessions_app.sweeper import start_sweeper

    start_sweeper()
