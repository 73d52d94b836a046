from django.urls import path

from operations import health
from operations.views import MetricsView

urlpatterns = [
    path("healthz", health.liveness, name="healthz"),
    path("readyz", health.readiness, name="readyz"),
    path("metrics", MetricsView.as_view(), name="metrics"),
]
