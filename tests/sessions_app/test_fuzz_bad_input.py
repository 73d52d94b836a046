"""Bad input never gets a 5xx: generated bad values for every field of every write route, and odd
query strings for every read route. Every answer on the API's paths is JSON.

No schema is needed: the routes come from the URL resolver, each action's fields from the
serializers its code names, and each read route's parameters from the query keys its code reads.
Run against PostgreSQL in the distributed CI run (DATABASE_URL), SQLite otherwise.
"""

import inspect
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework import serializers
from rest_framework.test import APIClient

from sessions_app import views as session_views
from sessions_app.models import Customer, Event, Session
from sessions_app.services import customer_message_post

pytestmark = pytest.mark.django_db

PAGE_PREFIXES = ("admin/", "dashboard/", "widget/")


def deeply_nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


# Each replaces one field's value (top level or nested) in an otherwise plausible body.
BAD_VALUES = [
    None, "", "a\x00b", "\ud800", "x" * 20_000, 2**64, -(2**64), 2**40, -1, 1.5, True,
    [], ["\x00"], {}, {"k": "\x00"}, {"set": "x", "unset": 5, "add": 1, "remove": {}},
    {"set": {"k": "\ud800"}, "unset": [None]}, deeply_nested(40),
]
# Whole bodies, raw: not JSON objects, not JSON at all, or JSON no database could store.
BAD_BODIES = [
    "[]", '"x"', "5", "null", "{", "\x00", '{"a": "\\u0000"}', '{"a": "\\ud800"}',
    '{"a": ' * 5000 + "1" + "}" * 5000, "[" * 100_000, '{"n": 1e400}', '{"n": NaN}',
    '{"n": ' + "9" * 5000 + "}",
]
ODD_QUERY_VALUES = [
    "%00", "a%00b", "%ED%A0%80", "%FF", "-1", "99999999999999999999999", "4294967296", "1e3",
    "", "%5B%5D",
    "x" * 5000, "-9223372036854775809", "true", quote("ZXlK"), quote("LTE="),
]


@dataclass(frozen=True)
class Route:
    path: str
    method: str
    view_code: str  # the source of the action handling it
    view_module: object


def _callback_views(callback) -> Iterator[tuple[str, object, str]]:
    """(method, handler function, action name) for each method a URL's callback serves."""
    view_class = getattr(callback, "cls", None)
    actions = getattr(callback, "actions", None)
    if view_class is not None and actions:
        for method, action in actions.items():
            yield method, getattr(view_class, action), action
    elif view_class is not None:
        for method in ("get", "post", "put", "patch", "delete"):
            if hasattr(view_class, method):
                yield method, getattr(view_class, method), method
    elif callback is session_views.session_events:
        # Async GET; writes go to the DRF view behind it.
        yield "get", session_views.session_events, "list"
        yield "post", session_views._EventsWrite.create, "create"
        yield "delete", session_views._EventsWrite.destroy, "destroy"


def _patterns(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in resolver.url_patterns:
        pattern = prefix + str(entry.pattern).lstrip("^").rstrip("$")
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, pattern)
        else:
            yield pattern, entry


def api_routes() -> list[Route]:
    routes = []
    for pattern, entry in _patterns(get_resolver()):
        if not pattern or pattern.startswith(PAGE_PREFIXES):
            continue
        for method, handler, _ in _callback_views(entry.callback):
            routes.append(
                Route(pattern, method, inspect.getsource(handler), sys.modules[handler.__module__])
            )
    return routes


def serializers_named_in(route: Route) -> list[type[serializers.Serializer]]:
    found = []
    for name in sorted(set(re.findall(r"\b(\w+Serializer)\b", route.view_code))):
        candidate = getattr(route.view_module, name, None) or getattr(
            getattr(route.view_module, "serializers", None), name, None
        )
        if isinstance(candidate, type) and issubclass(candidate, serializers.Serializer):
            found.append(candidate)
    return found


def field_paths(serializer: serializers.Serializer, prefix=()) -> Iterator[tuple]:
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        yield (*prefix, name)
        if isinstance(field, serializers.Serializer):
            yield from field_paths(field, (*prefix, name))


class World:
    """The demo agent's whole behaviour plus a session with a few events, for path ids."""

    def __init__(self) -> None:
        call_command("seed_demo")
        from behavior import models as behavior_models

        self.session = Session.objects.create(
            agent_id="otto-carmen", customer=Customer.objects.create(name="Fuzz")
        )
        customer_message_post(session=self.session, message="Hello")
        self.event = Event.objects.filter(session=self.session).first()
        self.customer = self.session.customer
        self.ids = {
            "session_id": self.session.id,
            "event_id": self.event.id,
            "key": self.customer.id,
        }
        self.first_of = {
            "agents": "otto-carmen",
            "customers": self.customer.id,
            "sessions": self.session.id,
            "tags": behavior_models.Tag.objects.values_list("pk", flat=True).first(),
            "guidelines": behavior_models.Guideline.objects.values_list("pk", flat=True).first(),
            "relationships": behavior_models.Relationship.objects.values_list(
                "pk", flat=True
            ).first(),
            "journeys": behavior_models.Journey.objects.values_list("pk", flat=True).first(),
            "terms": behavior_models.GlossaryTerm.objects.values_list("pk", flat=True).first(),
            "context-variables": behavior_models.ContextVariable.objects.values_list(
                "pk", flat=True
            ).first(),
            "canned_responses": behavior_models.CannedResponse.objects.values_list(
                "pk", flat=True
            ).first(),
            "capabilities": behavior_models.Capability.objects.values_list("pk", flat=True).first(),
            "services": behavior_models.ToolService.objects.values_list("pk", flat=True).first(),
        }

    def url(self, pattern: str) -> str:
        resource = pattern.split("/", 1)[0]

        def fill(match: re.Match) -> str:
            name = match.group(1) or match.group(2)
            if name == "pk":
                return str(self.first_of.get(resource) or "missing")
            return str(self.ids.get(name, "missing"))

        filled = re.sub(r"\(\?P<(\w+)>[^)]*\)|<(?:\w+:)?(\w+)>", fill, pattern)
        return "/" + filled


