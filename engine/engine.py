"""Engine.process_turn(): one response cycle, from the customer's message to the agent's reply.

The cycle, with the model calls an LLM provider sees (at most 2 on a typical turn):
  1. acknowledge; load variables, glossary, capabilities; start retrievers (they run throughout)
  2. score every condition locally and narrow the candidates (no model call)
  3. ONE decision call: which candidate guidelines apply, where each journey goes, tool arguments
  4. resolve relationships; run the chosen tools in parallel; let journeys leave tool steps
  5. only if a tool's result must be judged (a REEVALUATION relationship, a journey tool step with
     conditional exits): another decision call on just that, up to agent.max_engine_iterations
  6. ONE composition call (or a template choice) in the effective composition mode; emit
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from engine import prompts
from engine.applied import applied_ids, followed_ids
from engine.candidates import journey_cost, rank_conditions
from engine.canned import (
    field_values,
    no_match_text,
    rank_templates,
    usable_templates,
)
from engine.errors import GenerationFailed, NLPServiceError
from engine.glossary import relevant_terms, synonym_features
from engine.hooks import (
    EngineHooks,
    HookAction,
    HookContext,
    MatchingPayload,
    MessagePayload,
    run_hooks,
)
from engine.journeys import (
    LEFT_AT_KEY,
    JourneyMove,
    activation_key,
    advance_directly,
    after_tools,
    apply_decision,
    current_state_id,
    is_active,
    journey_item,
    note_left,
    outgoing,
    pending_tool_state,
    state_by_id,
    transition_key,
)
from engine.matching import (
    ConditionIndex,
    ConditionScore,
    Conversation,
    ConversationSignals,
)
from engine.nlp.base import GenerationLog, generate_checked, is_local
from engine.ports import CancellationSignal, Clock, EventSink, GenerationRequest, NLPService
from engine.relationships import (
    Resolution,
    disambiguation_targets,
    reevaluation_sources,
    resolve,
    with_disambiguation_targets,
)
from engine.retrievers import (
    RETRIEVER_TIMEOUT_SECONDS,
    Retriever,
    RetrieverContext,
    collect,
    named_retrievers,
    start_retrievers,
)
from engine.text import cosine, hashed_embedding
from engine.tools import (
    InvalidArgument,
    ToolCallRecord,
    ToolContext,
    ToolRegistry,
    cast_argument,
    prompt_view_of,
    run_tool,
    stored_tool_failure,
    unqualified_tool_id,
)
from engine.types import (
    AgentSnapshot,
    AgentState,
    CompositionMode,
    Criticality,
    EventKind,
    EventSource,
    Guideline,
    Journey,
    NewEvent,
    OutputMode,
    SessionMode,
    ToolParameter,
    ToolSpec,
    TurnInput,
    TurnOutcome,
)
from engine.variables import resolve_variables

logger = logging.getLogger(__name__)

HISTORY_MESSAGES_IN_PROMPTS = 12  # enough for an ongoing topic; older turns cost tokens, not sense
TOOL_RESULTS_FROM_HISTORY = 5
MAX_CAPABILITIES_IN_PROMPT = 3
CAPABILITY_FLOOR = 0.15
MODE_STRICTNESS = {
    CompositionMode.FLUID: 0,
    CompositionMode.CANNED_FLUID: 1,
    CompositionMode.COMPOSITED_CANNED: 2,
    CompositionMode.STRICT_CANNED: 3,
}
STREAM_FAILURE_TEXT = "Sorry, something went wrong on my side. Could you send that again?"
LAST_MATCHED_KEY = "last_matched_guideline_ids"

_INDEX_CACHE: OrderedDict[tuple[str, int], ConditionIndex] = OrderedDict()
_INDEX_CACHE_SIZE = 64


def status_event(status: str, data: Mapping[str, Any] | None = None) -> NewEvent:
    """A status event in Parlant's shape: {"status": …, "data": {…}}."""
    return NewEvent(
        kind=EventKind.STATUS,
        source=EventSource.AI_AGENT,
        data={"status": status, "data": dict(data or {})},
    )


class SystemClock:
    """The machine's clock in its local time zone (an adapter may pass one in the site's zone)."""

    def now(self) -> datetime:
        return datetime.now(UTC).astimezone()


