"""The Prometheus endpoint: an API operation like any other, decided by the authorization policy."""

from django.http import HttpResponse
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from rest_framework import views

from operations.metrics import scrape
from sessions_app.permissions import Operation


class MetricsView(views.APIView):
    """GET /metrics: Prometheus text format. Needs READ_METRICS (a monitoring API key, or admin)."""

    operations = {"get": Operation.READ_METRICS}

    def get(self, request) -> HttpResponse:
        return HttpResponse(generate_latest(scrape()), content_type=CONTENT_TYPE_LATEST)
