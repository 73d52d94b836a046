"""The OpenAPI document, its interactive docs, and what generation cannot infer by itself.

The schema is generated from the views and serializers (drf-spectacular); the declarations that
views cannot carry themselves live in each app's `schema.py`. Swagger UI and Redoc are served
from our own static files (drf-spectacular-sidecar), never a CDN.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

from sessions_app.permissions import Operation

ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "description": (
        "Every error answer. `errors` carries per-field validation messages (422): a field "
        "name maps to a list of messages, or to nested errors for an object field."
    ),
    "properties": {
        "detail": {"type": "string", "description": "What went wrong, for a human."},
        "errors": {"type": ["object", "array"], "description": "Per-field messages (422 only)."},
    },
    "required": ["detail"],
}
VALIDATION_ERROR_COMPONENT = "ValidationError"
VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": (
        "A 422 answer. Unlike Parlant's FastAPI server, whose request-validation errors carry "
        "`detail` as a list of {loc, msg, type}, `detail` here is always one readable message "
        "(the first problem, prefixed by its field), as in every other error; the per-field "
        "messages are in `errors`, keyed by field name (nested for object fields). Errors that "
        "Parlant raises itself with a message (e.g. \"Missing 'message' field for event\") have "
        "the same `detail` text here."
    ),
    "properties": {
        "detail": {"type": "string"},
        "errors": {
            "type": ["object", "array"],
            "additionalProperties": True,
            "description": "Field name → list of messages (or nested errors).",
        },
    },
    "required": ["detail"],
}
# Statuses every API operation may answer, besides those it declares itself.
COMMON_ERRORS = {
    "401": "Missing or invalid credentials.",
    "403": "The credentials do not allow this operation (or this session).",
    "404": "No such resource.",
    "422": "The request is invalid; `errors` says which fields and why.",
    "429": "Rate limited; Retry-After says when to try again.",
}


def add_function_views(endpoints: list) -> list:
    """Load the apps' declarations, and add the routes of /sessions/{session_id}/events.

    That path is an async function view (GET long-polls) that dispatches writes to a ViewSet;
    DRF's enumeration sees neither. Imported here, not at module level, because this module
    is the schema class that DRF imports while views are still being defined.
    """
    import behavior.schema  # noqa: F401
    from sessions_app import views
    from sessions_app.schema import EventListingDocumentation

    route = "/sessions/{session_id}/events"
    regex = r"^sessions/(?P<session_id>[^/]+)/events$"
    return [
        *endpoints,
        (route, regex, "GET", EventListingDocumentation.as_view({"get": "list"})),
        (route, regex, "POST", views._events_write_view),
        (route, regex, "DELETE", views._events_write_view),
    ]


def add_error_responses(result: dict, generator, request, public: bool) -> dict:
    """One error component, referenced by every operation's 4xx answers."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas[ERROR_COMPONENT] = ERROR_SCHEMA
    schemas[VALIDATION_ERROR_COMPONENT] = VALIDATION_ERROR_SCHEMA

    def content(component: str) -> dict:
        return {"application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}}}

    for path_item in result["paths"].values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for code, description in COMMON_ERRORS.items():
                responses.setdefault(code, {"description": description})
            for code, response in responses.items():
                if code == "422":
                    response["content"] = content(VALIDATION_ERROR_COMPONENT)
                elif code[0] in "45":
                    response["content"] = content(ERROR_COMPONENT)
    return result


class ParlantAutoSchema(AutoSchema):
    """operationIds are the names of Parlant's operations, as its own clients know them."""

    def get_operation_id(self) -> str:
        operations = getattr(self.view, "operations", {})
        declared = operations.get(getattr(self.view, "action", None) or self.method.lower())
        if isinstance(declared, Operation) and declared != Operation.ACCESS_API_DOCS:
            return declared.value
        return super().get_operation_id()


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "sessions_app.authentication.TokenAuthentication"
    name = ["bearerAuth", "apiKeyHeader"]
    priority = 1

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "description": (
                    "An API key (pk_…), a customer token from POST /auth/customer-tokens, or "
                    "the guest token handed out in X-Parlant-Guest-Token."
                ),
            },
            {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        ]