class Engine:
    """Runs turns. Stateless between turns: everything a turn needs comes in its TurnInput.

    `tools`: where tool ids in the snapshot are looked up (ToolRegistry; None = no tools run).
    `retrievers`: {name: async fn(RetrieverContext)} or a list of such functions, run every turn.
    `clock`: today's date for relative dates the customer writes ("tomorrow", "Saturday").
    """

    def __init__(
        self,
        nlp: NLPService,
        tools: ToolRegistry | None = None,
        hooks: EngineHooks | None = None,
        retrievers: Mapping[str, Retriever] | Sequence[Retriever] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.nlp = nlp
        self.tools = tools
        self.hooks = hooks or EngineHooks()
        self.retrievers = named_retrievers(retrievers)
        self.clock = clock or SystemClock()

    async def process_turn(
        self, turn: TurnInput, sink: EventSink, cancellation: CancellationSignal
    ) -> TurnOutcome:
        return await _Turn(self, turn, sink, cancellation).execute()


class TurnCancelled(Exception):  # noqa: N818 - control flow inside the engine only
    pass


class TurnBailed(Exception):  # noqa: N818
    def __init__(self, hook_point: str) -> None:
        super().__init__(hook_point)
        self.hook_point = hook_point


@dataclass
class _Decision:
    matched_ids: list[str] = field(default_factory=list)
    rationales: dict[str, str] = field(default_factory=dict)
    journeys: dict[str, dict[str, Any]] = field(default_factory=dict)  # journey id -> decision
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # ids already mapped back


class _Turn:
    def __init__(
        self, engine: Engine, turn: TurnInput, sink: EventSink, cancellation: CancellationSignal
    ) -> None:
        self.engine = engine
        self.nlp = engine.nlp
        self.turn = turn
        self.sink = sink
        self.cancellation = cancellation
        self.snapshot: AgentSnapshot = turn.snapshot
        self.agent = turn.snapshot.agent
        self.log = GenerationLog()
        self.started = time.perf_counter()
        self.hook_context = HookContext(
            turn.snapshot, turn.session_id, turn.customer, turn.trace_id
        )
        self.guidelines = {g.id: g for g in self.snapshot.guidelines}
        self.requested_ids = [f"requested:{n}" for n in range(len(turn.requested_actions))]
        for guideline_id, action in zip(self.requested_ids, turn.requested_actions, strict=True):
            self.guidelines[guideline_id] = Guideline(
                id=guideline_id, condition="the agent was asked to say this now", action=action
            )
        self.journeys = {j.id: j for j in self.snapshot.journeys}
        self.tool_specs: dict[str, ToolSpec] = {spec.id: spec for spec in self.snapshot.tools}
        self.paths: dict[str, tuple[str, ...]] = {
            k: tuple(v) for k, v in turn.state.journey_paths.items()
        }
        self.moves: dict[str, JourneyMove] = {}
        # Journeys the customer left half-way, and where: coming back resumes there.
        self.left_at: dict[str, str] = dict(turn.state.data.get(LEFT_AT_KEY, {}))
        self.tool_records: list[ToolCallRecord] = []
        self.missing_arguments: list[dict[str, Any]] = []
        self.session_mode: SessionMode | None = None
        self.tools_ms = 0.0
        self.retriever_wait_ms = 0.0
        self.resolution: Resolution | None = None
        self.trace: dict[str, Any] = {
            "trace_id": turn.trace_id,
            "agent_id": self.agent.id,
            "snapshot_version": self.snapshot.version,
            "prompt_version": prompts.PROMPT_VERSION,
            "nlp": getattr(self.nlp, "name", type(self.nlp).__name__),
            "journeys": {"before": {k: list(v) for k, v in self.paths.items()}, "moves": []},
            "iterations": [],
            "relationships": [],
            "tools": [],
            "hooks": [],
        }

    # -- top level ---------------------------------------------------------------------------

    async def execute(self) -> TurnOutcome:
        try:
            return await self._run()
        except TurnCancelled:
            await self._emit_cancelled()
            return self._outcome("cancelled", was_cancelled=True)
        except TurnBailed as bail:
            self.trace["hooks"].append({"point": bail.hook_point, "action": "bail"})
            return self._outcome("bailed", state=self.turn.state)
        except asyncio.CancelledError:
            # The task itself was cancelled (a newer message restarted the turn): say so, then
            # let the cancellation propagate.
            await asyncio.shield(self._emit_cancelled())
            raise
        except NLPServiceError as error:
            # The model failed past its retries. Anything else (a bug, or the adapter's sink
            # refusing a stale reply) propagates to the caller unchanged.
            logger.exception("turn failed", extra={"trace_id": self.turn.trace_id})
            self.trace["error"] = f"{type(error).__name__}: {error}"
            action = await run_hooks(self.engine.hooks.on_error, self.hook_context, error)
            if action != HookAction.BAIL:
                # The client gets a short reason, never a traceback.
                await self.sink.emit(
                    status_event(
                        "error",
                        {"exception": "The language model did not produce a usable answer."},
                    )
                )
            return self._outcome("error", state=self.turn.state)
        except Exception as error:
            await run_hooks(self.engine.hooks.on_error, self.hook_context, error)
            raise

    async def _emit_cancelled(self) -> None:
        await self.sink.emit(status_event("cancelled"))
        await self.sink.emit(status_event("ready", self._ready_data(matched=[])))

    async def _check_cancelled(self) -> None:
        if await self.cancellation.is_cancelled():
            raise TurnCancelled()

    async def _run(self) -> TurnOutcome:
        if self.turn.session_mode == SessionMode.MANUAL:
            # A human operator has the conversation; the agent stays silent (Parlant does too).
            return self._outcome("manual_mode", state=self.turn.state)
        if await run_hooks(self.engine.hooks.on_acknowledging, self.hook_context, None) == "bail":
            raise TurnBailed("on_acknowledging")
        await self.sink.emit(status_event("acknowledged"))
        await self.sink.emit(status_event("processing", {"stage": "Interpreting"}))

        self.conversation = Conversation.from_events(self.turn.events)
        retriever_tasks = start_retrievers(self._agent_retrievers(), self._retriever_context())
        try:
            await self._prepare_context()
            await self._match_and_act()
        except BaseException:
            for task in retriever_tasks:
                task.cancel()
            raise
        matching = MatchingPayload(candidate_ids=[], matched_ids=list(self.matched_ids))
        if (
            await run_hooks(self.engine.hooks.on_after_matching, self.hook_context, matching)
            == "bail"
        ):
            for task in retriever_tasks:
                task.cancel()
            await self.sink.emit(status_event("ready", self._ready_data(self.matched_ids)))
            raise TurnBailed("on_after_matching")
        self._apply_matching_hook(matching.matched_ids)
        await self._collect_retrievals(retriever_tasks)
        await self._check_cancelled()
        await self.sink.emit(status_event("typing"))
        message = await self._compose_and_emit()
        await self.sink.emit(status_event("ready", self._ready_data(self.matched_ids)))
        if message is not None:
            await run_hooks(self.engine.hooks.on_after_message, self.hook_context, message)
        return self._outcome("replied" if message else "no_reply")

    # -- context -----------------------------------------------------------------------------

    def _agent_retrievers(self) -> dict[str, Any]:
        wanted = self.turn.snapshot.retriever_names
        if wanted is None:
            return self.engine.retrievers
        return {name: fn for name, fn in self.engine.retrievers.items() if name in wanted}

    def _retriever_context(self) -> RetrieverContext:
        return RetrieverContext(
            agent_id=self.agent.id,
            session_id=self.turn.session_id,
            customer_id=self.turn.customer.id,
            latest_customer_message=self.conversation.latest_customer_message,
            messages=tuple(
                ("customer" if m.is_customer else "agent", m.text)
                for m in self.conversation.messages
            ),
        )

    def _tool_context(self) -> ToolContext:
        async def emit_message(text: str) -> None:
            await self.sink.emit(
                NewEvent(
                    kind=EventKind.MESSAGE,
                    source=EventSource.AI_AGENT,
                    data={"message": text, "participant": self._participant()},
                )
            )

        async def emit_status(status: str, data: Mapping[str, Any]) -> None:
            await self.sink.emit(status_event(status, data))

        return ToolContext(
            agent_id=self.agent.id,
            session_id=self.turn.session_id,
            customer_id=self.turn.customer.id,
            _emit_message=emit_message,
            _emit_status=emit_status,
        )

    def _participant(self) -> dict[str, str]:
        return {"id": self.agent.id, "display_name": self.agent.name}

    async def _prepare_context(self) -> None:
        variables = await resolve_variables(
            self.snapshot.variables, self.engine.tools, self._tool_context()
        )
        self.variable_values = variables.values
        self.refreshed_variables = variables.refreshed
        self.trace["variables"] = {
            "values": _jsonable(variables.values),
            "refreshed": sorted(variables.refreshed),
        }
        self.synonyms = synonym_features(self.snapshot.terms)
        self.signals = ConversationSignals.build(self.conversation, self.synonyms)
        self.index = self._condition_index()
        self.scores = self.index.score_all(self.signals)
        self.narrowing = await rank_conditions(
            self.nlp,
            self.snapshot,
            self.conversation.customer_messages,
            {key: score.score for key, score in self.scores.items()},
        )
        self.trace["narrowing"] = self.narrowing.trace()
        recent = self.conversation.customer_messages[-3:]
        self.terms = relevant_terms(self.snapshot.terms, recent)
        self.capabilities = self._relevant_capabilities()
        self.trace["glossary"] = [term.id for term in self.terms]
        self.trace["capabilities"] = [capability.id for capability in self.capabilities]
        self.history_tool_results = self._history_tool_results()

    def _condition_index(self) -> ConditionIndex:
        # Keyed by content, not only by version: a stale or reused version string must never
        # serve an index that lacks a condition.
        key = (
            self.agent.id,
            hash(
                (
                    self.snapshot.version,
                    tuple((g.id, g.condition) for g in self.snapshot.guidelines),
                    tuple(
                        (j.id, j.conditions, tuple((t.id, t.condition) for t in j.transitions))
                        for j in self.snapshot.journeys
                    ),
                    self.synonyms,
                )
            ),
        )
        if key in _INDEX_CACHE:
            _INDEX_CACHE.move_to_end(key)
            return _INDEX_CACHE[key]
        conditions: dict[str, str] = {}
        embeddings: dict[str, Any] = {}
        for guideline in self.snapshot.guidelines:
            conditions[guideline.id] = guideline.condition
            embeddings[guideline.id] = guideline.condition_embedding
        for journey in self.snapshot.journeys:
            for position, condition in enumerate(journey.conditions):
                conditions[activation_key(journey, position)] = condition
                if journey.condition_embeddings and position < len(journey.condition_embeddings):
                    embeddings[activation_key(journey, position)] = journey.condition_embeddings[
                        position
                    ]
            for transition in journey.transitions:
                if transition.condition:
                    conditions[transition_key(journey, transition)] = transition.condition
        index = ConditionIndex(conditions, self.synonyms, embeddings)
        _INDEX_CACHE[key] = index
        if len(_INDEX_CACHE) > _INDEX_CACHE_SIZE:
            _INDEX_CACHE.popitem(last=False)
        return index

    def _relevant_capabilities(self) -> list[Any]:
        latest = self.conversation.latest_customer_message
        if not latest or not self.snapshot.capabilities:
            return []
        query = hashed_embedding(latest)
        scored = []
        for capability in self.snapshot.capabilities:
            text = " ".join([capability.title, capability.description, *capability.signals])
            scored.append((cosine(hashed_embedding(text), query), capability))
        scored.sort(key=lambda pair: -pair[0])
        return [c for score, c in scored[:MAX_CAPABILITIES_IN_PROMPT] if score >= CAPABILITY_FLOOR]

    def _history_tool_results(self) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        for event in self.turn.events:
            if event.kind != EventKind.TOOL:
                continue
            for call in event.data.get("tool_calls", ()):
                result = call.get("result", {})
                error = stored_tool_failure(result)
                results.append(
                    {
                        "tool_id": unqualified_tool_id(call.get("tool_id", "")),
                        "arguments": call.get("arguments", {}),
                        "data": None if error else result.get("data"),
                        "error": error,
                        "canned_response_fields": result.get("canned_response_fields", {}),
                    }
                )
        return results[-TOOL_RESULTS_FROM_HISTORY:]

    # -- matching, journeys and tools --------------------------------------------------------

    def _journey_candidates(self) -> list[Journey]:
        chosen = []
        for journey in self.snapshot.journeys:
            if is_active(self.paths.get(journey.id, ())):
                chosen.append(journey)
                continue
            if is_local(self.nlp) or any(
                self.narrowing.is_close(activation_key(journey, i))
                for i in range(len(journey.conditions))
            ):
                chosen.append(journey)
        return chosen

    def _eligible_guidelines(self, journey_candidates: Sequence[Journey]) -> list[Guideline]:
        in_play = {j.id for j in journey_candidates}
        return [
            g for g in self.snapshot.guidelines if g.journey_id is None or g.journey_id in in_play
        ]

    async def _match_and_act(self) -> None:
        for journey in self.snapshot.journeys:
            path = self.paths.get(journey.id, ())
            if is_active(path):
                move = JourneyMove(journey.id, path, path)
                self.paths[journey.id] = advance_directly(journey, path, move)
                move.path_after = self.paths[journey.id]
                if move.taken:
                    move.events.append("advanced_directly")
                    self.trace["journeys"]["moves"].append(_move_trace(move))
        journey_candidates = self._journey_candidates()
        eligible = self._eligible_guidelines(journey_candidates)
        applied_before = set(self.turn.state.applied_guideline_ids)
        last_matched = set(self.turn.state.data.get(LAST_MATCHED_KEY, ()))
        if is_local(self.nlp):
            candidates = eligible
        else:
            forced = [
                g.id
                for g in eligible
                if g.is_continuous
                or (g.id in last_matched and g.is_customer_dependent)
                or (g.journey_id and is_active(self.paths.get(g.journey_id, ())))
            ]
            candidates = self.narrowing.guidelines(
                eligible,
                always_include=forced,
                spent=sum(journey_cost(j) for j in journey_candidates),
            )
            candidates = with_disambiguation_targets(self.snapshot, candidates, eligible)
        matching = MatchingPayload(candidate_ids=[g.id for g in candidates])
        if (
            await run_hooks(self.engine.hooks.on_before_matching, self.hook_context, matching)
            == "bail"
        ):
            await self.sink.emit(status_event("ready", self._ready_data([])))
            raise TurnBailed("on_before_matching")
        candidates = [
            self.guidelines[gid] for gid in matching.candidate_ids if gid in self.guidelines
        ]

        decision = await self._decide(
            candidates, journey_candidates, applied_before, round_number=1
        )
        self.matched_ids: list[str] = []
        self._merge_decision(decision, judged={g.id for g in candidates})
        await self._resolve_and_run_tools(decision)

        ran = {record.tool_id for record in self.tool_records}
        iteration = 1
        while iteration < max(1, self.agent.max_engine_iterations):
            reevaluate = reevaluation_sources(self.snapshot, ran) & {
                g.id for g in self._eligible_guidelines(list(self.journeys.values()))
            }
            journeys_to_judge = [j for j in self.snapshot.journeys if self._needs_rejudging(j, ran)]
            if not reevaluate and not journeys_to_judge:
                break
            await self._check_cancelled()
            iteration += 1
            candidates = [self.guidelines[gid] for gid in sorted(reevaluate)]
            decision = await self._decide(
                candidates, journeys_to_judge, applied_before, round_number=iteration
            )
            self._merge_decision(decision, judged=set(reevaluate))
            before = len(self.tool_records)
            await self._resolve_and_run_tools(decision)
            ran = {record.tool_id for record in self.tool_records[before:]}
            if not ran:
                break
        self.trace["journeys"]["after"] = {k: list(v) for k, v in self.paths.items()}

    def _needs_rejudging(self, journey: Journey, ran: set[str]) -> bool:
        """A journey waits on a tool step whose exits depend on the result that just came in."""
        state = pending_tool_state(journey, self.paths.get(journey.id, ()))
        if state is None or not set(state.tool_ids) <= ran:
            return False
        return any(t.condition.strip() for t in outgoing(journey, state.id))

    async def _decide(
        self,
        candidates: Sequence[Guideline],
        journeys: Sequence[Journey],
        applied_before: set[str],
        *,
        round_number: int,
    ) -> _Decision:
        guideline_ids = {g.id: f"g{n}" for n, g in enumerate(candidates, start=1)}
        journey_ids = {j.id: f"j{n}" for n, j in enumerate(journeys, start=1)}
        transition_ids: dict[str, str] = {}
        counter = 0
        for journey in journeys:
            for transition in journey.transitions:
                counter += 1
                transition_ids[transition.id] = f"t{counter}"
        tools = self._decision_tools(candidates, journeys, guideline_ids, journey_ids)
        guideline_items = [
            _guideline_item(g, guideline_ids[g.id], self.scores[g.id], g.id in applied_before)
            for g in candidates
        ]
        ambiguous_among = disambiguation_targets(self.snapshot)
        for item, guideline in zip(guideline_items, candidates, strict=True):
            alternatives = ambiguous_among.get(guideline.id, ())
            if any(t in guideline_ids for t in alternatives):
                item["alternatives"] = [
                    guideline_ids[t] for t in alternatives if t in guideline_ids
                ]
        payload = {
            **self._context_payload(),
            "guidelines": guideline_items,
            "journeys": [
                {
                    **journey_item(
                        j,
                        journey_ids[j.id],
                        self.paths.get(j.id, ()),
                        {t.id: transition_ids[t.id] for t in j.transitions},
                        self.scores,
                        self.left_at.get(j.id),
                    ),
                    "condition_examples": [list(group) for group in j.condition_examples],
                }
                for j in journeys
            ],
            "tools": tools,
        }
        iteration_trace: dict[str, Any] = {
            "round": round_number,
            "candidates": [
                {
                    "id": g.id,
                    "local_id": guideline_ids[g.id],
                    "score": self.scores[g.id].score,
                    "latest_score": self.scores[g.id].latest_score,
                    "previously_applied": g.id in applied_before,
                }
                for g in candidates
            ],
            "considered": len(self.snapshot.guidelines),
            "journeys": [j.id for j in journeys],
        }
        self.trace["iterations"].append(iteration_trace)
        if not candidates and not journeys:
            iteration_trace["skipped"] = "nothing to judge"
            return _Decision()
        result = await generate_checked(
            self.nlp,
            GenerationRequest(
                prompt=prompts.decision_prompt(payload),
                schema_name=prompts.DECISION_SCHEMA_NAME,
                json_schema=prompts.DECISION_SCHEMA,
                hints={"payload": payload},
            ),
            self.log,
            round_number=round_number,
        )
        content = result.content
        by_local_guideline = {local: gid for gid, local in guideline_ids.items()}
        by_local_journey = {local: jid for jid, local in journey_ids.items()}
        by_local_transition = {local: tid for tid, local in transition_ids.items()}
        decision = _Decision()
        verdicts = []
        for item in content.get("guidelines", ()):
            guideline_id = by_local_guideline.get(item.get("id"))
            if guideline_id is None:
                continue
            verdicts.append(
                {
                    "id": guideline_id,
                    "applies": item["applies"],
                    "rationale": item.get("rationale", ""),
                }
            )
            if item["applies"]:
                decision.matched_ids.append(guideline_id)
                decision.rationales[guideline_id] = item.get("rationale", "")
        for item in content.get("journeys", ()):
            journey_id = by_local_journey.get(item.get("id"))
            if journey_id is None:
                continue
            decision.journeys[journey_id] = {
                "transitions": [
                    by_local_transition.get(t, f"unknown:{t}") for t in item.get("transitions", ())
                ],
                "backtrack_to": item.get("backtrack_to", "") or "",
                "exit": bool(item.get("exit", False)),
            }
        for call in content.get("tool_calls", ()):
            decision.tool_calls.append(dict(call))
        iteration_trace["decisions"] = verdicts
        iteration_trace["journey_decisions"] = decision.journeys
        iteration_trace["proposed_tool_calls"] = _jsonable(decision.tool_calls)
        return decision

    def _decision_tools(
        self,
        candidates: Sequence[Guideline],
        journeys: Sequence[Journey],
        guideline_ids: Mapping[str, str],
        journey_ids: Mapping[str, str],
    ) -> list[dict[str, Any]]:
        used_by: dict[str, list[str]] = {}
        for guideline in candidates:
            for tool_id in guideline.tool_ids:
                used_by.setdefault(tool_id, []).append(guideline_ids[guideline.id])
        for journey in journeys:
            for state in journey.states:
                for tool_id in state.tool_ids:
                    used_by.setdefault(tool_id, []).append(f"{journey_ids[journey.id]}:{state.id}")
        items = []
        for tool_id, users in used_by.items():
            spec = self._tool_spec(tool_id)
            if spec is None:
                continue
            items.append(
                {
                    "id": tool_id,
                    "description": spec.description,
                    "parameters": [_parameter_item(p) for p in spec.parameters],
                    "used_by": users,
                }
            )
        return items

    def _service_name(self, tool_id: str) -> str:
        spec = self._tool_spec(tool_id)
        return spec.service_name if spec is not None else ""

    def _tool_spec(self, tool_id: str) -> ToolSpec | None:
        if tool_id in self.tool_specs:
            return self.tool_specs[tool_id]
        registered = self.engine.tools.get(tool_id) if self.engine.tools is not None else None
        return registered.spec() if registered else None

    def _merge_decision(self, decision: _Decision, *, judged: set[str]) -> None:
        """Previous matches stay unless judged again; re-judged ones take the new verdict."""
        kept = [gid for gid in self.matched_ids if gid not in judged]
        self.matched_ids = list(dict.fromkeys([*kept, *decision.matched_ids]))
        self.rationales = {**getattr(self, "rationales", {}), **decision.rationales}
        for journey_id, choice in decision.journeys.items():
            journey = self.journeys[journey_id]
            path = self.paths.get(journey_id, ())
            activate = not is_active(path) and (
                bool(choice["transitions"]) or self._activation_judged(journey, decision)
            )
            move = apply_decision(
                journey,
                path,
                transitions=choice["transitions"],
                backtrack_to=choice["backtrack_to"],
                exit_journey=choice["exit"],
                activate=activate,
                resume_at=self.left_at.get(journey_id),
            )
            note_left(self.left_at, move)
            self.paths[journey_id] = move.path_after
            previous = self.moves.get(journey_id)
            if previous is None:
                self.moves[journey_id] = move
            else:
                previous.taken += move.taken
                previous.entered += move.entered
                previous.events += move.events
                previous.path_after = move.path_after
            self.trace["journeys"]["moves"].append(_move_trace(move))

    def _activation_judged(self, journey: Journey, decision: _Decision) -> bool:
        return bool(decision.journeys.get(journey.id, {}).get("transitions"))

    async def _resolve_and_run_tools(self, decision: _Decision) -> None:
        active_journeys = {jid for jid, path in self.paths.items() if is_active(path)}
        resolution = resolve(
            self.snapshot,
            self.matched_ids,
            active_journeys,
            self.scores,
            is_judged_by_model=not is_local(self.nlp),
        )
        self.trace["relationships"].extend(resolution.effects)
        for journey_id in active_journeys - resolution.active_journey_ids:
            # Deprioritized: the journey does not move this turn.
            move = self.moves.get(journey_id)
            self.paths[journey_id] = move.path_before if move else self.paths[journey_id]
        self.matched_ids = resolution.guideline_ids
        self.resolution = resolution
        self.rationales.update(resolution.rationales)

        allowed: dict[str, str] = {}  # tool id -> why it may run
        for guideline_id in self.matched_ids:
            for tool_id in self.guidelines[guideline_id].tool_ids:
                allowed.setdefault(tool_id, f"guideline {guideline_id}")
        for journey in self.snapshot.journeys:
            state = pending_tool_state(journey, self.paths.get(journey.id, ()))
            if state is not None:
                for tool_id in state.tool_ids:
                    allowed.setdefault(tool_id, f"journey {journey.id} step {state.id}")
        runnable: list[tuple[ToolSpec, dict[str, Any]]] = []
        seen: set[str] = set()
        for call in decision.tool_calls:
            tool_id = call.get("tool_id", "")
            if tool_id not in allowed:
                self.trace["tools"].append(
                    {"tool_id": tool_id, "skipped": "not enabled by a match"}
                )
                continue
            spec = self._tool_spec(tool_id)
            if spec is None or self.engine.tools is None or tool_id not in self.engine.tools:
                self.trace["tools"].append({"tool_id": tool_id, "skipped": "not registered"})
                continue
            arguments, missing, invalid = _prepare_arguments(
                spec, call.get("arguments", {}), call.get("missing", ()), self.engine.tools, tool_id
            )
            if missing or invalid:
                for name in [*missing, *invalid]:
                    parameter = next(p for p in spec.parameters if p.name == name)
                    self.missing_arguments.append(
                        {
                            "tool_id": tool_id,
                            "parameter": name,
                            "description": parameter.description or name.replace("_", " "),
                            "is_invalid": name in invalid,
                            "choices": list(parameter.enum),
                            # What the customer gave, so the reply can say why it was refused.
                            "value": _jsonable(call.get("arguments", {}).get(name))
                            if name in invalid
                            else None,
                            "known_arguments": _jsonable(arguments),
                        }
                    )
                self.trace["tools"].append(
                    {
                        "tool_id": tool_id,
                        "arguments": _jsonable(arguments),
                        "missing": missing,
                        "invalid": invalid,
                        "skipped": "needs data from the customer",
                    }
                )
                continue
            key = f"{tool_id}:{json.dumps(_jsonable(arguments), sort_keys=True)}"
            if key in seen:
                continue
            seen.add(key)
            runnable.append((spec, arguments))
        if not runnable:
            self._leave_tool_steps(set())
            return
        await self.sink.emit(status_event("processing", {"stage": "Considering tools"}))
        started = time.perf_counter()
        context = self._tool_context()
        records = await asyncio.gather(
            *(
                run_tool(self.engine.tools.get(spec.id), arguments, context)
                for spec, arguments in runnable
            )  # type: ignore[union-attr, arg-type]
        )
        self.tools_ms += (time.perf_counter() - started) * 1000
        self.tool_records.extend(records)
        await self.sink.emit(
            NewEvent(
                kind=EventKind.TOOL,
                source=EventSource.SYSTEM,
                data={
                    "tool_calls": [
                        record.event_entry(self._service_name(record.tool_id)) for record in records
                    ]
                },
            )
        )
        for record in records:
            entry = record.event_entry()
            self.trace["tools"].append(
                {
                    **entry,
                    "error": record.error,
                    "duration_ms": record.duration_ms,
                    "enabled_by": allowed.get(record.tool_id, ""),
                }
            )
            mode = record.result.control.get("mode") if record.result else None
            # A handoff to a human is not undone by a later result that merely says "auto".
            if mode in (SessionMode.MANUAL.value, SessionMode.AUTO.value) and (
                self.session_mode != SessionMode.MANUAL
            ):
                self.session_mode = SessionMode(mode)
        self._leave_tool_steps({record.tool_id for record in records if record.result is not None})

    def _leave_tool_steps(self, ran: set[str]) -> None:
        for journey in self.snapshot.journeys:
            path = self.paths.get(journey.id, ())
            if pending_tool_state(journey, path) is None:
                continue
            move = self.moves.setdefault(journey.id, JourneyMove(journey.id, path, path))
            self.paths[journey.id] = after_tools(journey, path, ran, move)
            move.path_after = self.paths[journey.id]

    def _apply_matching_hook(self, matched_ids: Sequence[str]) -> None:
        self.matched_ids = [gid for gid in matched_ids if gid in self.guidelines]
        self.matched_ids += [gid for gid in self.requested_ids if gid not in self.matched_ids]

    async def _collect_retrievals(self, tasks: Sequence[asyncio.Task[Any]]) -> None:
        started = time.perf_counter()
        try:
            records = await asyncio.wait_for(collect(tasks), timeout=RETRIEVER_TIMEOUT_SECONDS + 1)
        except TimeoutError:
            records = []
        self.retriever_wait_ms = (time.perf_counter() - started) * 1000
        self.retrievals = [r for r in records if r.result is not None]
        self.trace["retrievers"] = [r.trace_entry() for r in records]

    # -- composition -------------------------------------------------------------------------

    def _context_payload(self) -> dict[str, Any]:
        return {
            "agent": {"name": self.agent.name, "description": self.agent.description},
            "customer_name": self.turn.customer.name,
            "variables": [
                {"name": name, "value": _jsonable(value)}
                for name, value in self.variable_values.items()
            ],
            "terms": [
                {"name": t.name, "description": t.description, "synonyms": list(t.synonyms)}
                for t in self.terms
            ],
            "history": [
                {"role": "customer" if m.is_customer else "agent", "text": m.text}
                for m in self.conversation.messages[-HISTORY_MESSAGES_IN_PROMPTS:]
            ],
            "latest_customer_message": self.conversation.latest_customer_message,
            "today": self.engine.clock.now().date().isoformat(),
            "tool_results": [
                {
                    "tool_id": r["tool_id"],
                    "arguments": r["arguments"],
                    "data": prompt_view_of(r["data"]),
                    "error": r.get("error", ""),
                    "is_new": r.get("is_new", False),
                }
                for r in self._all_tool_results()
            ],
        }

    def _all_tool_results(self) -> list[dict[str, Any]]:
        current = [
            {
                "tool_id": record.tool_id,
                "arguments": _jsonable(record.arguments),
                "data": record.result.data if record.result else None,
                "error": record.error,
                "canned_response_fields": record.result.canned_response_fields
                if record.result
                else {},
                "is_new": True,
            }
            for record in self.tool_records
        ]
        return [*self.history_tool_results, *current]

    def _instructions(self) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
        """(instructions, principles): matched actions most important first; LOW ones apart.

        A turn an app asked for with given guidelines (Parlant's utterance request) says what was
        requested and nothing else: the customer's last message was answered already."""
        if self.requested_ids:
            requested = [self.guidelines[gid] for gid in self.requested_ids]
            return [
                {"condition": g.condition, "action": g.action, "id": g.id, "tools": []}
                for g in requested
            ], []
        matched = [self.guidelines[gid] for gid in self.matched_ids]
        if self.resolution:
            matched += self.resolution.transient_guidelines
        ordered = sorted(
            (g for g in matched if g.action.strip()),
            key=lambda g: (g.criticality != Criticality.HIGH, -g.priority),
        )
        instructions = [
            {"condition": g.condition, "action": g.action, "id": g.id, "tools": list(g.tool_ids)}
            for g in ordered
            if g.criticality != Criticality.LOW
        ]
        principles = [
            {"condition": g.condition, "action": g.action, "id": g.id}
            for g in ordered
            if g.criticality == Criticality.LOW
        ]
        for journey in self.snapshot.journeys:
            state_id = current_state_id(self.paths.get(journey.id, ()))
            state = state_by_id(journey, state_id) if state_id else None
            if state is not None and state.action and not state.is_tool_state:
                instructions.append(
                    {
                        "condition": f"the conversation is at the step '{state.id}' of the "
                        f"journey '{journey.title}'",
                        "action": state.action,
                        "id": f"{journey.id}:{state.id}",
                        "is_journey_step": True,
                    }
                )
        return instructions, principles

    def _composition_mode(self) -> CompositionMode:
        modes = [self.agent.composition_mode]
        modes += [
            self.guidelines[gid].composition_mode
            for gid in self.matched_ids
            if self.guidelines[gid].composition_mode
        ]
        for journey in self.snapshot.journeys:
            state_id = current_state_id(self.paths.get(journey.id, ()))
            if state_id is None:
                continue
            modes.append(journey.composition_mode)
            state = state_by_id(journey, state_id)
            modes.append(state.composition_mode if state else None)
        # A provider that generates nothing (the local one) can only say approved text.
        if getattr(self.nlp, "says_only_approved_text", False):
            modes.append(CompositionMode.STRICT_CANNED)
        return max((m for m in modes if m), key=lambda m: MODE_STRICTNESS[m])

    async def _compose_and_emit(self) -> MessagePayload | None:
        mode = self._composition_mode()
        instructions, principles = self._instructions()
        self.composed_instructions = instructions
        fields = field_values(
            customer_name=self.turn.customer.name,
            agent_name=self.agent.name,
            variables=self.variable_values,
            missing_params=[m["parameter"] for m in self.missing_arguments],
            tool_fields=[
                *(r.result.canned_response_fields for r in reversed(self.retrievals) if r.result),
                *(r["canned_response_fields"] or {} for r in reversed(self._all_tool_results())),
            ],
        )
        templates = []
        if mode != CompositionMode.FLUID:
            active = {jid for jid, path in self.paths.items() if is_active(path)}
            attached = set(self.matched_ids) | {i["id"] for i in instructions}
            attached |= {s for path in self.paths.values() if is_active(path) for s in path[-1:]}
            usable = usable_templates(
                self.snapshot.canned_responses,
                fields=fields,
                attached_tags=attached,
                active_journey_ids=active,
                all_journey_ids=set(self.journeys),
            )
            query = " ".join(
                [self.conversation.latest_customer_message, *(i["action"] for i in instructions)]
            )
            templates = rank_templates(usable, query)
        payload = {
            **self._context_payload(),
            "mode": mode.value,
            "guidelines": [
                {
                    "condition": i["condition"],
                    "action": i["action"],
                    "tools": i.get("tools", []),
                    "is_journey_step": i.get("is_journey_step", False),
                }
                for i in instructions
            ],
            "principles": principles,
            "session_mode": self.session_mode.value if self.session_mode else None,
            "missing_arguments": self.missing_arguments,
            "capabilities": [
                {"title": c.title, "description": c.description} for c in self.capabilities
            ],
            "retrieved": [_jsonable(r.result.data) for r in self.retrievals if r.result],
            "canned_responses": [
                {
                    "id": t.id,
                    "text": t.text,
                    "signals": list(t.signals),
                    "is_attached": t.is_attached,
                }
                for t in templates
            ],
            "is_first_message": not any(not m.is_customer for m in self.conversation.messages),
        }
        composition_trace: dict[str, Any] = {
            "mode": mode.value,
            "output_mode": self.agent.output_mode.value,
            "instructions": [i["id"] for i in instructions],
            "templates_offered": [t.id for t in templates],
        }
        self.trace["composition"] = composition_trace
        is_stream = self.agent.output_mode == OutputMode.STREAM and mode in (
            CompositionMode.FLUID,
            CompositionMode.COMPOSITED_CANNED,
        )
        self.followed: set[str] | None = None  # set by a composing model that says what it did
        if is_stream:
            streamed = await self._stream(payload, composition_trace)
            if streamed is not None:
                self._record_applied(streamed.text, instructions, composition_trace)
            return streamed
        text, template_ids = await self._compose_block(mode, payload, fields, composition_trace)
        self._record_applied(text, instructions, composition_trace)
        message = MessagePayload(text=text, canned_response_ids=template_ids)
        if (
            await run_hooks(self.engine.hooks.on_before_message, self.hook_context, message)
            == "bail"
        ):
            self.trace["hooks"].append({"point": "on_before_message", "action": "bail"})
            return None
        await self._check_cancelled()
        data: dict[str, Any] = {"message": message.text, "participant": self._participant()}
        if message.canned_response_ids:
            data["canned_responses"] = list(message.canned_response_ids)
        message.offset = await self.sink.emit(
            NewEvent(kind=EventKind.MESSAGE, source=EventSource.AI_AGENT, data=data)
        )
        composition_trace["message"] = message.text
        return message

    def _record_applied(
        self,
        text: str,
        instructions: Sequence[Mapping[str, Any]],
        composition_trace: dict[str, Any],
    ) -> None:
        """Which instructions the reply carried out; only those count as applied."""
        self.applied_now = applied_ids(text, instructions, self.followed)
        composition_trace["applied"] = sorted(self.applied_now)
        composition_trace["applied_by"] = "composer" if self.followed is not None else "reading"

    async def _compose_block(
        self,
        mode: CompositionMode,
        payload: dict[str, Any],
        fields: Mapping[str, Any],
        composition_trace: dict[str, Any],
    ) -> tuple[str, list[str]]:
        round_number = len(self.trace["iterations"]) + 1
        if mode == CompositionMode.STRICT_CANNED:
            if not payload["canned_responses"]:
                template_id, text = no_match_text(self.snapshot.canned_responses, fields)
                composition_trace.update(no_match=True, canned_response_id=template_id)
                return text, [template_id] if template_id else []
            result = await generate_checked(
                self.nlp,
                GenerationRequest(
                    prompt=prompts.strict_canned_prompt(payload),
                    schema_name=prompts.STRICT_CANNED_SCHEMA_NAME,
                    json_schema=prompts.STRICT_CANNED_SCHEMA,
                    hints={"payload": payload},
                ),
                self.log,
                round_number=round_number,
            )
            chosen = _template(payload, result.content.get("canned_response_id", ""))
            if chosen is None:
                template_id, text = no_match_text(self.snapshot.canned_responses, fields)
                composition_trace.update(no_match=True, canned_response_id=template_id)
                return text, [template_id] if template_id else []
            composition_trace["canned_response_id"] = chosen["id"]
            return chosen["text"], [chosen["id"]]
        if mode == CompositionMode.CANNED_FLUID and payload["canned_responses"]:
            result = await generate_checked(
                self.nlp,
                GenerationRequest(
                    prompt=prompts.compose_prompt(payload),
                    schema_name=prompts.CANNED_FLUID_SCHEMA_NAME,
                    json_schema=prompts.CANNED_FLUID_SCHEMA,
                    hints={"payload": payload},
                ),
                self.log,
                round_number=round_number,
            )
            chosen = _template(payload, result.content.get("canned_response_id", ""))
            if chosen is not None:
                composition_trace["canned_response_id"] = chosen["id"]
                composition_trace["draft"] = result.content.get("message", "")
                return chosen["text"], [chosen["id"]]
            self.followed = followed_ids(result.content, self.composed_instructions)
            return result.content["message"], []
        result = await generate_checked(
            self.nlp,
            GenerationRequest(
                prompt=prompts.compose_prompt(payload),
                schema_name=prompts.COMPOSE_SCHEMA_NAME,
                json_schema=prompts.COMPOSE_SCHEMA,
                hints={"payload": payload},
            ),
            self.log,
            round_number=round_number,
        )
        self.followed = followed_ids(result.content, self.composed_instructions)
        return result.content["message"], []

    async def _stream(
        self, payload: dict[str, Any], composition_trace: dict[str, Any]
    ) -> MessagePayload | None:
        """Emit the message at the first chunk and grow it in place.

        The cancellation check happens before the first chunk: once the customer sees text, the
        message is finished rather than left half-written. A provider failure mid-stream is
        retried as one block generation and the same event is replaced with the full text, so a
        reply never appears twice.
        """
        payload = {**payload, "is_stream": True}
        request = GenerationRequest(
            prompt=prompts.compose_prompt(payload),
            schema_name=prompts.STREAM_SCHEMA_NAME,
            json_schema={},
            hints={"payload": payload},
        )
        round_number = len(self.trace["iterations"]) + 1
        await self._check_cancelled()
        chunks: list[str] = []
        offset: int | None = None
        started = time.perf_counter()
        first_chunk_ms: float | None = None
        error = ""
        try:
            async for chunk in self.nlp.stream(request):
                if not chunk:
                    continue
                chunks.append(chunk)
                data = {
                    "message": "".join(chunks),
                    "participant": self._participant(),
                    "chunks": list(chunks),
                }
                if offset is None:
                    first_chunk_ms = (time.perf_counter() - started) * 1000
                    offset = await self.sink.emit(
                        NewEvent(kind=EventKind.MESSAGE, source=EventSource.AI_AGENT, data=data)
                    )
                else:
                    await self.sink.update(offset, data)
        except Exception as failure:  # noqa: BLE001 - any provider failure: recover below
            error = f"{type(failure).__name__}: {failure}"
            logger.warning("stream failed", extra={"error": error})
        latency = (time.perf_counter() - started) * 1000
        self.log.record(
            schema_name=prompts.STREAM_SCHEMA_NAME,
            model=getattr(self.nlp, "name", ""),
            attempt=1,
            is_ok=not error,
            error=error,
            round=round_number,
            prompt_tokens=0 if is_local(self.nlp) else _estimate(request.prompt),
            completion_tokens=0 if is_local(self.nlp) else _estimate("".join(chunks)),
            latency_ms=round(latency, 2),
            first_chunk_ms=None if first_chunk_ms is None else round(first_chunk_ms, 2),
        )
        text = "".join(chunks)
        if error or not text:
            try:
                result = await generate_checked(
                    self.nlp,
                    GenerationRequest(
                        prompt=prompts.compose_prompt({**payload, "is_stream": False}),
                        schema_name=prompts.COMPOSE_SCHEMA_NAME,
                        json_schema=prompts.COMPOSE_SCHEMA,
                        hints={"payload": payload},
                    ),
                    self.log,
                    round_number=round_number,
                )
                text = result.content["message"]
            except GenerationFailed:
                if offset is None:
                    raise
                text = STREAM_FAILURE_TEXT
                await self.sink.emit(status_event("error", {"exception": "The reply was cut off."}))
        final = {"message": text, "participant": self._participant(), "chunks": [*chunks, None]}
        if offset is None:
            offset = await self.sink.emit(
                NewEvent(kind=EventKind.MESSAGE, source=EventSource.AI_AGENT, data=final)
            )
        else:
            await self.sink.update(offset, final)
        composition_trace["message"] = text
        return MessagePayload(text=text, offset=offset)

    # -- outcome -----------------------------------------------------------------------------

    def _ready_data(self, matched: Sequence[str]) -> dict[str, Any]:
        active = [jid for jid, path in self.paths.items() if is_active(path)]
        return {
            "stage": "completed",
            "matched_guidelines": list(matched),
            "matched_journeys": active,
            "matched_journey_states": [self.paths[jid][-1] for jid in active],
        }

    def _outcome(
        self, result: str, *, was_cancelled: bool = False, state: AgentState | None = None
    ) -> TurnOutcome:
        if state is None:
            matched = getattr(self, "matched_ids", [])
            # Without a reply written this turn there is nothing to read, so every matched action
            # counts as before; with one, only what it carried out does.
            carried = getattr(self, "applied_now", None)
            trackable = [
                gid
                for gid in matched
                if self.guidelines[gid].action.strip()
                and not self.guidelines[gid].is_continuous
                and self.guidelines[gid].criticality != Criticality.LOW
                and (carried is None or gid in carried)
            ]
            state = AgentState(
                applied_guideline_ids=tuple(
                    dict.fromkeys([*self.turn.state.applied_guideline_ids, *trackable])
                ),
                journey_paths={k: tuple(v) for k, v in self.paths.items()},
                data={
                    **self.turn.state.data,
                    LAST_MATCHED_KEY: list(matched),
                    LEFT_AT_KEY: dict(self.left_at),
                },
            )
        if was_cancelled:
            state = self.turn.state
        total_ms = (time.perf_counter() - self.started) * 1000
        model_ms = sum(call.get("latency_ms", 0.0) for call in self.log.calls)
        rounds = {call.get("round") for call in self.log.calls if call.get("is_ok")}
        self.trace.update(
            outcome=result,
            matched=[
                {"id": gid, "rationale": getattr(self, "rationales", {}).get(gid, "")}
                for gid in getattr(self, "matched_ids", [])
            ],
            transient_guidelines=[
                {"id": g.id, "action": g.action}
                for g in (self.resolution.transient_guidelines if self.resolution else [])
            ],
            missing_arguments=self.missing_arguments,
            session_mode=self.session_mode.value if self.session_mode else None,
            llm_calls=self.log.calls,
            llm_rounds=len(rounds),
            timing={
                "total_ms": round(total_ms, 2),
                "model_ms": round(model_ms, 2),
                "tools_ms": round(self.tools_ms, 2),
                "retriever_wait_ms": round(self.retriever_wait_ms, 2),
                "engine_ms": round(
                    max(0.0, total_ms - model_ms - self.tools_ms - self.retriever_wait_ms), 2
                ),
            },
        )
        self.trace["journeys"].setdefault("after", {k: list(v) for k, v in self.paths.items()})
        return TurnOutcome(
            state=state,
            trace=_jsonable(self.trace),
            session_mode=self.session_mode,
            was_cancelled=was_cancelled,
            refreshed_variables=getattr(self, "refreshed_variables", {}),
        )


def _template(payload: Mapping[str, Any], template_id: str) -> Mapping[str, Any] | None:
    return next((t for t in payload["canned_responses"] if t["id"] == template_id), None)


def _guideline_item(
    guideline: Guideline, local_id: str, score: ConditionScore, was_applied_before: bool
) -> dict[str, Any]:
    return {
        "id": local_id,
        "condition": guideline.condition,
        "action": guideline.action,
        "criticality": guideline.criticality.value,
        "examples": list(guideline.examples),
        "previously_applied": was_applied_before,
        "customer_dependent": guideline.is_customer_dependent,
        "continuous": guideline.is_continuous,
        "local": {
            "score": score.score,
            "latest_score": score.latest_score,
            "shared": list(score.shared_features),
        },
    }


def _parameter_item(parameter: ToolParameter) -> dict[str, Any]:
    item: dict[str, Any] = {
        "name": parameter.name,
        "type": parameter.type,
        "required": parameter.is_required,
    }
    if parameter.description:
        item["description"] = parameter.description
    if parameter.enum:
        item["enum"] = list(parameter.enum)
    if parameter.examples:
        item["examples"] = list(parameter.examples)
    if parameter.item_type:
        item["item_type"] = parameter.item_type
    if parameter.default is not None:
        item["default"] = parameter.default
    return item


def _prepare_arguments(
    spec: ToolSpec,
    proposed: Mapping[str, Any],
    declared_missing: Sequence[str],
    registry: ToolRegistry,
    tool_id: str,
) -> tuple[dict[str, Any], list[str], list[str]]:
    """(arguments cast to their types, missing required names, invalid names)."""
    registered = registry.get(tool_id)
    annotations = registered.annotations if registered else {}
    arguments: dict[str, Any] = {}
    missing: list[str] = []
    invalid: list[str] = []
    for parameter in spec.parameters:
        value = proposed.get(parameter.name)
        if isinstance(value, str) and (not value.strip() or value.strip().startswith("<")):
            value = None  # "" or "<missing>" placeholders are not values
        if value is None or parameter.name in declared_missing and value is None:
            if parameter.is_required:
                missing.append(parameter.name)
            continue
        try:
            arguments[parameter.name] = cast_argument(
                value, parameter, annotations.get(parameter.name)
            )
        except InvalidArgument:
            invalid.append(parameter.name)
    return arguments, missing, invalid


def _estimate(text: str) -> int:
    from engine.text import estimate_tokens

    return estimate_tokens(text)


def _move_trace(move: JourneyMove) -> dict[str, Any]:
    return {
        "journey_id": move.journey_id,
        "path_before": list(move.path_before),
        "path_after": list(move.path_after),
        "transitions": list(move.taken),
        "entered": list(move.entered),
        "events": list(move.events),
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if hasattr(value, "value") and isinstance(value.value, str | int):
        return value.value
    return str(value)
