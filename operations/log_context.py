"""Ids that tie a log line to a conversation, carried by context variables.

A turn binds the session id, its trace id and the correlation id of the customer message it
answers; every log line written while it runs (in this thread or task) carries them, whichever
logger writes it.
"""

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from typing import Any

CONTEXT_FIELDS = ("session_id", "trace_id", "correlation_id")

_context: ContextVar[dict[str, str] | None] = ContextVar("parlant_log_context", default=None)


@contextmanager
def log_context(**ids: str) -> Iterator[None]:
    """Add ids (a subset of CONTEXT_FIELDS) to every log record written inside the block."""
    unknown = set(ids) - set(CONTEXT_FIELDS)
    if unknown:
        raise ValueError(f"unknown log context fields: {sorted(unknown)}")
    token = _context.set({**(_context.get() or {}), **{k: v for k, v in ids.items() if v}})
    try:
        yield
    finally:
        _context.reset(token)


def current_log_context() -> dict[str, str]:
    return dict(_context.get() or {})


def turn_log_context(turn: Any) -> AbstractContextManager[None]:
    """The ids of a turn: its session, its trace, and the customer message it answers."""
    from sessions_app.models import Event

    correlation_id = (
        Event.objects.filter(session_id=turn.session_id, offset=turn.trigger_offset)
        .values_list("trace_id", flat=True)
        .first()
    )
    return log_context(
        session_id=turn.session_id, trace_id=turn.trace_id, correlation_id=correlation_id or ""
    )
