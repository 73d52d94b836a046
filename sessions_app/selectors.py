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
