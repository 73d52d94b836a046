"""Implements the engine's ports with the ORM, and runs one turn for a session.

This is the only place where the ORM meets the engine; nothing but frozen engine types and plain
data crosses over.
"""

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime
from functools import cache, partial
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from behavior.snapshot import agent_snapshot
from engine import types as engine_types
from engine.engine import Engine
from engine.hooks import EngineHooks
from engine.ports import NLPService
from sessions_app.agent_turns import requested_actions
from sessions_app.models import Event, Session, Turn
from sessions_app.services import (
    StaleTurn,
    event_append,
    event_data_replace,
    session_agent_state_save,
    session_handoff,
    turn_finish,
)
from sessions_app.turn_leases import TurnLeaseLost, turn_lease_renew, turn_reply_append

logger = logging.getLogger(__name__)

FLAGGED_MESSAGE_STAND_IN = "(This message was withheld by moderation.)"


class TurnEventSink:
    """Appends the turn's events; refuses the reply once the customer has written again or
    another worker has taken the turn over (with `turn_id` and `attempt`), and every event once
    the turn was cancelled through the API."""

    def __init__(
        self,
        *,
        session_id: str,
        trace_id: str,
        trigger_offset: int,
        turn_id: str = "",
        attempt: int = 1,
    ) -> None:
        self.session_id = session_id
        self.trace_id = trace_id
        self.trigger_offset = trigger_offset
        self.turn_id = turn_id
        self.attempt = attempt

    async def emit(self, event: engine_types.NewEvent) -> int:
        stored = await sync_to_async(self._append)(event)
        return stored.offset

    @transaction.atomic
    def _append(self, event: engine_types.NewEvent) -> Event:
        # The session row lock orders this against `agent_turns.turn_cancel`: a cancelled turn
        # never posts again, not even a reply it finished composing just before.
        Session.objects.select_for_update().filter(pk=self.session_id).exists()
        if Turn.objects.filter(pk=self.turn_id, status=Turn.Status.CANCELLED).exists():
            raise StaleTurn(self.session_id)
        is_reply = event.kind == engine_types.EventKind.MESSAGE
        if is_reply and self.turn_id:
            return turn_reply_append(
                turn_id=self.turn_id,
                attempt=self.attempt,
                session_id=self.session_id,
                trace_id=self.trace_id,
                trigger_offset=self.trigger_offset,
                data=dict(event.data),
            )
        return event_append(
            session_id=self.session_id,
            kind=str(event.kind),
            source=str(event.source),
            data=dict(event.data),
            trace_id=self.trace_id,
            unless_newer_customer_message_than=self.trigger_offset if is_reply else None,
        )

    async def update(self, offset: int, data: Mapping[str, Any]) -> None:
        await sync_to_async(event_data_replace)(
            session_id=self.session_id, offset=offset, data=dict(data)
        )


class NewerCustomerMessage:
    """The turn is cancelled as soon as the customer has written again, or a client cancelled
    it (a `cancelled` status event through the API)."""

    def __init__(self, *, session_id: str, trigger_offset: int, turn_id: str = "") -> None:
        self.session_id = session_id
        self.trigger_offset = trigger_offset
        self.turn_id = turn_id

    async def is_cancelled(self) -> bool:
        if await Turn.objects.filter(pk=self.turn_id, status=Turn.Status.CANCELLED).aexists():
            return True
        return await Event.objects.filter(
            session_id=self.session_id,
            kind=Event.Kind.MESSAGE,
            source=Event.Source.CUSTOMER,
            offset__gt=self.trigger_offset,
        ).aexists()


def to_session_event(row: Event) -> engine_types.SessionEvent:
    data = row.data
    if row.kind == Event.Kind.MESSAGE and isinstance(data, dict) and data.get("flagged"):
        # Moderation flagged it: the agent learns that a message came, never what it asked for.
        data = {**data, "message": FLAGGED_MESSAGE_STAND_IN}
    return engine_types.SessionEvent(
        offset=row.offset,
        kind=engine_types.EventKind(row.kind),
        source=engine_types.EventSource(row.source),
        data=data,
        trace_id=row.trace_id,
        created_at=row.created_at,
    )


def to_customer(row: Any) -> engine_types.Customer:
    return engine_types.Customer(
        id=row.id,
        name=row.name,
        metadata=dict(row.metadata),
        tags=tuple(tag.id for tag in row.tags.all()),
    )


def to_agent_state(data: Mapping[str, Any]) -> engine_types.AgentState:
    return engine_types.AgentState(
        applied_guideline_ids=tuple(data.get("applied_guideline_ids", ())),
        journey_paths={key: tuple(path) for key, path in data.get("journey_paths", {}).items()},
        data=dict(data.get("data", {})),
    )


def from_agent_state(state: engine_types.AgentState) -> dict[str, Any]:
    return {
        "applied_guideline_ids": list(state.applied_guideline_ids),
        "journey_paths": {key: list(path) for key, path in state.journey_paths.items()},
        "data": dict(state.data),
    }


def build_nlp_service() -> NLPService:
    """The configured provider: local, openai, or the dotted path of a custom NLPService class."""
    provider = settings.PARLANT_NLP_PROVIDER
    if provider == "openai":
        from engine.nlp.openai import OpenAINLPService

        return OpenAINLPService(
            api_key=settings.OPENAI_API_KEY or "not-needed",
            base_url=settings.OPENAI_BASE_URL or None,
            model=settings.OPENAI_MODEL,
            embedding_model=settings.OPENAI_EMBEDDING_MODEL,
            timeout_seconds=float(settings.OPENAI_TIMEOUT_SECONDS),
            # The engine retries a failed generation itself; one transport retry under it keeps
            # the worst case at a handful of calls rather than nine.
            max_retries=1,
        )
    if "." in provider:
        return import_string(provider)()
    from engine.nlp.local import LocalNLPService

    return LocalNLPService()


