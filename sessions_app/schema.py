"""OpenAPI declarations for customers, sessions and events (Parlant's wire shapes).

Event payloads are built by `broadcast.event_payload` (one shape for REST, WebSocket and the
dashboard), and the event listing is an async function view, so both are described here for the
schema rather than inferred. Imported by `parlant_site.openapi`.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers as drf

from sessions_app import serializers, views
from sessions_app.models import Event


class EventSerializer(drf.Serializer):
    """An event as every API answer carries it (see `broadcast.event_payload`)."""

    id = drf.CharField()
    source = drf.ChoiceField(Event.Source.choices)
    kind = drf.ChoiceField(Event.Kind.choices)
    offset = drf.IntegerField(min_value=0)
    creation_utc = drf.DateTimeField()
    trace_id = drf.CharField(help_text="Ties an agent's reply to the message that caused it.")
    correlation_id = drf.CharField(help_text="The same as trace_id (older clients read this).")
    data = drf.JSONField()
    metadata = drf.DictField()
    deleted = drf.BooleanField()


def _page_of(serializer_class: type, name: str):
    """Parlant's listing: a plain array without `limit`, a page object with it."""
    page = inline_serializer(
        f"{name}Page",
        {
            "items": serializer_class(many=True),
            "total_count": drf.IntegerField(),
            "has_more": drf.BooleanField(),
            "next_cursor": drf.CharField(allow_null=True),
        },
    )
    return PolymorphicProxySerializer(
        component_name=f"{name}Listing",
        serializers=[serializer_class(many=True), page],
        resource_type_field_name=None,
        many=False,
    )


PAGING = [
    OpenApiParameter("limit", OpenApiTypes.INT, description="Page size (1-1000); answers a page."),
    OpenApiParameter("cursor", OpenApiTypes.STR, description="`next_cursor` of the last page."),
    OpenApiParameter("sort", OpenApiTypes.STR, enum=["asc", "desc"]),
]
NO_CONTENT = {204: OpenApiResponse(description="Deleted.")}

extend_schema_view(
    list=extend_schema(
        tags=["customers"], parameters=PAGING,
        responses={200: _page_of(serializers.CustomerSerializer, "Customer")},
    ),
    create=extend_schema(tags=["customers"], responses={201: serializers.CustomerSerializer}),
    retrieve=extend_schema(tags=["customers"]),
    partial_update=extend_schema(
        tags=["customers"], request=serializers.CustomerUpdateSerializer,
        responses={200: serializers.CustomerSerializer},
    ),
    destroy=extend_schema(tags=["customers"], responses=NO_CONTENT),
)(views.CustomerViewSet)

extend_schema_view(
    list=extend_schema(
        tags=["sessions"],
        parameters=[
            *PAGING,
            OpenApiParameter("agent_id", OpenApiTypes.STR),
            OpenApiParameter("customer_id", OpenApiTypes.STR),
            OpenApiParameter("labels", OpenApiTypes.STR, many=True, explode=True),
        ],
        responses={200: _page_of(serializers.SessionSerializer, "Session")},
    ),
    create=extend_schema(
        tags=["sessions"], operation_id="create_session",
        parameters=[
            OpenApiParameter(
                "allow_greeting", OpenApiTypes.BOOL, default=False,
                description="The agent opens the conversation with a greeting.",
            )
        ],
        responses={201: serializers.SessionSerializer},
    ),
    retrieve=extend_schema(tags=["sessions"]),
    partial_update=extend_schema(
        tags=["sessions"], request=serializers.SessionUpdateSerializer,
        responses={200: serializers.SessionSerializer},
    ),
    destroy=extend_schema(tags=["sessions"], responses=NO_CONTENT),
)(views.SessionViewSet)
extend_schema(
    tags=["sessions"], operation_id="delete_sessions",
    parameters=[
        OpenApiParameter("agent_id", OpenApiTypes.STR),
        OpenApiParameter("customer_id", OpenApiTypes.STR),
    ],
    responses=NO_CONTENT,
)(views.SessionViewSet.delete_many)

EVENT_LIST_PARAMETERS = [
    OpenApiParameter("min_offset", OpenApiTypes.INT, description="Events from this offset on."),
    OpenApiParameter("source", OpenApiTypes.STR, enum=Event.Source.values),
    OpenApiParameter("trace_id", OpenApiTypes.STR),
    OpenApiParameter("correlation_id", OpenApiTypes.STR, description="Same as trace_id."),
    OpenApiParameter("kinds", OpenApiTypes.STR, description="Comma-separated event kinds."),
    OpenApiParameter(
        "wait_for_data", OpenApiTypes.INT, default=60,
        description=(
            "Long-poll: seconds to wait for a matching event when none exists yet (504 when "
            "none arrives; capped by the server). With sse=true, the idle time that ends the "
            "stream."
        ),
    ),
    OpenApiParameter(
        "sse", OpenApiTypes.BOOL, default=False,
        description=(
            "Stream matching events as Server-Sent Events (text/event-stream), each with "
            "`id: <offset>`; reconnecting with Last-Event-ID resumes after it."
        ),
    ),
]


class EventListingDocumentation(views._EventsWrite):
    """The schema's description of GET /sessions/{id}/events, served by `views.session_events`.

    That view is an async function (a waiting client holds no thread), which schema generation
    cannot inspect; this class only carries its declaration.
    """

    operations = {"list": views.Operation.LIST_EVENTS}

    @extend_schema(
        tags=["events"], operation_id="list_events", parameters=EVENT_LIST_PARAMETERS,
        responses={
            (200, "application/json"): EventSerializer(many=True),
            (200, "text/event-stream"): OpenApiResponse(
                OpenApiTypes.STR, description="With sse=true: `data: <event JSON>` per event."
            ),
            504: OpenApiResponse(description="No matching event arrived in time."),
        },
    )
    def list(self, request, session_id: str):
        raise NotImplementedError  # never routed: see the docstring


extend_schema_view(
    create=extend_schema(
        tags=["events"], operation_id="create_event", request=serializers.EventCreationSerializer,
        parameters=[
            OpenApiParameter("moderation", OpenApiTypes.STR, enum=["auto", "paranoid", "none"])
        ],
        responses={
            201: EventSerializer,
            409: OpenApiResponse(description="Cancellation asked for, but no turn is running."),
        },
    ),
    destroy=extend_schema(
        tags=["events"], operation_id="delete_events",
        parameters=[OpenApiParameter("min_offset", OpenApiTypes.INT, required=True)],
        responses=NO_CONTENT,
    ),
)(views._EventsWrite)

extend_schema_view(
    retrieve=extend_schema(tags=["events"], operation_id="read_event",
                           responses={200: EventSerializer}),
    partial_update=extend_schema(
        tags=["events"], operation_id="update_event", request=serializers.EventUpdateSerializer,
        responses={200: EventSerializer},
    ),
)(views.SessionEventViewSet)

extend_schema_view(
    list=extend_schema(
        tags=["sessions"], operation_id="list_turns",
        parameters=[OpenApiParameter("trace_id", OpenApiTypes.STR)],
        responses={200: OpenApiTypes.OBJECT},
    ),
)(views.SessionTurnViewSet)

extend_schema(
    tags=["customers"], operation_id="issue_customer_token",
    request=serializers.CustomerTokenRequestSerializer,
    responses={
        201: inline_serializer(
            "CustomerToken",
            {
                "token": drf.CharField(),
                "customer_id": drf.CharField(),
                "expires_in": drf.IntegerField(),
            },
        )
    },
)(views.CustomerTokenView.post)
