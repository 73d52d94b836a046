"""The API describes itself: a valid OpenAPI 3.1 document covering every route, and its docs."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import URLPattern, URLResolver, get_resolver
from openapi_spec_validator import validate
from rest_framework.views import APIView

from sessions_app.views import session_events

pytestmark = pytest.mark.django_db

# The schema and docs views describe the API; they are not part of it.
DOCUMENTATION_ROUTES = {"/openapi.json", "/docs", "/redoc"}


def _normalized(route: str) -> str:
    """One spelling for a path whatever its parameter syntax: `/a/{}/b`."""
    route = "/" + route.lstrip("^/").rstrip("$")
    route = re.sub(r"\(\?P<\w+>[^)]*\)", "{}", route)
    route = re.sub(r"<(?:\w+:)?\w+>", "{}", route)
    return re.sub(r"\{\w+\}", "{}", route)


def api_routes(patterns=None, prefix: str = ""):
    """(path, methods) of every REST framework view in the URL configuration, and the events
    listing (an async function view for long-polling)."""
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            yield from api_routes(pattern.url_patterns, prefix + str(pattern.pattern))
            continue
        if not isinstance(pattern, URLPattern):
            continue
        route = _normalized(prefix + str(pattern.pattern))
        view_class = getattr(pattern.callback, "cls", None)
        if pattern.callback is session_events:
            yield route, {"get", "post", "delete"}
        elif view_class is not None and issubclass(view_class, APIView):
            if route in DOCUMENTATION_ROUTES:
                continue
            actions = getattr(pattern.callback, "actions", None)
            if actions is not None:
                methods = set(actions) & set(view_class.http_method_names)
            else:
                methods = {m for m in view_class.http_method_names if hasattr(view_class, m)}
            yield route, methods - {"options", "head"}


@pytest.fixture
def schema(api_client) -> dict:
    response = api_client.get("/openapi.json")
    assert response.status_code == 200, response.content
    return response.json()


def test_it_serves_a_valid_openapi_3_1_document(schema):
    validate(schema)
    assert schema["openapi"].startswith("3.1")


def test_it_covers_every_route_and_method(schema):
    documented: dict[str, set[str]] = {}
    for path, item in schema["paths"].items():
        documented.setdefault(_normalized(path), set()).update(
            method for method in item if method != "parameters"
        )
    routes = list(api_routes())
    assert len(routes) > 25
    missing = [
        f"{method.upper()} {route}"
        for route, methods in routes
        for method in sorted(methods)
        if method not in documented.get(route, set())
    ]
    assert missing == []


def test_operations_are_named_as_parlant_names_them(schema):
    operation_ids = {
        operation["operationId"]
        for item in schema["paths"].values()
        for method, operation in item.items()
        if method != "parameters"
    }
    assert {
        "create_session", "list_events", "create_event", "read_event", "create_agent",
        "list_guidelines", "update_context_variable_value",
    } <= operation_ids


def test_it_describes_requests_responses_errors_and_authentication(schema):
    components = schema["components"]
    assert {"bearerAuth", "apiKeyHeader"} <= set(components["securitySchemes"])
    assert schema["components"]["schemas"]["Error"]["required"] == ["detail"]

    create_event = schema["paths"]["/sessions/{session_id}/events"]["post"]
    body = create_event["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    request_fields = components["schemas"][body.rsplit("/", 1)[1]]["properties"]
    assert {"kind", "source", "message", "status", "guidelines"} <= set(request_fields)
    assert "409" in create_event["responses"]
    validation = create_event["responses"]["422"]["content"]["application/json"]["schema"]
    assert validation == {"$ref": "#/components/schemas/ValidationError"}
    assert "Parlant" in components["schemas"]["ValidationError"]["description"]
    not_found = create_event["responses"]["404"]["content"]["application/json"]["schema"]
    assert not_found == {"$ref": "#/components/schemas/Error"}

    list_events = schema["paths"]["/sessions/{session_id}/events"]["get"]
    parameters = {parameter["name"] for parameter in list_events["parameters"]}
    assert {"min_offset", "wait_for_data", "kinds", "trace_id", "sse"} <= parameters
    assert "text/event-stream" in list_events["responses"]["200"]["content"]
    assert "504" in list_events["responses"]

    create_session = schema["paths"]["/sessions"]["post"]
    assert "allow_greeting" in {parameter["name"] for parameter in create_session["parameters"]}


def test_validation_errors_answer_in_the_documented_shape(api_client):
    response = api_client.post("/sessions", {"agent_id": 5, "labels": "x"}, format="json")
    assert response.status_code == 422
    body = response.json()
    assert isinstance(body["detail"], str)
    assert set(body["errors"]) == {"agent_id", "labels"}


def test_evaluations_answer_a_json_404_that_names_the_missing_feature(api_client):
    for response in (api_client.post("/evaluations", {}, format="json"),
                     api_client.get("/evaluations/some-id")):
        assert response.status_code == 404
        assert response.json()["detail"].startswith("Evaluations are not supported")


def test_the_interactive_docs_are_served_from_the_project_itself(api_client):
    for path in ("/docs", "/redoc"):
        page = api_client.get(path)
        assert page.status_code == 200
        html = page.content.decode()
        assert "/openapi.json" in html
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources, html
        for source in sources:
            assert not source.startswith(("http:", "https:", "//")), source
            if source.startswith("/static/"):
                assert finders.find(source.removeprefix("/static/")), source