def build_hooks() -> EngineHooks | None:
    """Hooks from PARLANT_ENGINE_HOOKS: the dotted path of a function returning EngineHooks."""
    factory_path = settings.PARLANT_ENGINE_HOOKS
    return import_string(factory_path)() if factory_path else None


@cache
def nlp_service() -> NLPService:
    return build_nlp_service()


class SiteClock:
    """Now in the site's TIME_ZONE, so "tomorrow" means the customer-facing business's tomorrow."""

    def now(self) -> datetime:
        return timezone.localtime()


@cache
def engine(*, is_llm_free: bool = False) -> Engine:
    """One engine per process (and one more for zero-LLM agents); caches key on content."""
    from behavior.retrieval import retriever_registry
    from engine.nlp.local import LocalNLPService
    from engine.tools import default_registry

    return Engine(
        nlp=LocalNLPService() if is_llm_free else nlp_service(),
        clock=SiteClock(),
        tools=default_registry,
        hooks=build_hooks(),
        retrievers=retriever_registry,
    )


def load_turn_input(
    session_id: str, trace_id: str, trigger_offset: int | None = None
) -> engine_types.TurnInput:
    session = (
        Session.objects.select_related("customer")
        .prefetch_related("customer__tags")
        .get(pk=session_id)
    )
    events = list(Event.objects.filter(session_id=session_id, deleted=False).order_by("offset"))
    trigger = next((row for row in events if row.offset == trigger_offset), None)
    return engine_types.TurnInput(
        snapshot=agent_snapshot(session.agent_id, customer_id=session.customer_id),
        session_id=session.id,
        customer=to_customer(session.customer),
        events=tuple(to_session_event(row) for row in events),
        state=to_agent_state(session.agent_state),
        session_mode=engine_types.SessionMode(session.mode),
        trace_id=trace_id,
        requested_actions=requested_actions(trigger.data) if trigger else (),
    )


def store_refreshed_variables(*, customer_id: str, values: Mapping[str, Any]) -> None:
    """Keep what a variable's tool fetched as the customer's value, so the next turn reuses it."""
    from behavior.services import ValueKey, variable_value_set

    for variable_id, data in values.items():
        variable_value_set(
            variable_id=variable_id, key=ValueKey(customer_id=customer_id), data=data
        )


async def run_turn(*, turn: Turn) -> None:
    """Run the engine for one claimed turn and persist what it leaves behind."""
    turn_input = await sync_to_async(load_turn_input)(
        turn.session_id, turn.trace_id, turn.trigger_offset
    )
    sink = TurnEventSink(
        session_id=turn.session_id,
        trace_id=turn.trace_id,
        trigger_offset=turn.trigger_offset,
        turn_id=turn.id,
        attempt=turn.attempts,
    )
    cancellation = NewerCustomerMessage(
        session_id=turn.session_id, trigger_offset=turn.trigger_offset, turn_id=turn.id
    )
    finish = partial(sync_to_async(turn_finish), turn_id=turn.id, attempt=turn.attempts)
    lease = asyncio.create_task(keep_lease(turn))
    try:
        agent_engine = engine(is_llm_free=turn_input.snapshot.agent.is_llm_free)
        outcome = await agent_engine.process_turn(turn_input, sink, cancellation)
    except TurnLeaseLost:
        return  # the turn is another worker's now; its status is that worker's to write
    except StaleTurn:
        await finish(
            status=Turn.Status.CANCELLED, trace={"reason": "cancelled, or a newer message arrived"}
        )
        return
    except Exception as error:
        logger.exception("turn failed", extra={"session_id": turn.session_id})
        await sink.emit(
            engine_types.NewEvent(
                kind=engine_types.EventKind.STATUS,
                source=engine_types.EventSource.AI_AGENT,
                data={"status": "error", "data": {"exception": type(error).__name__}},
            )
        )
        await finish(status=Turn.Status.FAILED, trace={"error": repr(error)})
        return
    finally:
        lease.cancel()
    await sync_to_async(session_agent_state_save)(
        session_id=turn.session_id, agent_state=from_agent_state(outcome.state)
    )
    if outcome.refreshed_variables:
        await sync_to_async(store_refreshed_variables)(
            customer_id=turn_input.customer.id, values=outcome.refreshed_variables
        )
    if outcome.session_mode is not None:
        # A tool asked for a human: the session waits for any operator (nobody holds it yet).
        await sync_to_async(session_handoff)(
            session_id=turn.session_id, mode=str(outcome.session_mode)
        )
    status = Turn.Status.CANCELLED if outcome.was_cancelled else Turn.Status.COMPLETED
    await finish(status=status, trace=dict(outcome.trace))


async def keep_lease(turn: Turn) -> None:
    """Renew the turn's lease while the engine runs, three times per lease period."""
    interval = settings.PARLANT_TURN_LEASE_SECONDS / 3
    while True:
        await asyncio.sleep(interval)
        try:
            if not await sync_to_async(turn_lease_renew)(turn_id=turn.id, attempt=turn.attempts):
                return
        except Exception:
            # A failed renewal is retried at the next beat; only a lapsed lease costs the turn.
            logger.warning("turn lease renewal failed", exc_info=True)