def plausible(field: serializers.Field, world: World):
    """A value the field would probably accept, so a bad neighbour is what gets judged."""
    name = field.field_name or ""
    if name == "agent_id":
        return "otto-carmen"
    if name == "customer_id":
        return world.customer.id
    if isinstance(field, serializers.ChoiceField):
        return next(iter(field.choices))
    if isinstance(field, serializers.BooleanField):
        return False
    if isinstance(field, serializers.IntegerField | serializers.FloatField):
        return 1
    if isinstance(field, serializers.ListField):
        return []
    if isinstance(field, serializers.Serializer):
        return {key: plausible(child, world) for key, child in field.fields.items()
                if not child.read_only and child.required}
    if isinstance(field, serializers.DictField | serializers.JSONField):
        return {}
    return "fuzz"


def base_body(serializer_class, world: World) -> dict:
    serializer = serializer_class()
    return {name: plausible(field, world) for name, field in serializer.fields.items()
            if not field.read_only}


def with_value(body: dict, path: tuple, value) -> dict:
    body = json.loads(json.dumps(body))
    target = body
    for key in path[:-1]:
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target = target[key]
    target[path[-1]] = value
    return body


def query_keys(route: Route) -> set[str]:
    keys = set(re.findall(r"query_params\.(?:get|getlist)\(\s*\"(\w+)\"", route.view_code))
    if "paginate(" in route.view_code:
        keys |= {"limit", "cursor", "sort"}
    if route.view_code.startswith("@csrf_exempt"):  # the long-poll's query serializer
        keys |= set(session_views.EventListQuerySerializer().fields)
    for serializer in serializers_named_in(route):
        if "Query" in serializer.__name__:
            keys |= set(serializer().fields)
    return keys


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def client() -> APIClient:
    # 5xx answers are what this test looks for: let them come back as responses.
    return APIClient(raise_request_exception=False)


def assert_clean_answer(response, what: str) -> None:
    assert response.status_code < 500, f"{what} -> {response.status_code} {response.content[:300]}"
    if response.status_code >= 400:
        assert response["Content-Type"].startswith("application/json"), what
        assert json.loads(response.content)["detail"], what


def test_every_field_of_every_write_route_refuses_bad_values_without_a_5xx(world, client):
    routes = [route for route in api_routes() if route.method in ("post", "put", "patch")]
    assert len(routes) >= 20  # the walk found the API, not just a corner of it
    sent = 0
    for route in routes:
        url = world.url(route.path)
        method = getattr(client, route.method)
        for raw in BAD_BODIES:
            response = method(url, raw, content_type="application/json")
            assert_clean_answer(response, f"{route.method} {url} body {raw[:40]!r}")
            sent += 1
        for serializer_class in serializers_named_in(route):
            body = base_body(serializer_class, world)
            for path in field_paths(serializer_class()):
                for value in BAD_VALUES:
                    # Encoded here, ASCII-escaped, as a client would send a lone surrogate.
                    response = method(
                        url,
                        json.dumps(with_value(body, path, value)),
                        content_type="application/json",
                    )
                    assert_clean_answer(
                        response, f"{route.method} {url} {'.'.join(path)}={str(value)[:40]!r}"
                    )
                    sent += 1
    assert sent > 1000


def test_every_read_route_answers_odd_query_strings_without_a_5xx(world, client):
    # Reads first: the deletes that follow may remove what the reads look at.
    routes = sorted(
        (route for route in api_routes() if route.method in ("get", "delete")),
        key=lambda route: route.method == "delete",
    )
    for route in routes:
        url = world.url(route.path)
        keys = query_keys(route) | {"\x00"}
        for key in sorted(keys):
            for value in ODD_QUERY_VALUES:
                # Never wait (a long-poll answers at once when asked not to wait for data),
                # and page, so that cursors are read.
                base = {"wait_for_data": "0", "limit": "2"}
                base.pop(key, None)
                query = f"{quote(key)}={value}&" + "&".join(f"{k}={v}" for k, v in base.items())
                response = getattr(client, route.method)(f"{url}?{query}")
                assert_clean_answer(response, f"{route.method} {url}?{query}")


@pytest.mark.parametrize(
    "path", ["/agents/", "/evaluation", "/sessions/nope/events/nope/more", "/nothing-here"]
)
def test_unknown_api_paths_answer_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_bad_ids_in_paths_answer_json_4xx(world, client):
    for path in ["/sessions/%00", "/sessions/%ED%A0%80/events", "/agents/" + "x" * 5000]:
        response = client.get(path)
        assert_clean_answer(response, path)
        assert response.status_code in (400, 404)


@pytest.mark.urls("tests.sessions_app.failing_urls")
def test_a_server_error_on_an_api_path_is_json_without_internals(client):
    response = client.get("/failing")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error."}
    assert b"hunter2" not in response.content
