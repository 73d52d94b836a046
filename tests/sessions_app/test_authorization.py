"""Who may do what: every role against every operation, then the same through the API.

The expectations are written out here by hand, so that a change to the policy's tables shows up
as a failing line rather than passing silently.
"""

import time

import jwt
import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import override_settings

from sessions_app.authentication import issue_customer_token, issue_guest_token
from sessions_app.models import GUEST_CUSTOMER_ID, ApiKey, Session
from sessions_app.permissions import (
    GUEST_SESSION_METADATA_KEY,
    DevelopmentAuthorizationPolicy,
    Operation,
    Principal,
    Role,
    StrictAuthorizationPolicy,
)
from sessions_app.services import api_key_create, api_key_revoke, guest_customer
from tests.builders import make_agent, make_customer, make_session

STRICT = "sessions_app.permissions.StrictAuthorizationPolicy"
JWT_SECRET = "a-shared-secret-long-enough-for-hs256-use"

_AGENT_READ = {"read_agent", "read_agent_description"}
_CONVERSING = {"read_session", "list_events", "read_event", "create_customer_event",
               "create_status_event"}


def _crud(resource: str, plural: str) -> set[str]:
    return {f"create_{resource}", f"read_{resource}", f"list_{plural}", f"update_{resource}",
            f"delete_{resource}"}


EXPECTED_OPERATIONS: dict[Role, set[str]] = {
    Role.ANONYMOUS: {"create_guest_session", *_AGENT_READ},
    Role.GUEST: {"create_guest_session", *_AGENT_READ, *_CONVERSING},
    Role.CUSTOMER: {"create_customer_session", "list_sessions", *_AGENT_READ, *_CONVERSING},
    Role.APP: {
        *_AGENT_READ, "list_agents", "access_api_docs", *_crud("customer", "customers"),
        "create_guest_session", "create_customer_session", "issue_customer_token",
        *_CONVERSING, "list_sessions", "update_session", "delete_session", "delete_sessions",
        "create_custom_event", "create_non_customer_event", "override_customer_participant",
        "update_event", "delete_events",
        "read_context_variable_value", "update_context_variable_value",
        "delete_context_variable_value", "create_agent_event",
    },
    Role.OPERATOR: {
        *_AGENT_READ, "list_agents", "access_integrated_ui", "read_customer", "list_customers",
        "read_session", "list_sessions", "update_session", "list_events", "read_event",
        "update_event", "create_human_agent_event",
        "create_human_agent_on_behalf_of_ai_agent_event", "create_status_event",
        "create_custom_event", "create_non_customer_event", "read_turns", "create_agent_event",
    },
    Role.EDITOR: {
        "access_integrated_ui", "access_api_docs", "read_turns",
        *_crud("agent", "agents"), "read_agent_description",
        *_crud("canned_response", "canned_responses"), *_crud("capability", "capabilities"),
        *_crud("context_variable", "context_variables"), "delete_context_variables",
        "read_context_variable_value", "update_context_variable_value",
        "delete_context_variable_value",
        *_crud("term", "terms"), *_crud("guideline", "guidelines"),
        *_crud("journey", "journeys"), *_crud("tag", "tags"),
        "create_relationship", "read_relationship", "list_relationships", "delete_relationship",
        "update_service", "read_service", "list_services", "delete_service",
        "create_evaluation", "read_evaluation",
    },
    Role.MONITORING: {"read_metrics"},
    Role.ADMIN: {operation.value for operation in Operation},
}


@pytest.mark.parametrize("role", list(Role))
def test_the_strict_policy_grants_each_role_exactly_its_operations(role):
    policy = StrictAuthorizationPolicy()
    principal = Principal(roles=frozenset({role}), client_key="test")
    allowed = {op.value for op in Operation if policy.check_permission(principal, op)}
    assert allowed - EXPECTED_OPERATIONS[role] == set(), "granted but not expected"
    assert EXPECTED_OPERATIONS[role] - allowed == set(), "expected but not granted"


def test_an_undeclared_action_is_for_admins_only():
    policy = StrictAuthorizationPolicy()
    assert policy.check_permission(Principal(frozenset({Role.ADMIN}), "a"), None)
    for role in set(Role) - {Role.ADMIN}:
        assert not policy.check_permission(Principal(frozenset({role}), "x"), None)


