"""Pushes of new and updated events to whoever watches a session.

The database is the source of truth; a push is only a nudge. Clients that miss one resume from
their last offset.
"""

import asyncio
import logging
from datetime import datetime
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

from sessions_app.models import Event

logger = logging.getLogger(__name__)

# The in-memory channel layer keeps asyncio queues bound to the server's event loop, so pushes
# from worker threads must be scheduled onto that loop rather than run on a loop of their own.
_server_loop: asyncio.AbstractEventLoop | None = None


def remember_server_loop() -> None:
    """Called from inside the ASGI server's loop once, so threads can reach the in-memory layer."""
    global _server_loop
    _server_loop = asyncio.get_running_loop()


# Every operator dashboard listens here for "something happened in session X".
OPERATORS_GROUP = "operators"


def session_group(session_id: str) -> str:
    return f"session.{session_id}"


def wire_time(moment: datetime | None) -> str | None:
    """UTC timestamps as Parlant writes them: ISO 8601 with a Z."""
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def event_payload(event: Event) -> dict[str, Any]:
    """The event's wire shape: identical on the REST API, the WebSocket and the dashboard."""
    return {
        "id": event.id,
        "source": event.source,
        "kind": event.kind,
        "offset": event.offset,
        "creation_utc": wire_time(event.created_at),
        "trace_id": event.trace_id,
        "correlation_id": event.trace_id,
        "data": event.data,
        "metadata": event.metadata,
        "deleted": event.deleted,
    }


def broadcast_event(session_id: str, payload: dict[str, Any]) -> None:
    """Send the event to the session's group. Call it after commit, never inside a transaction."""
    send_to_group(session_group(session_id), {"type": "session.event", "event": payload})
    # Operators' session lists only need to know that something happened, not what.
    send_to_group(
        OPERATORS_GROUP,
        {"type": "dashboard.activity", "session_id": session_id, "offset": payload["offset"]},
    )


def send_to_group(group: str, message: dict[str, Any]) -> None:
    """Best-effort push to a channel group, from any thread."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        if isinstance(layer, InMemoryChannelLayer):
            # Only listeners in this process can exist, and each one has set the server loop.
            if _server_loop is not None and _server_loop.is_running():
                asyncio.run_coroutine_threadsafe(layer.group_send(group, message), _server_loop)
            return
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        # A lost push costs a client one poll, never data: log it and carry on.
        logger.exception("group push failed", extra={"group": group})
