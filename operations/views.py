"""The Prometheus endpoint: an API operation like any other, decided by the authorization policy."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from rest_framework import views

from operations.metrics import scrape
from sessions_app.permissions import Operation


class MetricsView(views.APIView):
    """GET /metrics: Prometheus text format. Needs READ_METRICS (a monitoring API key, or admin)."""

    operations = {"get": Operation.READ_METRICS}

    @extend_schema(
        tags=["operations"], request=None,
        responses={
            (200, "text/plain"): OpenApiResponse(
                OpenApiTypes.STR, description="Prometheus text exposition format (0.0.4)."
            )
        },
    )
    def get(self, request) -> HttpResponse:
        return HttpResponse(generate_latest(scrape()), content_type=CONTENT_TYPE_LATEST)
