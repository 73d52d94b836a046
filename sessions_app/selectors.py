"""Reads for sessions and events, returning querysets with what their callers need."""

from django.db.models import QuerySet

from sessions_app.models import Event, Session


def events_since(
    session_id: str, min_offset: int = 0, *, kinds: list[str] | None = None,
    source: str | None = None, trace_id: str | None = None,
) -> QuerySet[Event]:
    events = Event.objects.filter(session_id=session_id, offset__gte=min_offset, deleted=False)
    if kinds:
        events = events.filter(kind__in=kinds)
    if source:
        events = events.filter(source=source)
    if trace_id:
        events = events.filter(trace_id=trace_id)
    return events.order_by("offset")


def sessions_listing() -> QuerySet[Session]:
    return Session.objects.select_related("agent", "customer").order_by("created_at", "id")


def sessions_for_operator() -> QuerySet[Session]:
    """Sessions for the operator dashboard: waiting for a human first, then by latest activity.

    Each row carries its latest message (source and data) and who holds it, in one query.
    """
    from django.db.models import Case, IntegerField, OuterRef, Q, Subquery, Value, When

    latest_message = Event.objects.filter(
        session=OuterRef("pk"), kind=Event.Kind.MESSAGE, deleted=False
    ).order_by("-offset")
    return (
        Session.objects.select_related("agent", "customer", "held_by")
        .annotate(
            last_message_source=Subquery(latest_message.values("source")[:1]),
            last_message_data=Subquery(latest_message.values("data")[:1]),
        )
        .annotate(
            urgency=Case(
                When(Q(mode=Session.Mode.MANUAL, held_by__isnull=True), then=Value(0)),
                When(Q(mode=Session.Mode.MANUAL, last_message_source=Event.Source.CUSTOMER),
                     then=Value(1)),
                When(mode=Session.Mode.MANUAL, then=Value(2)),
                default=Value(3),
                output_field=IntegerField(),
            )
        )
        .order_by("urgency", "-updated_at", "id")
    )
