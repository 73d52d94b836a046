"""Rate limits per operation and per client: 429 with Retry-After, in the strict policy."""

import time

import pytest
from django.core.cache import cache

from sessions_app.authentication import issue_customer_token
from sessions_app.models import ApiKey
from sessions_app.services import api_key_create
from tests.builders import make_agent, make_customer, make_session

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def strict_limits(settings):
    settings.PARLANT_AUTHORIZATION_POLICY = "sessions_app.permissions.StrictAuthorizationPolicy"
    settings.PARLANT_RATE_LIMITS = {"create_guest_session": "3/min", "list_events": "2/min",
                                    "create_customer_event": "2/min"}
    cache.clear()
    yield
    cache.clear()


def open_guest_session(api_client, agent, address="10.0.0.1"):
    return api_client.post("/sessions", {"agent_id": agent.id}, format="json",
                           REMOTE_ADDR=address)


def test_the_fourth_guest_session_in_a_minute_is_refused_with_retry_after(api_client):
    agent = make_agent()
    for _ in range(3):
        assert open_guest_session(api_client, agent).status_code == 201
    refused = open_guest_session(api_client, agent)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "throttled" in refused.json()["detail"].lower()


def test_limits_count_per_client(api_client):
    agent = make_agent()
    for _ in range(3):
        open_guest_session(api_client, agent, address="10.0.0.1")
    assert open_guest_session(api_client, agent, address="10.0.0.1").status_code == 429
    assert open_guest_session(api_client, agent, address="10.0.0.2").status_code == 201


def test_limits_count_per_operation(api_client):
    customer = make_customer()
    session = make_session(customer=customer)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_customer_token(customer.id)}")
    message = {"kind": "message", "source": "customer", "message": "hi"}
    for _ in range(2):
        assert api_client.post(f"/sessions/{session.id}/events", message,
                               format="json").status_code == 201
    assert api_client.post(f"/sessions/{session.id}/events", message,
                           format="json").status_code == 429
    # Reading the session is another operation with its own budget.
    assert api_client.get(f"/sessions/{session.id}").status_code == 200


def test_the_long_poll_is_limited_too(api_client):
    customer = make_customer()
    session = make_session(customer=customer)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_customer_token(customer.id)}")
    path = f"/sessions/{session.id}/events?wait_for_data=0"
    # Refusals first: an answered long-poll returns its database connection, ending the test's
    # transaction, so it comes last.
    now = time.time()
    cache.set("throttle:list_events:customer:" + customer.id, [now, now])
    refused = api_client.get(path)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    cache.clear()
    assert api_client.get(path).status_code == 200


def test_admins_are_not_limited(api_client):
    agent = make_agent()
    _, raw_key = api_key_create(name="ops", role=ApiKey.Role.ADMIN)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    for _ in range(5):
        assert open_guest_session(api_client, agent).status_code == 201


def test_the_development_policy_does_not_limit(api_client, settings):
    settings.PARLANT_AUTHORIZATION_POLICY = (
        "sessions_app.permissions.DevelopmentAuthorizationPolicy"
    )
    agent = make_agent()
    for _ in range(5):
        assert open_guest_session(api_client, agent).status_code == 201
