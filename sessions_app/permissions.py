"""Who may do what: one operation per API action, decided by a replaceable policy.

Operations are named as Parlant's `Operation` enum names them. A view declares which operation
each of its actions is:

    class GuidelineViewSet(viewsets.ModelViewSet):
        operations = {
            "list": Operation.LIST_GUIDELINES,
            "retrieve": Operation.READ_GUIDELINE,
            "create": Operation.CREATE_GUIDELINE,
            "partial_update": Operation.UPDATE_GUIDELINE,
            "destroy": Operation.DELETE_GUIDELINE,
        }

`OperationPermission` and `OperationRateThrottle` (the REST framework defaults in settings) read
that mapping; an action missing from it is refused to everyone but admins by the strict policy.

The policy is `settings.PARLANT_AUTHORIZATION_POLICY` (a dotted path). The development policy
lets everything through, as Parlant's does; the strict policy grants operations by role and
keeps customers and guests to their own sessions.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils.module_loading import import_string
from rest_framework import permissions

from sessions_app.models import GUEST_CUSTOMER_ID, Session

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

# Session metadata key that ties a guest's session to the guest's token (Parlant's name).
GUEST_SESSION_METADATA_KEY = "__guest_instance_id__"


class Operation(enum.StrEnum):
    ACCESS_INTEGRATED_UI = "access_integrated_ui"
    ACCESS_API_DOCS = "access_api_docs"

    CREATE_AGENT = "create_agent"
    READ_AGENT = "read_agent"
    READ_AGENT_DESCRIPTION = "read_agent_description"
    LIST_AGENTS = "list_agents"
    UPDATE_AGENT = "update_agent"
    DELETE_AGENT = "delete_agent"

    CREATE_CANNED_RESPONSE = "create_canned_response"
    READ_CANNED_RESPONSE = "read_canned_response"
    LIST_CANNED_RESPONSES = "list_canned_responses"
    UPDATE_CANNED_RESPONSE = "update_canned_response"
    DELETE_CANNED_RESPONSE = "delete_canned_response"

    CREATE_CAPABILITY = "create_capability"
    READ_CAPABILITY = "read_capability"
    LIST_CAPABILITIES = "list_capabilities"
    UPDATE_CAPABILITY = "update_capability"
    DELETE_CAPABILITY = "delete_capability"

    CREATE_CONTEXT_VARIABLE = "create_context_variable"
    READ_CONTEXT_VARIABLE = "read_context_variable"
    LIST_CONTEXT_VARIABLES = "list_context_variables"
    UPDATE_CONTEXT_VARIABLE = "update_context_variable"
    DELETE_CONTEXT_VARIABLE = "delete_context_variable"
    DELETE_CONTEXT_VARIABLES = "delete_context_variables"
    READ_CONTEXT_VARIABLE_VALUE = "read_context_variable_value"
    UPDATE_CONTEXT_VARIABLE_VALUE = "update_context_variable_value"
    DELETE_CONTEXT_VARIABLE_VALUE = "delete_context_variable_value"

    CREATE_CUSTOMER = "create_customer"
    READ_CUSTOMER = "read_customer"
    LIST_CUSTOMERS = "list_customers"
    UPDATE_CUSTOMER = "update_customer"
    DELETE_CUSTOMER = "delete_customer"

    CREATE_EVALUATION = "create_evaluation"
    READ_EVALUATION = "read_evaluation"

    CREATE_TERM = "create_term"
    READ_TERM = "read_term"
    LIST_TERMS = "list_terms"
    UPDATE_TERM = "update_term"
    DELETE_TERM = "delete_term"

    CREATE_GUIDELINE = "create_guideline"
    READ_GUIDELINE = "read_guideline"
    LIST_GUIDELINES = "list_guidelines"
    UPDATE_GUIDELINE = "update_guideline"
    DELETE_GUIDELINE = "delete_guideline"

    CREATE_JOURNEY = "create_journey"
    READ_JOURNEY = "read_journey"
    LIST_JOURNEYS = "list_journeys"
    UPDATE_JOURNEY = "update_journey"
    DELETE_JOURNEY = "delete_journey"

    CREATE_RELATIONSHIP = "create_relationship"
    READ_RELATIONSHIP = "read_relationship"
    LIST_RELATIONSHIPS = "list_relationships"
    DELETE_RELATIONSHIP = "delete_relationship"

    UPDATE_SERVICE = "update_service"
    READ_SERVICE = "read_service"
    LIST_SERVICES = "list_services"
    DELETE_SERVICE = "delete_service"

    # Parlant leaves tags outside its policy; here they are authoring resources like the rest.
    CREATE_TAG = "create_tag"
    READ_TAG = "read_tag"
    LIST_TAGS = "list_tags"
    UPDATE_TAG = "update_tag"
    DELETE_TAG = "delete_tag"

    CREATE_GUEST_SESSION = "create_guest_session"
    CREATE_CUSTOMER_SESSION = "create_customer_session"
    READ_SESSION = "read_session"
    LIST_SESSIONS = "list_sessions"
    UPDATE_SESSION = "update_session"
    DELETE_SESSION = "delete_session"
    DELETE_SESSIONS = "delete_sessions"
    CREATE_CUSTOMER_EVENT = "create_customer_event"
    CREATE_AGENT_EVENT = "create_agent_event"
    CREATE_HUMAN_AGENT_EVENT = "create_human_agent_event"
    CREATE_HUMAN_AGENT_ON_BEHALF_OF_AI_AGENT_EVENT = (
        "create_human_agent_on_behalf_of_ai_agent_event"
    )
    OVERRIDE_CUSTOMER_PARTICIPANT = "override_customer_participant"
    CREATE_STATUS_EVENT = "create_status_event"
    CREATE_CUSTOM_EVENT = "create_custom_event"
    LIST_EVENTS = "list_events"
    READ_EVENT = "read_event"
    DELETE_EVENTS = "delete_events"
    UPDATE_EVENT = "update_event"

    STREAM_LOGS = "stream_logs"

    # Ours: an application mints the signed token its customer's widget presents.
    ISSUE_CUSTOMER_TOKEN = "issue_customer_token"
    # Ours: the engine's trace of each turn is the business's behaviour model (guideline texts,
    # journeys, tool arguments), so it is for staff who run or shape the agent, not customers.
    READ_TURNS = "read_turns"
    # Ours: a status or custom event in the name of the agent, a human agent or the system;
    # customers and guests may post only their own (customer-sourced) events.
    CREATE_NON_CUSTOMER_EVENT = "create_non_customer_event"
    # Ours: Prometheus scrapes /metrics.
    READ_METRICS = "read_metrics"


class Role(enum.StrEnum):
    ANONYMOUS = "anonymous"
    GUEST = "guest"
    CUSTOMER = "customer"
    APP = "app"
    OPERATOR = "operator"
    EDITOR = "editor"
    MONITORING = "monitoring"
    ADMIN = "admin"


_AUTHORING_PREFIXES = (
    "agent", "canned_response", "capabilit", "context_variable", "term", "guideline", "journey",
    "relationship", "service", "tag", "evaluation",
)


def _authoring_operations() -> frozenset[Operation]:
    return frozenset(
        operation for operation in Operation
        if operation.value.split("_", 1)[-1].startswith(_AUTHORING_PREFIXES)
        and not operation.value.endswith(("_event", "_events"))  # create_agent_event
    )


_ANONYMOUS = frozenset({
    Operation.CREATE_GUEST_SESSION, Operation.READ_AGENT, Operation.READ_AGENT_DESCRIPTION,
})
_CONVERSING = frozenset({
    Operation.READ_SESSION, Operation.LIST_EVENTS, Operation.READ_EVENT,
    Operation.CREATE_CUSTOMER_EVENT, Operation.CREATE_STATUS_EVENT,
})
_READ_AGENTS = frozenset({
    Operation.READ_AGENT, Operation.READ_AGENT_DESCRIPTION, Operation.LIST_AGENTS,
})

# Which operations each role may attempt at all; ownership of sessions is checked separately.
ROLE_OPERATIONS: dict[Role, frozenset[Operation]] = {
    Role.ANONYMOUS: _ANONYMOUS,
    Role.GUEST: _ANONYMOUS | _CONVERSING,
    Role.CUSTOMER: (_ANONYMOUS - {Operation.CREATE_GUEST_SESSION}) | _CONVERSING | {
        Operation.CREATE_CUSTOMER_SESSION, Operation.LIST_SESSIONS,
    },
    # An application backend: owns customers and their conversations, reads agents.
    Role.APP: _READ_AGENTS | _CONVERSING | {
        Operation.ACCESS_API_DOCS,
        Operation.CREATE_CUSTOMER, Operation.READ_CUSTOMER, Operation.LIST_CUSTOMERS,
        Operation.UPDATE_CUSTOMER, Operation.DELETE_CUSTOMER,
        Operation.CREATE_GUEST_SESSION, Operation.CREATE_CUSTOMER_SESSION,
        Operation.ISSUE_CUSTOMER_TOKEN, Operation.LIST_SESSIONS, Operation.UPDATE_SESSION,
        Operation.DELETE_SESSION,
        Operation.DELETE_SESSIONS, Operation.CREATE_CUSTOM_EVENT,
        Operation.CREATE_NON_CUSTOMER_EVENT,
        Operation.CREATE_AGENT_EVENT,  # ask the agent to speak now (and follow given guidelines)
        Operation.OVERRIDE_CUSTOMER_PARTICIPANT, Operation.UPDATE_EVENT, Operation.DELETE_EVENTS,
        Operation.READ_CONTEXT_VARIABLE_VALUE, Operation.UPDATE_CONTEXT_VARIABLE_VALUE,
        Operation.DELETE_CONTEXT_VARIABLE_VALUE,
    },
    # A human in the dashboard: watches conversations, takes them over, answers.
    Role.OPERATOR: _READ_AGENTS | {
        Operation.ACCESS_INTEGRATED_UI,
        Operation.READ_CUSTOMER, Operation.LIST_CUSTOMERS,
        Operation.READ_SESSION, Operation.LIST_SESSIONS, Operation.UPDATE_SESSION,
        Operation.LIST_EVENTS, Operation.READ_EVENT, Operation.UPDATE_EVENT,
        Operation.CREATE_HUMAN_AGENT_EVENT,
        Operation.CREATE_HUMAN_AGENT_ON_BEHALF_OF_AI_AGENT_EVENT,
        Operation.CREATE_STATUS_EVENT, Operation.CREATE_CUSTOM_EVENT,
        Operation.CREATE_NON_CUSTOMER_EVENT, Operation.READ_TURNS,
        Operation.CREATE_AGENT_EVENT,  # e.g. right after handing a session back to the agent
    },
    # A business user shaping the agent's behavior.
    Role.EDITOR: _authoring_operations() | {
        Operation.ACCESS_INTEGRATED_UI, Operation.ACCESS_API_DOCS, Operation.READ_TURNS,
    },
    # Prometheus: reads the metrics and nothing else.
    Role.MONITORING: frozenset({Operation.READ_METRICS}),
    Role.ADMIN: frozenset(Operation),
}


@dataclass(frozen=True)
class Principal:
    """Whoever makes a request, as resolved by `sessions_app.authentication`."""

    roles: frozenset[Role]
    # Stable key of the client for rate limits: "key:<id>", "user:<id>", "customer:<id>", …
    client_key: str
    customer_id: str | None = None
    guest_id: str | None = None
    user: Any = field(default=None, compare=False)

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    @property
    def is_staff_member(self) -> bool:
        return bool(self.roles & {Role.APP, Role.OPERATOR, Role.EDITOR, Role.ADMIN})


class AuthorizationPolicy:
    """Decides whether a principal may attempt an operation, and reach a given session."""

    name = "abstract"
    enforces_rate_limits = True

    def check_permission(self, principal: Principal, operation: Operation | None) -> bool:
        raise NotImplementedError

    def check_session_access(self, principal: Principal, session: Session) -> bool:
        raise NotImplementedError


class DevelopmentAuthorizationPolicy(AuthorizationPolicy):
    """Everything is allowed and nothing is rate limited: the embedded quick start."""

    name = "development"
    enforces_rate_limits = False

    def check_permission(self, principal: Principal, operation: Operation | None) -> bool:
        return True

    def check_session_access(self, principal: Principal, session: Session) -> bool:
        return True


class StrictAuthorizationPolicy(AuthorizationPolicy):
    """Operations by role; customers and guests reach only their own sessions."""

    name = "strict"
    role_operations = ROLE_OPERATIONS

    def check_permission(self, principal: Principal, operation: Operation | None) -> bool:
        if operation is None:  # an action nobody declared: only admins may use it
            return principal.is_admin
        return any(operation in self.role_operations.get(role, ()) for role in principal.roles)

    def check_session_access(self, principal: Principal, session: Session) -> bool:
        if principal.is_staff_member:
            return True
        if principal.customer_id is not None:
            return (
                session.customer_id == principal.customer_id
                and session.customer_id != GUEST_CUSTOMER_ID
            )
        if principal.guest_id is not None:
            return (
                session.customer_id == GUEST_CUSTOMER_ID
                and session.metadata.get(GUEST_SESSION_METADATA_KEY) == principal.guest_id
            )
        return False


@cache
def _policy_for(dotted_path: str) -> AuthorizationPolicy:
    return import_string(dotted_path)()


def authorization_policy() -> AuthorizationPolicy:
    return _policy_for(settings.PARLANT_AUTHORIZATION_POLICY)


def declared_operation(view: APIView, request: Request) -> Operation | None:
    """The operation a view declares for the current action (or HTTP method)."""
    operations = getattr(view, "operations", {})
    key = getattr(view, "action", None) or request.method.lower()
    operation = operations.get(key)
    return operation(request) if callable(operation) else operation


class OperationPermission(permissions.BasePermission):
    """REST framework permission: the policy decides on the action's declared operation."""

    message = "You are not allowed to perform this operation."

    def has_permission(self, request: Request, view: APIView) -> bool:
        from sessions_app.authentication import principal_of

        return authorization_policy().check_permission(
            principal_of(request), declared_operation(view, request)
        )

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        from sessions_app.authentication import principal_of

        if isinstance(obj, Session):
            return authorization_policy().check_session_access(principal_of(request), obj)
        return True


@database_sync_to_async
def can_watch_session(scope: dict, session_id: str) -> bool:
    """Whether a WebSocket's client may stream a session's events; unknown sessions: nobody."""
    from sessions_app.authentication import principal_from_scope

    session = Session.objects.filter(pk=session_id).only("id", "customer_id", "metadata").first()
    if session is None:
        return False
    principal = principal_from_scope(scope)
    policy = authorization_policy()
    return policy.check_permission(principal, Operation.LIST_EVENTS) and (
        policy.check_session_access(principal, session)
    )
