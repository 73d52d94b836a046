"""Customers, sessions and events on Parlant's REST paths."""

import asyncio
import base64
import contextlib
import json
import logging
import time

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from redis.exceptions import RedisError
from rest_framework import status, views, viewsets
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.response import Response

from behavior.models import Agent, Tag
from operations.connections import is_draining, long_poll_open, wait_unless_draining
from parlant_site.api import UnprocessableEntity
from parlant_site.ids import new_id
from parlant_site.input_guard import INTEGER_COLUMN_MAX
from sessions_app import services
from sessions_app.agent_turns import NothingToCancel, agent_turn_request, turn_cancel
from sessions_app.authentication import (
    InvalidCredentials,
    issue_customer_token,
    issue_guest_token,
    new_guest_id,
    principal_of,
)
from sessions_app.broadcast import (
    event_payload,
    remember_server_loop,
    session_group,
    wire_time,
)
from sessions_app.explanations import explain_turn, names_for
from sessions_app.models import GUEST_CUSTOMER_ID, Customer, Event, Session, Turn
from sessions_app.moderation import moderate_customer_message
from sessions_app.permissions import (
    GUEST_SESSION_METADATA_KEY,
    Operation,
    Principal,
    authorization_policy,
)
from sessions_app.selectors import events_since, sessions_listing
from sessions_app.serializers import (
    CustomerSerializer,
    CustomerTokenRequestSerializer,
    CustomerUpdateSerializer,
    EventCreationSerializer,
    EventListQuerySerializer,
    EventUpdateSerializer,
    ModerationQuerySerializer,
    SessionCreationQuerySerializer,
    SessionSerializer,
    SessionUpdateSerializer,
)
from sessions_app.throttling import throttle_wait


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the session's state."


# Response header that hands an anonymous visitor the token for the guest session it created.
GUEST_TOKEN_HEADER = "X-Parlant-Guest-Token"

logger = logging.getLogger(__name__)

# What a channel layer raises when its server is away (Redis' own errors are not OSErrors).
CHANNEL_LAYER_ERRORS = (RedisError, OSError)
# How often a long-poll re-reads the event log while the channel layer is unreachable.
LAYERLESS_POLL_SECONDS = 0.5


def _decode_cursor(cursor: str) -> int:
    try:
        position = int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        raise ValidationError({"cursor": "Invalid cursor."}) from None
    if not 0 <= position <= INTEGER_COLUMN_MAX:
        raise ValidationError({"cursor": "Invalid cursor."})
    return position


def _encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(str(position).encode()).decode()


def paginate(request, queryset, serializer_class) -> Response:
    """Parlant's listing: a plain list without `limit`, a page object with it."""
    limit_raw = request.query_params.get("limit")
    if request.query_params.get("sort") == "desc":
        queryset = queryset.reverse()
    if limit_raw is None:
        return Response(serializer_class(queryset, many=True).data)
    try:
        limit = int(limit_raw)
    except ValueError:
        raise ValidationError({"limit": "Must be an integer."}) from None
    if not 1 <= limit <= 1000:
        raise ValidationError({"limit": "Must be between 1 and 1000."})
    cursor = request.query_params.get("cursor")
    start = _decode_cursor(cursor) if cursor else 0
    total = queryset.count()
    items = list(queryset[start : start + limit])
    has_more = start + limit < total
    return Response(
        {
            "items": serializer_class(items, many=True).data,
            "total_count": total,
            "has_more": has_more,
            "next_cursor": _encode_cursor(start + limit) if has_more else None,
        }
    )