def test_the_development_policy_allows_everything_to_everyone():
    policy = DevelopmentAuthorizationPolicy()
    anonymous = Principal(frozenset({Role.ANONYMOUS}), "ip:1.2.3.4")
    assert all(policy.check_permission(anonymous, op) for op in Operation)


# --- The same decisions through the API -----------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def strict(settings):
    settings.PARLANT_AUTHORIZATION_POLICY = STRICT
    settings.PARLANT_JWT_SECRET = JWT_SECRET


class World:
    """An agent, a customer with a session, and a guest with a session of their own."""

    def __init__(self) -> None:
        self.agent = make_agent()
        self.customer = make_customer()
        self.customer_session = make_session(agent=self.agent, customer=self.customer)
        self.guest_id = "guest-instance-1"
        self.guest_session = self.new_guest_session()

    def new_guest_session(self) -> Session:
        return make_session(
            agent=self.agent, customer=guest_customer(),
            metadata={GUEST_SESSION_METADATA_KEY: self.guest_id},
        )


def credentials_for(name: str, world: World, api_client, django_user_model) -> Role:
    """Sets up api_client as `name` and returns the role the request should be judged as."""
    if name == "anonymous":
        return Role.ANONYMOUS
    if name == "guest":
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_guest_token(world.guest_id)}")
        return Role.GUEST
    if name == "customer":
        token = issue_customer_token(world.customer.id)
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return Role.CUSTOMER
    if name == "operator_login":
        call_command("create_operator", "olga", password="pw")
        api_client.force_login(django_user_model.objects.get(username="olga"))
        return Role.OPERATOR
    if name == "app_jwt":
        token = jwt.encode({"sub": "crm", "role": "app", "exp": int(time.time()) + 60},
                           JWT_SECRET, algorithm="HS256")
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return Role.APP
    _, raw_key = api_key_create(name=f"{name} key", role=name)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return Role(name)


def own_session(world: World, role: Role) -> Session:
    return world.guest_session if role == Role.GUEST else world.customer_session


def fresh_own_session(world: World, role: Role) -> Session:
    if role == Role.GUEST:
        return world.new_guest_session()
    return make_session(agent=world.agent, customer=world.customer)


def _events(world, role):
    return f"/sessions/{own_session(world, role).id}/events"


# name: (operation for the role, method, path(world, role), body(world, role))
CASES = {
    "open a session naming no customer": (
        lambda role: "create_customer_session" if role == Role.CUSTOMER else "create_guest_session",
        "post", lambda w, r: "/sessions", lambda w, r: {"agent_id": w.agent.id}),
    "open a session for a customer": (
        "create_customer_session", "post", lambda w, r: "/sessions",
        lambda w, r: {"agent_id": w.agent.id, "customer_id": w.customer.id}),
    "list sessions": ("list_sessions", "get", lambda w, r: "/sessions", None),
    "read a session": ("read_session", "get", lambda w, r: f"/sessions/{own_session(w, r).id}",
                       None),
    "rename a session": ("update_session", "patch",
                         lambda w, r: f"/sessions/{own_session(w, r).id}",
                         lambda w, r: {"title": "renamed"}),
    "delete a session": ("delete_session", "delete",
                         lambda w, r: f"/sessions/{fresh_own_session(w, r).id}", None),
    "delete sessions": ("delete_sessions", "delete", lambda w, r: "/sessions?customer_id=none",
                        None),
    "list events": ("list_events", "get", lambda w, r: _events(w, r) + "?wait_for_data=0", None),
    "write as the customer": (
        "create_customer_event", "post", _events,
        lambda w, r: {"kind": "message", "source": "customer", "message": "hi"}),
    "write as the customer under another name": (
        "override_customer_participant", "post", _events,
        lambda w, r: {"kind": "message", "source": "customer", "message": "hi",
                      "participant": {"display_name": "Someone else"}}),
    "write as a human agent": (
        "create_human_agent_event", "post", _events,
        lambda w, r: {"kind": "message", "source": "human_agent", "message": "hello",
                      "participant": {"display_name": "Olga"}}),
    "write on behalf of the AI agent": (
        "create_human_agent_on_behalf_of_ai_agent_event", "post", _events,
        lambda w, r: {"kind": "message", "source": "human_agent_on_behalf_of_ai_agent",
                      "message": "hello"}),
    "post a status": ("create_status_event", "post", _events,
                      lambda w, r: {"kind": "status", "source": "customer_ui",
                                    "status": "typing"}),
    "post a custom event": ("create_non_customer_event", "post", _events,
                            lambda w, r: {"kind": "custom", "source": "system",
                                          "data": {"cart": 2}}),
    "post a custom event as the customer": (
        "create_custom_event", "post", _events,
        lambda w, r: {"kind": "custom", "source": "customer", "data": {"cart": 2}}),
    "post a status as the agent": ("create_non_customer_event", "post", _events,
                                   lambda w, r: {"kind": "status", "source": "ai_agent",
                                                 "status": "typing"}),
    "read the turns' explanations": ("read_turns", "get",
                                     lambda w, r: f"/sessions/{own_session(w, r).id}/turns",
                                     None),
    "delete events": ("delete_events", "delete", lambda w, r: _events(w, r) + "?min_offset=0",
                      None),
    "create a customer": ("create_customer", "post", lambda w, r: "/customers",
                          lambda w, r: {"name": "Noa"}),
    "list customers": ("list_customers", "get", lambda w, r: "/customers", None),
    "read a customer": ("read_customer", "get", lambda w, r: f"/customers/{w.customer.id}", None),
    "update a customer": ("update_customer", "patch", lambda w, r: f"/customers/{w.customer.id}",
                          lambda w, r: {"name": "Dana B."}),
    "delete a customer": ("delete_customer", "delete",
                          lambda w, r: f"/customers/{make_customer().id}", None),
    "issue a customer token": ("issue_customer_token", "post",
                               lambda w, r: "/auth/customer-tokens",
                               lambda w, r: {"customer_id": w.customer.id}),
}
CREDENTIALS = ["anonymous", "guest", "customer", "app", "app_jwt", "operator", "operator_login",
               "editor", "admin"]


