"""Frozen value types that cross the engine boundary.

Everything the engine reads arrives as one of these; nothing here knows about Django. Ids are
plain strings typed with NewType so a session id cannot be passed where an agent id is expected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, NewType

AgentId = NewType("AgentId", str)
SessionId = NewType("SessionId", str)
CustomerId = NewType("CustomerId", str)
GuidelineId = NewType("GuidelineId", str)
JourneyId = NewType("JourneyId", str)
ToolId = NewType("ToolId", str)


class CompositionMode(StrEnum):
    FLUID = "fluid"
    CANNED_FLUID = "canned_fluid"
    COMPOSITED_CANNED = "composited_canned"
    STRICT_CANNED = "strict_canned"


class OutputMode(StrEnum):
    BLOCK = "block"
    STREAM = "stream"


class EventKind(StrEnum):
    MESSAGE = "message"
    TOOL = "tool"
    STATUS = "status"
    CUSTOM = "custom"


class EventSource(StrEnum):
    CUSTOMER = "customer"
    CUSTOMER_UI = "customer_ui"
    HUMAN_AGENT = "human_agent"
    HUMAN_AGENT_ON_BEHALF_OF_AI_AGENT = "human_agent_on_behalf_of_ai_agent"
    AI_AGENT = "ai_agent"
    SYSTEM = "system"


class Criticality(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class SessionMode(StrEnum):
    AUTO = "auto"
    MANUAL = "manual"


@dataclass(frozen=True)
class Guideline:
    id: str
    condition: str
    action: str = ""  # empty: an observation, matched but with nothing to do
    description: str = ""
    criticality: Criticality = Criticality.MEDIUM
    tool_ids: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    # Customer messages for which the condition holds, written by the author: matching compares
    # the conversation with these as well as with the condition itself.
    examples: tuple[str, ...] = ()
    journey_id: str | None = None  # set: the guideline applies only while that journey is active
    # Computed when the guideline is saved, never per turn; None means "not indexed yet".
    condition_embedding: tuple[float, ...] | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    priority: int = 0
    # The action needs the customer's part too (e.g. "ask for the order number"): it is repeated
    # while the customer has not answered, instead of counting as done once said.
    is_customer_dependent: bool = False
    # The action holds for the whole conversation ("speak formally"): never tracked as applied.
    is_continuous: bool = False
    composition_mode: CompositionMode | None = None  # forces a mode while this guideline is matched

    @property
    def is_observation(self) -> bool:
        return not self.action.strip()


class RelationshipKind(StrEnum):
    ENTAILMENT = "entailment"  # source active ⇒ target active
    PRIORITY = "priority"  # both active ⇒ target dropped
    DEPENDENCY = "dependency"  # source dropped unless every target is active
    DEPENDENCY_ANY = "dependency_any"  # source dropped unless one target per group is active
    DISAMBIGUATION = "disambiguation"  # source observation + ≥2 plausible targets ⇒ ask which
    OVERLAP = "overlap"  # tool ↔ tool: decide them together
    REEVALUATION = "reevaluation"  # source is matched again after target tool ran


class EntityKind(StrEnum):
    GUIDELINE = "guideline"
    TAG = "tag"  # every active member counts; as a dependency target, all members must be active
    TAG_ANY = "tag_any"  # as a dependency target, one active member suffices
    JOURNEY = "journey"
    TOOL = "tool"


@dataclass(frozen=True)
class EntityRef:
    kind: EntityKind
    id: str


@dataclass(frozen=True)
class Relationship:
    id: str
    kind: RelationshipKind
    source: EntityRef
    target: EntityRef
    group_id: str = ""  # DEPENDENCY_ANY: targets sharing a group are OR-ed, groups are AND-ed


JOURNEY_END = "end"  # target state id meaning "the journey is complete"
JOURNEY_INITIAL = "initial"  # source state id of the transition(s) that start a journey


@dataclass(frozen=True)
class JourneyState:
    id: str
    action: str = ""  # chat states: what the agent does here
    tool_ids: tuple[str, ...] = ()  # tool states: the tools that run here
    description: str = ""
    composition_mode: CompositionMode | None = None  # forces a mode while this state is current
    is_fork: bool = False  # branching only: never current, transitions are taken at once

    @property
    def is_tool_state(self) -> bool:
        return bool(self.tool_ids)


@dataclass(frozen=True)
class JourneyTransition:
    id: str
    source_id: str  # a state id, or JOURNEY_INITIAL
    target_id: str  # a state id, or JOURNEY_END
    condition: str = ""  # empty: taken as soon as the source state is done


@dataclass(frozen=True)
class Journey:
    id: str
    title: str
    conditions: tuple[str, ...]  # any of them activates the journey
    description: str = ""
    states: tuple[JourneyState, ...] = ()
    transitions: tuple[JourneyTransition, ...] = ()
    tags: tuple[str, ...] = ()
    priority: int = 0
    composition_mode: CompositionMode | None = None
    # Computed when the journey is saved, aligned with `conditions`; None means "not indexed yet".
    condition_embeddings: tuple[tuple[float, ...], ...] | None = None
    # Aligned with `conditions`: customer messages for which each condition holds (may be empty).
    condition_examples: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Term:
    id: str
    name: str
    description: str
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContextVariable:
    """A variable with the value already resolved for this turn's customer (or None)."""

    id: str
    name: str
    description: str = ""
    value: Any = None
    tool_id: str | None = None  # set: refreshed by calling this tool when `is_stale`
    is_stale: bool = False  # the adapter applies the freshness rules and sets this


