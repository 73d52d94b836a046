"""The OpenAPI document and interactive docs, on Parlant's paths (/openapi.json, /docs)."""

from drf_spectacular.views import (
    SpectacularJSONAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

from sessions_app.permissions import Operation


class SchemaView(SpectacularJSONAPIView):
    """GET /openapi.json: the OpenAPI 3.1 document of the whole API."""

    operations = {"get": Operation.ACCESS_API_DOCS}


class SwaggerDocsView(SpectacularSwaggerView):
    """GET /docs: Swagger UI, from our own static files."""

    operations = {"get": Operation.ACCESS_API_DOCS}
    url_name = "openapi-schema"


class RedocDocsView(SpectacularRedocView):
    """GET /redoc: the same document as a readable reference."""

    operations = {"get": Operation.ACCESS_API_DOCS}
    template_name = "api_docs/redoc.html"
    url_name = "openapi-schema"