class CustomerViewSet(viewsets.ModelViewSet):
    serializer_class = CustomerSerializer
    queryset = Customer.objects.prefetch_related("tags").order_by("created_at", "id")
    http_method_names = ["get", "post", "patch", "delete"]
    operations = {
        "list": Operation.LIST_CUSTOMERS,
        "create": Operation.CREATE_CUSTOMER,
        "retrieve": Operation.READ_CUSTOMER,
        "partial_update": Operation.UPDATE_CUSTOMER,
        "destroy": Operation.DELETE_CUSTOMER,
    }

    def list(self, request):
        return paginate(request, self.get_queryset(), CustomerSerializer)

    def create(self, request):
        serializer = CustomerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        customer = services.customer_create(
            name=data["name"],
            customer_id=data.get("id"),
            metadata=data.get("metadata"),
            tag_ids=data.get("tags"),
        )
        return Response(CustomerSerializer(customer).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        customer = self.get_object()
        serializer = CustomerUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with transaction.atomic():
            if "name" in data:
                customer.name = data["name"]
            if "metadata" in data:
                customer.metadata.update(data["metadata"].get("set", {}))
                for key in data["metadata"].get("unset", []):
                    customer.metadata.pop(key, None)
            customer.save(update_fields=["name", "metadata"])
            if "tags" in data:
                add = data["tags"].get("add", [])
                known = Tag.objects.filter(pk__in=add).values_list("pk", flat=True)
                if unknown := sorted(set(add) - set(known)):
                    raise ValidationError({"tags": f"Unknown tag id(s): {', '.join(unknown)}"})
                customer.tags.add(*add)
                customer.tags.remove(*data["tags"].get("remove", []))
        return Response(CustomerSerializer(customer).data)


def _session_creation_operation(request) -> Operation:
    customer_id = request.data.get("customer_id") if isinstance(request.data, dict) else None
    if principal_of(request).customer_id or (customer_id and customer_id != GUEST_CUSTOMER_ID):
        return Operation.CREATE_CUSTOMER_SESSION
    return Operation.CREATE_GUEST_SESSION


class SessionViewSet(viewsets.GenericViewSet):
    serializer_class = SessionSerializer
    http_method_names = ["get", "post", "patch", "delete"]
    operations = {
        "list": Operation.LIST_SESSIONS,
        "create": _session_creation_operation,
        "retrieve": Operation.READ_SESSION,
        "partial_update": Operation.UPDATE_SESSION,
        "destroy": Operation.DELETE_SESSION,
        "delete_many": Operation.DELETE_SESSIONS,
    }

    def get_queryset(self):
        return sessions_listing()

    def list(self, request):
        sessions = self.get_queryset()
        principal = principal_of(request)
        if principal.customer_id is not None and not principal.is_staff_member:
            sessions = sessions.filter(customer_id=principal.customer_id)
        for field in ("agent_id", "customer_id"):
            if value := request.query_params.get(field):
                sessions = sessions.filter(**{field: value})
        if wanted := {label for label in request.query_params.getlist("labels") if label}:
            # JSON containment has no SQLite lookup, so labels are compared here, on ids only.
            rows = sessions.values_list("id", "labels")
            ids = [session_id for session_id, labels in rows if wanted <= set(labels)]
            sessions = sessions.filter(pk__in=ids)
        return paginate(request, sessions, SessionSerializer)

    def create(self, request):
        serializer = SessionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        greeting = SessionCreationQuerySerializer(data=request.query_params.dict())
        greeting.is_valid(raise_exception=True)
        data = serializer.validated_data
        principal = principal_of(request)
        customer = data.get("customer_id")
        metadata = dict(data.get("metadata") or {})
        metadata.pop(GUEST_SESSION_METADATA_KEY, None)  # only the server ties guests to sessions
        if principal.customer_id is not None:
            if customer is not None and customer.id != principal.customer_id:
                raise PermissionDenied("A customer may open sessions only for themselves.")
            customer = Customer.objects.get(pk=principal.customer_id)
        guest_token = None
        if customer is None or customer.id == GUEST_CUSTOMER_ID:
            guest_id = principal.guest_id or new_guest_id()
            metadata[GUEST_SESSION_METADATA_KEY] = guest_id
            if principal.guest_id is None:
                guest_token = issue_guest_token(guest_id)
        session = services.session_create(
            agent=data["agent_id"],
            customer=customer,
            title=data.get("title") or "",
            metadata=metadata,
            labels=data.get("labels"),
        )
        if greeting.validated_data["allow_greeting"]:
            agent_turn_request(session=session, reason="greeting")
        response = Response(SessionSerializer(session).data, status=status.HTTP_201_CREATED)
        if guest_token:
            response[GUEST_TOKEN_HEADER] = guest_token
        return response

    def retrieve(self, request, pk=None):
        return Response(SessionSerializer(self.get_object()).data)

    def destroy(self, request, pk=None):
        self.get_object().delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    def delete_many(self, request):
        sessions = Session.objects.all()
        for field in ("agent_id", "customer_id"):
            if value := request.query_params.get(field):
                sessions = sessions.filter(**{field: value})
        sessions.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    def partial_update(self, request, pk=None):
        session = self.get_object()
        serializer = SessionUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        fields = ["updated_at"]
        if "title" in data:
            session.title = data["title"]
            fields.append("title")
        if data.get("consumption_offsets", {}).get("client") is not None:
            session.client_consumption_offset = data["consumption_offsets"]["client"]
            fields.append("client_consumption_offset")
        if "agent_id" in data:
            session.agent = get_object_or_404(Agent, pk=data["agent_id"])
            fields.append("agent")
        if "customer_id" in data:
            session.customer = get_object_or_404(Customer, pk=data["customer_id"])
            fields.append("customer")
        if "metadata" in data:
            # Keys starting with "__" are the server's own (the guest a session belongs to).
            session.metadata.update(
                {k: v for k, v in data["metadata"].get("set", {}).items() if not k.startswith("__")}
            )
            for key in data["metadata"].get("unset", []):
                if not key.startswith("__"):
                    session.metadata.pop(key, None)
            fields.append("metadata")
        if "labels" in data:
            labels = set(session.labels) | set(data["labels"].get("upsert", []))
            session.labels = sorted(labels - set(data["labels"].get("remove", [])))
            fields.append("labels")
        session.updated_at = timezone.now()
        with transaction.atomic():
            session.save(update_fields=fields)
            if "mode" in data:
                # A staff member switching to manual takes the session over; an app's switch
                # leaves it waiting for whichever operator picks it up.
                services.session_handoff(
                    session_id=session.id, mode=data["mode"], operator=principal_of(request).user
                )
                session.mode = data["mode"]
        return Response(SessionSerializer(session).data)


def event_operation(data: dict) -> Operation:
    """The operation that creating this event is, by its kind and source (Parlant's mapping)."""
    kind, source = data.get("kind"), data.get("source")
    if kind in (Event.Kind.STATUS, Event.Kind.CUSTOM) and source not in (
        Event.Source.CUSTOMER,
        Event.Source.CUSTOMER_UI,
    ):
        return Operation.CREATE_NON_CUSTOMER_EVENT
    if kind == Event.Kind.STATUS:
        return Operation.CREATE_STATUS_EVENT
    if kind == Event.Kind.CUSTOM:
        return Operation.CREATE_CUSTOM_EVENT
    if source == Event.Source.HUMAN_AGENT:
        return Operation.CREATE_HUMAN_AGENT_EVENT
    if source == Event.Source.HUMAN_AGENT_ON_BEHALF_OF_AI_AGENT:
        return Operation.CREATE_HUMAN_AGENT_ON_BEHALF_OF_AI_AGENT_EVENT
    if source == Event.Source.AI_AGENT:
        return Operation.CREATE_AGENT_EVENT
    if data.get("participant"):
        return Operation.OVERRIDE_CUSTOMER_PARTICIPANT
    return Operation.CREATE_CUSTOMER_EVENT


def create_event_for(session: Session, data: dict, *, moderation: str = "none") -> Event:
    """Dispatch an event creation request by kind and source, as Parlant's API does."""
    kind, source = data["kind"], data["source"]
    message = data.get("message")
    participant = data.get("participant")
    if kind == Event.Kind.MESSAGE:
        if source in (Event.Source.CUSTOMER, Event.Source.CUSTOMER_UI):
            if not message or not message.strip():
                raise UnprocessableEntity("Missing 'message' field for event")
            # Before the engine can see it: a flagged message is kept, marked, and not followed.
            verdict = moderate_customer_message(message, mode=moderation)
            return services.customer_message_post(
                session=session,
                message=message,
                participant=participant,
                metadata=data.get("metadata"),
                source=Event.Source.CUSTOMER,
                flagged=verdict.flagged,
                moderation_tags=list(verdict.tags),
            )
        if source == Event.Source.HUMAN_AGENT:
            if not message:
                raise UnprocessableEntity("Missing 'message' field for event")
            if not participant:
                raise UnprocessableEntity(
                    "Missing 'participant' with 'display_name' for human agent message"
                )
            return services.staff_message_post(
                session=session,
                message=message,
                source=source,
                participant=participant,
                metadata=data.get("metadata"),
            )
        if source == Event.Source.HUMAN_AGENT_ON_BEHALF_OF_AI_AGENT:
            if not message:
                raise UnprocessableEntity("Missing 'message' field for event")
            return services.staff_message_post(
                session=session,
                message=message,
                source=source,
                participant={"id": session.agent_id, "display_name": session.agent.name},
                metadata=data.get("metadata"),
            )
        if source == Event.Source.AI_AGENT:
            if message:
                raise UnprocessableEntity(
                    "An ai_agent message is written by the agent: leave out 'message' (to send "
                    "a fixed text, post it with source human_agent_on_behalf_of_ai_agent)."
                )
            requested = (data.get("guidelines") or []) + (data.get("rules") or [])
            return agent_turn_request(
                session=session, actions=[item["action"] for item in requested]
            )
        raise UnprocessableEntity(
            'Only "customer", "ai_agent", "human_agent", and "human_agent_on_behalf_of_ai_agent" '
            "sources are supported for direct posting."
        )
    if kind == Event.Kind.CUSTOM:
        if not data.get("data"):
            raise UnprocessableEntity("Missing 'data' field for custom event")
        return services.event_append(
            session_id=session.id,
            kind=kind,
            source=source,
            data=data["data"],
            trace_id=new_id(),
            metadata=data.get("metadata"),
        )
    if kind == Event.Kind.STATUS:
        if not data.get("status"):
            raise UnprocessableEntity('Missing "status" field for status event')
        extra = data.get("data") or {}
        if not isinstance(extra, dict):
            raise UnprocessableEntity('Status event "data" must be a JSON object')
        if data["status"] == "cancelled":
            try:
                return turn_cancel(
                    session_id=session.id, source=source, metadata=data.get("metadata")
                )
            except NothingToCancel as error:
                raise Conflict(str(error)) from None
        return services.event_append(
            session_id=session.id,
            kind=kind,
            source=source,
            data={"status": data["status"], "data": extra},
            trace_id=new_id(),
            metadata=data.get("metadata"),
        )
    raise UnprocessableEntity("Only message, custom and status events can be added manually")


# --- Long-poll ---------------------------------------------------------------------------------


def _error(status_code: int, detail: str, errors: dict | None = None) -> JsonResponse:
    body = {"detail": detail}
    if errors is not None:
        body["errors"] = errors
    return JsonResponse(body, status=status_code)


@sync_to_async
def _matching_events(session_id: str, query: dict) -> list[dict]:
    events = events_since(
        session_id,
        query["min_offset"],
        kinds=query.get("kinds"),
        source=query.get("source"),
        trace_id=query.get("trace_id") or query.get("correlation_id"),
    )
    payloads = [event_payload(event) for event in events]
    # Waiting must not pin a database connection: give it back before sleeping on the layer.
    # Inside a transaction (a test's, or a caller's) the connection is not ours to close.
    if not connection.in_atomic_block:
        connection.close()
    return payloads


async def _wait_for_events(session_id: str, query: dict, deadline: float) -> list[dict]:
    """Wait on the session's channel group until matching events exist or the deadline passes.

    Joining the group happens before the re-check, so an event committed between the first
    query and the join is still seen.
    """
    layer = get_channel_layer()
    try:
        channel = await layer.new_channel()
        group = session_group(session_id)
        await layer.group_add(group, channel)
    except CHANNEL_LAYER_ERRORS:
        logger.warning("channel layer unavailable; long-poll falls back to polling")
        return await _poll_for_events(session_id, query, deadline)
    try:
        while True:
            events = await _matching_events(session_id, query)
            remaining = deadline - time.monotonic()
            if events or remaining <= 0:
                return events
            try:
                await wait_unless_draining(layer.receive(channel), seconds=remaining)
            except TimeoutError:
                return await _matching_events(session_id, query)
            except CHANNEL_LAYER_ERRORS:
                # The layer is unreachable: the event log still answers, polled until the
                # deadline, so the client gets its events or its 504, never a 500.
                logger.warning("channel layer unavailable; long-poll falls back to polling")
                return await _poll_for_events(session_id, query, deadline)
    finally:
        with contextlib.suppress(*CHANNEL_LAYER_ERRORS):
            await layer.group_discard(group, channel)


async def _poll_for_events(session_id: str, query: dict, deadline: float) -> list[dict]:
    while True:
        events = await _matching_events(session_id, query)
        remaining = deadline - time.monotonic()
        if events or remaining <= 0 or is_draining():
            return events
        await asyncio.sleep(min(LAYERLESS_POLL_SECONDS, remaining))


async def _event_stream(session_id: str, query: dict, idle_seconds: float):
    """Server-Sent Events: matching events as they come, each with `id: <offset>` so that a
    reconnecting EventSource resumes after the last one it got (Last-Event-ID), exactly like
    `min_offset`. The stream ends after `idle_seconds` without a matching event."""
    query = dict(query)
    # A comment line first: the server sends the headers with the first bytes, and a client
    # should know that the stream is open before any event exists.
    yield ": open\n\n"
    while True:
        events = await _matching_events(session_id, query)
        if not events and idle_seconds > 0:
            events = await _wait_for_events(session_id, query, time.monotonic() + idle_seconds)
        if not events:
            return
        for payload in events:
            yield f"id: {payload['offset']}\ndata: {json.dumps(payload)}\n\n"
        query["min_offset"] = events[-1]["offset"] + 1


def _authorize_listing(request: HttpRequest, session_id: str) -> JsonResponse | None:
    """Authentication, LIST_EVENTS, ownership and rate limit for the long-poll; None if allowed."""
    try:
        principal = principal_of(request)
    except InvalidCredentials as error:
        return _error(401, str(error))
    policy = authorization_policy()
    if not policy.check_permission(principal, Operation.LIST_EVENTS):
        return _denied(principal)
    session = Session.objects.filter(pk=session_id).only("id", "customer_id", "metadata").first()
    if session is None:
        return _error(404, f"Session {session_id} does not exist")
    if not policy.check_session_access(principal, session):
        return _denied(principal)
    wait = throttle_wait(request, Operation.LIST_EVENTS)
    if wait is not None:
        response = _error(429, f"Request was throttled. Expected available in {wait:.0f} seconds.")
        response["Retry-After"] = str(max(1, round(wait)))
        return response
    return None


def _denied(principal: Principal) -> JsonResponse:
    if principal.client_key.startswith("ip:"):
        response = _error(401, "Authentication credentials were not provided.")
        response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
    return _error(403, "You are not allowed to perform this operation.")


@csrf_exempt  # POST and DELETE go to a DRF view, which enforces CSRF for browser sessions itself
async def session_events(request: HttpRequest, session_id: str):
    """GET: list events (long-poll); POST: create an event; DELETE: delete events from an offset.

    GET is async so that a waiting client holds neither a worker thread nor a connection.
    """
    remember_server_loop()
    if request.method != "GET":
        return await sync_to_async(_session_events_write)(request, session_id=session_id)
    query_serializer = EventListQuerySerializer(data=request.GET.dict())
    if not query_serializer.is_valid():
        errors = query_serializer.errors
        field = next(iter(errors))
        return _error(422, f"{field}: {errors[field][0]}", errors)
    query = query_serializer.validated_data
    refusal = await sync_to_async(_authorize_listing)(request, session_id)
    if refusal is not None:
        return refusal
    wait = min(query["wait_for_data"], settings.PARLANT_MAX_WAIT_FOR_DATA_SECONDS)
    if query["sse"]:
        last_seen = request.headers.get("Last-Event-ID", "")
        if last_seen.isdigit() and len(last_seen) < 10:  # a reconnecting EventSource resumes
            query["min_offset"] = max(query["min_offset"], int(last_seen) + 1)
        response = StreamingHttpResponse(
            _event_stream(session_id, query, wait), content_type="text/event-stream"
        )
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # proxies must pass each event on at once
        return response
    events = await _matching_events(session_id, query)
    if not events and wait > 0:
        with long_poll_open():
            events = await _wait_for_events(session_id, query, time.monotonic() + wait)
        if not events:
            return _error(504, "Request timed out")
    return JsonResponse(events, safe=False)


def _session_events_write(request: HttpRequest, session_id: str):
    return _events_write_view(request, session_id=session_id)


def _event_creation_operation(request) -> Operation:
    return event_operation(request.data if isinstance(request.data, dict) else {})


class _EventsWrite(viewsets.ViewSet):
    operations = {"create": _event_creation_operation, "destroy": Operation.DELETE_EVENTS}

    def _session(self, queryset, session_id: str) -> Session:
        session = get_object_or_404(queryset, pk=session_id)
        self.check_object_permissions(self.request, session)
        return session

    def create(self, request, session_id: str):
        session = self._session(Session.objects.select_related("customer", "agent"), session_id)
        moderation = ModerationQuerySerializer(data=request.query_params.dict())
        moderation.is_valid(raise_exception=True)
        serializer = EventCreationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        event = create_event_for(
            session, serializer.validated_data, moderation=moderation.validated_data["moderation"]
        )
        return Response(event_payload(event), status=status.HTTP_201_CREATED)

    def destroy(self, request, session_id: str):
        session = self._session(Session.objects.all(), session_id)
        raw = request.query_params.get("min_offset")
        if raw is None or not raw.isdigit() or int(raw) > INTEGER_COLUMN_MAX:
            raise ValidationError({"min_offset": "A non-negative integer is required."})
        services.events_delete_from(session_id=session.id, min_offset=int(raw))
        return Response(status=status.HTTP_204_NO_CONTENT)


_events_write_view = _EventsWrite.as_view({"post": "create", "delete": "destroy"})


class CustomerTokenView(views.APIView):
    """POST /auth/customer-tokens: an app mints the signed token for its customer's widget."""

    operations = {"post": Operation.ISSUE_CUSTOMER_TOKEN}

    def post(self, request):
        serializer = CustomerTokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = serializer.validated_data["customer_id"]
        return Response(
            {
                "token": issue_customer_token(customer.id),
                "customer_id": customer.id,
                "expires_in": settings.PARLANT_CUSTOMER_TOKEN_MAX_AGE_SECONDS,
            },
            status=status.HTTP_201_CREATED,
        )


class SessionEventViewSet(_EventsWrite):
    """GET /sessions/{id}/events/{event_id} and PATCH of its metadata (set/unset)."""

    operations = {"retrieve": Operation.READ_EVENT, "partial_update": Operation.UPDATE_EVENT}

    def retrieve(self, request, session_id: str, event_id: str):
        session = self._session(Session.objects.all(), session_id)
        event = get_object_or_404(Event, session=session, pk=event_id)
        return Response(event_payload(event))

    def partial_update(self, request, session_id: str, event_id: str):
        session = self._session(Session.objects.all(), session_id)
        update = EventUpdateSerializer(data=request.data)
        update.is_valid(raise_exception=True)
        metadata = update.validated_data.get("metadata", {})
        event = services.event_metadata_update(
            session_id=session.id,
            event_id=event_id,
            set_values=metadata.get("set", {}),
            unset_keys=metadata.get("unset", []),
        )
        return Response(event_payload(event))


class SessionTurnViewSet(_EventsWrite):
    """GET /sessions/{id}/turns: each agent turn with its explanation (what matched and why)."""

    operations = {"list": Operation.READ_TURNS}

    def list(self, request, session_id: str):
        session = self._session(Session.objects.all(), session_id)
        turns = session.turns.order_by("trigger_offset")
        if trace_id := request.query_params.get("trace_id"):
            turns = turns.filter(trace_id=trace_id)
        turns = list(turns)
        names = names_for([turn.trace for turn in turns])
        return Response([turn_payload(turn, names) for turn in turns])


def turn_payload(turn: Turn, names: dict[str, str]) -> dict:
    return {
        "id": turn.id,
        "trigger_offset": turn.trigger_offset,
        "trace_id": turn.trace_id,
        "status": turn.status,
        "creation_utc": wire_time(turn.created_at),
        "finished_utc": wire_time(turn.finished_at),
        "explanation": explain_turn(turn.trace, names),
        "trace": turn.trace,
    }