@dataclass(frozen=True)
class CannedResponse:
    id: str
    value: str  # template text; fields are written {{std.customer.name}}, {{balance}}, …
    signals: tuple[str, ...] = ()  # alternative phrasings that should retrieve this template
    tags: tuple[str, ...] = ()  # e.g. a guideline or journey tag scoping it, or "no_match"
    field_dependencies: tuple[str, ...] = ()  # fields that must be available (beyond the parsed)
    embedding: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Capability:
    id: str
    title: str
    description: str
    signals: tuple[str, ...] = ()


@dataclass(frozen=True)
class ToolParameter:
    name: str
    type: str = "string"  # string | integer | number | boolean
    description: str = ""
    enum: tuple[str, ...] = ()
    is_required: bool = True
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class ToolSpec:
    """A tool the agent may use, as authored; `id` matches a ToolRegistry entry's name."""

    id: str
    description: str = ""
    parameters: tuple[ToolParameter, ...] = ()
    is_consequential: bool = False


@dataclass(frozen=True)
class Agent:
    id: str
    name: str
    description: str = ""
    composition_mode: CompositionMode = CompositionMode.FLUID
    output_mode: OutputMode = OutputMode.BLOCK
    max_engine_iterations: int = 3
    # Chosen by the adapter: such an agent runs on the local provider, never a language model.
    is_llm_free: bool = False
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgentSnapshot:
    """Everything an agent's behaviour consists of, resolved through tags, at one version.

    Fields beyond `agent` and `guidelines` default to empty so that a minimal snapshot (as the
    walking skeleton and unit tests build) is valid. `version` changes whenever any behaviour
    changes, so caches keyed by it never serve stale behaviour.
    """

    agent: Agent
    guidelines: tuple[Guideline, ...] = ()
    relationships: tuple[Relationship, ...] = ()
    journeys: tuple[Journey, ...] = ()
    terms: tuple[Term, ...] = ()
    variables: tuple[ContextVariable, ...] = ()
    canned_responses: tuple[CannedResponse, ...] = ()
    capabilities: tuple[Capability, ...] = ()
    tools: tuple[ToolSpec, ...] = ()
    version: str = ""
    # Names of the engine's retrievers this agent uses; None runs every registered retriever.
    retriever_names: tuple[str, ...] | None = None
    # The model that made the stored condition vectors; the engine uses them only when its NLP
    # service embeds with the same model, and embeds the conditions itself otherwise.
    embedding_model: str = ""


@dataclass(frozen=True)
class Customer:
    id: str
    name: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class SessionEvent:
    """One stored event of a session's timeline, as the engine sees it."""

    offset: int
    kind: EventKind
    source: EventSource
    data: Mapping[str, Any]
    trace_id: str = ""
    created_at: datetime | None = None


@dataclass(frozen=True)
class NewEvent:
    """An event the engine asks the sink to append."""

    kind: EventKind
    source: EventSource
    data: Mapping[str, Any]


@dataclass(frozen=True)
class AgentState:
    """Cross-turn memory of the agent in one session, persisted by the adapter between turns."""

    applied_guideline_ids: tuple[str, ...] = ()
    # journey id -> visited state ids, most recent last
    journey_paths: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TurnInput:
    snapshot: AgentSnapshot
    session_id: str
    customer: Customer
    events: tuple[SessionEvent, ...]
    state: AgentState = AgentState()
    session_mode: SessionMode = SessionMode.AUTO
    trace_id: str = ""


@dataclass(frozen=True)
class TurnOutcome:
    """What a finished turn leaves behind for the adapter to persist."""

    state: AgentState
    trace: Mapping[str, Any]  # JSON-serialisable explanation of the turn
    session_mode: SessionMode | None = None  # set when a tool asked to switch the mode
    was_cancelled: bool = False
    # Context variable id -> value fetched this turn by the variable's tool; the adapter stores it.
    refreshed_variables: Mapping[str, Any] = field(default_factory=dict)
