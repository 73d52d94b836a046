"""The Celery app. In the embedded mode no broker is used: turns run on the in-process worker."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parlant_site.settings")

app = Celery("parlant_site", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