@pytest.mark.django_db
@pytest.mark.usefixtures("strict")
@pytest.mark.parametrize("credential", CREDENTIALS)
@pytest.mark.parametrize("case", list(CASES))
def test_the_api_enforces_the_matrix(case, credential, api_client, django_user_model):
    world = World()
    role = credentials_for(credential, world, api_client, django_user_model)
    operation, method, path, body = CASES[case]
    operation = operation(role) if callable(operation) else operation
    response = getattr(api_client, method)(
        path(world, role), body(world, role) if body else None, format="json"
    )
    if operation in EXPECTED_OPERATIONS[role]:
        assert response.status_code not in (401, 403), response.content
        assert response.status_code < 500
    else:
        assert response.status_code in (401, 403), response.content
        assert response.json()["detail"]


# --- Ownership, credentials and settings ----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("strict")
def test_a_customer_reaches_only_their_own_sessions(api_client):
    world = World()
    other = make_session(agent=world.agent, customer=make_customer(name="Eli"))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_customer_token(world.customer.id)}")
    assert api_client.get(f"/sessions/{world.customer_session.id}").status_code == 200
    assert api_client.get(f"/sessions/{other.id}").status_code == 403
    assert api_client.get(f"/sessions/{other.id}/events?wait_for_data=0").status_code == 403
    message = {"kind": "message", "source": "customer", "message": "hi"}
    assert api_client.post(f"/sessions/{other.id}/events", message, format="json").status_code \
        == 403
    listed = api_client.get("/sessions").json()
    assert [session["id"] for session in listed] == [world.customer_session.id]
    refused = api_client.post(
        "/sessions", {"agent_id": world.agent.id, "customer_id": other.customer_id}, format="json"
    )
    assert refused.status_code == 403


@pytest.mark.django_db
@pytest.mark.usefixtures("strict")
def test_a_guest_gets_a_token_for_the_session_it_opens_and_nothing_else(api_client):
    agent = make_agent()
    created = api_client.post("/sessions", {"agent_id": agent.id}, format="json")
    assert created.status_code == 201
    token = created["X-Parlant-Guest-Token"]
    assert created.json()["customer_id"] == GUEST_CUSTOMER_ID
    assert created.json()["metadata"] == {}  # the guest binding stays server-side
    stranger = make_session(agent=agent, customer=guest_customer(),
                            metadata={GUEST_SESSION_METADATA_KEY: "someone-else"})

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    own = created.json()["id"]
    assert api_client.get(f"/sessions/{stranger.id}/events?wait_for_data=0").status_code == 403
    second = api_client.post("/sessions", {"agent_id": agent.id}, format="json")
    assert second.status_code == 201
    assert "X-Parlant-Guest-Token" not in second  # the same guest keeps the same token
    assert api_client.get(f"/sessions/{second.json()['id']}").status_code == 200
    # Last: a long-poll hands its database connection back, which ends the test's transaction.
    assert api_client.get(f"/sessions/{own}/events?wait_for_data=0").status_code == 200


