"""Engine.process_turn(): one response cycle, from the customer's message to the agent's reply."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from engine import prompts
from engine.errors import GenerationFailed
from engine.hooks import EngineHooks, HookAction, HookContext, MatchingPayload, MessagePayload, run_hooks
from engine.matching import (
    ConditionIndex,
    ConditionScore,
    Conversation,
    ConversationSignals,
    select_llm_candidates,
)
from engine.nlp.base import GenerationLog, generate_checked, is_local
from engine.ports import CancellationSignal, EventSink, GenerationRequest, NLPService
from engine.tools import ToolRegistry
from engine.types import (
    AgentState,
    EventKind,
    EventSource,
    Guideline,
    NewEvent,
    TurnInput,
    TurnOutcome,
)

logger = logging.getLogger(__name__)

HISTORY_MESSAGES_IN_PROMPTS = 12  # enough for an ongoing topic; older turns cost tokens, not sense


def status_event(status: str, data: Mapping[str, Any] | None = None) -> NewEvent:
    return NewEvent(
        kind=EventKind.STATUS,
        source=EventSource.AI_AGENT,
        data={"status": status, "data": dict(data or {})},
    )


class Engine:
    def __init__(
        self,
        nlp: NLPService,
        tools: ToolRegistry | None = None,
        hooks: EngineHooks | None = None,
        retrievers: Any = None,
    ) -> None:
        self.nlp = nlp
        self.tools = tools
        self.hooks = hooks or EngineHooks()
        self.retrievers = retrievers

    async def process_turn(
        self, turn: TurnInput, sink: EventSink, cancellation: CancellationSignal
    ) -> TurnOutcome:
        started = time.perf_counter()
        snapshot = turn.snapshot
        agent = snapshot.agent
        log = GenerationLog()
        trace: dict[str, Any] = {"trace_id": turn.trace_id, "agent_id": agent.id}
        hook_context = HookContext(snapshot, turn.session_id, turn.customer, turn.trace_id)
        await sink.emit(status_event("acknowledged"))
        await sink.emit(status_event("processing", {"stage": "Interpreting"}))

        conversation = Conversation.from_events(turn.events)
        signals = ConversationSignals.build(conversation)
        guidelines = [g for g in snapshot.guidelines if g.journey_id is None]
        index = ConditionIndex({g.id: g.condition for g in guidelines})
        scores = {g.id: index.score(g.id, signals) for g in guidelines}
        applied_before = set(turn.state.applied_guideline_ids)
        candidates = (
            guidelines if is_local(self.nlp) else select_llm_candidates(guidelines, scores)
        )
        local_ids = {guideline.id: f"g{number}" for number, guideline in enumerate(candidates, 1)}
        payload = {
            "agent": {"name": agent.name, "description": agent.description},
            "customer_name": turn.customer.name,
            "history": [
                {"role": "customer" if m.is_customer else "agent", "text": m.text}
                for m in conversation.messages[-HISTORY_MESSAGES_IN_PROMPTS:]
            ],
            "latest_customer_message": conversation.latest_customer_message,
            "guidelines": [
                _guideline_item(g, local_ids[g.id], scores[g.id], g.id in applied_before)
                for g in candidates
            ],
        }
        try:
            result = await generate_checked(
                self.nlp,
                GenerationRequest(
                    prompt=prompts.decision_prompt(payload),
                    schema_name=prompts.DECISION_SCHEMA_NAME,
                    json_schema=prompts.DECISION_SCHEMA,
                    hints={"payload": payload},
                ),
                log,
            )
        except GenerationFailed as error:
            await sink.emit(status_event("error", {"exception": str(error)}))
            trace["llm_calls"] = log.calls
            return TurnOutcome(state=turn.state, trace=trace)
        by_local = {local: gid for gid, local in local_ids.items()}
        matched_ids = [
            by_local[item["id"]]
            for item in result.content["guidelines"]
            if item["applies"] and item["id"] in by_local
        ]
        matched = [g for g in guidelines if g.id in set(matched_ids)]
        if await cancellation.is_cancelled():
            await sink.emit(status_event("cancelled"))
            await sink.emit(status_event("ready", {"stage": "completed", "matched_guidelines": []}))
            return TurnOutcome(state=turn.state, trace=trace, was_cancelled=True)
        await sink.emit(status_event("typing"))
        compose_payload = {
            **payload,
            "mode": "fluid",
            "guidelines": [{"condition": g.condition, "action": g.action} for g in matched if g.action],
            "is_first_message": not any(not m.is_customer for m in conversation.messages),
        }
        composed = await generate_checked(
            self.nlp,
            GenerationRequest(
                prompt=prompts.compose_prompt(compose_payload),
                schema_name=prompts.COMPOSE_SCHEMA_NAME,
                json_schema=prompts.COMPOSE_SCHEMA,
                hints={"payload": compose_payload},
            ),
            log,
        )
        text = composed.content["message"]
        if await cancellation.is_cancelled():
            await sink.emit(status_event("cancelled"))
            await sink.emit(status_event("ready", {"stage": "completed", "matched_guidelines": []}))
            return TurnOutcome(state=turn.state, trace=trace, was_cancelled=True)
        await sink.emit(
            NewEvent(
                kind=EventKind.MESSAGE,
                source=EventSource.AI_AGENT,
                data={
                    "message": text,
                    "participant": {"id": agent.id, "display_name": agent.name},
                },
            )
        )
        await sink.emit(
            status_event("ready", {"stage": "completed", "matched_guidelines": [g.id for g in matched]})
        )
        trace["llm_calls"] = log.calls
        trace["elapsed_ms"] = (time.perf_counter() - started) * 1000
        state = AgentState(
            applied_guideline_ids=tuple(
                dict.fromkeys([*turn.state.applied_guideline_ids, *(g.id for g in matched if g.action)])
            ),
            journey_paths=turn.state.journey_paths,
            data=turn.state.data,
        )
        return TurnOutcome(state=state, trace=trace)


def _guideline_item(
    guideline: Guideline, local_id: str, score: ConditionScore, was_applied_before: bool
) -> dict[str, Any]:
    return {
        "id": local_id,
        "condition": guideline.condition,
        "action": guideline.action,
        "criticality": guideline.criticality.value,
        "previously_applied": was_applied_before,
        "customer_dependent": guideline.is_customer_dependent,
        "continuous": guideline.is_continuous,
        "local": {
            "score": score.score,
            "latest_score": score.latest_score,
            "shared": list(score.shared_features),
        },
    }