@pytest.mark.django_db
@pytest.mark.usefixtures("strict")
def test_bad_credentials_answer_401_with_a_message(api_client, settings):
    session = make_session()
    path = f"/sessions/{session.id}"
    for token in ("pk_not-a-real-key", "ct.tampered:token", "not.a.jwt", "gibberish"):
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        response = api_client.get(path)
        assert response.status_code == 401, token
        assert response.json()["detail"]
    api_client.credentials(HTTP_AUTHORIZATION="Bearer gibberish")
    assert api_client.get(f"{path}/events?wait_for_data=0").status_code == 401

    expired = jwt.encode({"sub": "crm", "role": "app", "exp": int(time.time()) - 5},
                         JWT_SECRET, algorithm="HS256")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {expired}")
    assert "expired" in api_client.get(path).json()["detail"]
    forged = jwt.encode({"sub": "crm", "role": "admin", "exp": int(time.time()) + 60},
                        "another-secret-of-sufficient-length-xx", algorithm="HS256")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert api_client.get(path).status_code == 401

    settings.PARLANT_CUSTOMER_TOKEN_MAX_AGE_SECONDS = -1
    token = issue_customer_token(session.customer_id)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert "expired" in api_client.get(path).json()["detail"]


@pytest.mark.django_db
@pytest.mark.usefixtures("strict")
def test_a_revoked_api_key_stops_working_and_only_its_hash_is_stored(api_client):
    api_key, raw_key = api_key_create(name="CRM", role=ApiKey.Role.APP)
    assert raw_key not in (api_key.key_hash, api_key.prefix)
    assert not ApiKey.objects.filter(key_hash=raw_key).exists()
    api_client.credentials(HTTP_X_API_KEY=raw_key)
    assert api_client.get("/customers").status_code == 200
    api_key.refresh_from_db()
    assert api_key.last_used_at is not None
    api_key_revoke(api_key_id=api_key.id)
    assert api_client.get("/customers").status_code == 401


@pytest.mark.django_db
def test_the_embedded_default_lets_anonymous_clients_do_everything(api_client):
    session = make_session()
    assert api_client.get("/customers").status_code == 200
    assert api_client.patch(f"/sessions/{session.id}", {"mode": "manual"},
                            format="json").status_code == 200
    assert api_client.delete(f"/sessions/{session.id}").status_code == 204


@pytest.mark.django_db
def test_a_customer_token_can_be_minted_by_an_app(api_client, settings):
    settings.PARLANT_AUTHORIZATION_POLICY = STRICT
    customer = make_customer()
    _, raw_key = api_key_create(name="shop", role=ApiKey.Role.APP)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    minted = api_client.post("/auth/customer-tokens", {"customer_id": customer.id}, format="json")
    assert minted.status_code == 201
    unknown = api_client.post("/auth/customer-tokens", {"customer_id": "nobody"}, format="json")
    assert unknown.status_code == 422

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {minted.json()['token']}")
    opened = api_client.post("/sessions", {"agent_id": make_agent().id}, format="json")
    assert opened.status_code == 201
    assert opened.json()["customer_id"] == customer.id


def test_production_settings_refuse_the_development_policy():
    from sessions_app.checks import check_authorization_policy

    development = "sessions_app.permissions.DevelopmentAuthorizationPolicy"
    with override_settings(DEBUG=False, PARLANT_AUTHORIZATION_POLICY=development):
        assert [error.id for error in check_authorization_policy(None)] == ["parlant.E103"]
    with override_settings(DEBUG=True, PARLANT_AUTHORIZATION_POLICY=development):
        assert check_authorization_policy(None) == []
    with override_settings(DEBUG=False, PARLANT_AUTHORIZATION_POLICY=STRICT):
        assert check_authorization_policy(None) == []
    with override_settings(PARLANT_AUTHORIZATION_POLICY="nowhere.Policy"):
        assert [error.id for error in check_authorization_policy(None)] == ["parlant.E101"]
