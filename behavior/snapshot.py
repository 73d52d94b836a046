"""Behaviour → engine: converts authored rows into the engine's frozen AgentSnapshot.

One function per type; no model instance crosses into the engine. `agent_snapshot` runs a fixed
number of queries however much behaviour there is (tests/behavior/test_snapshot.py counts them).
"""

import hashlib
from array import array
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from django.db.models import Prefetch, Q
from django.utils import timezone

from behavior.embeddings import embedding_model
from behavior.freshness import is_stale
from behavior.models import (
    Agent,
    CannedResponse,
    Capability,
    ContextVariable,
    ContextVariableValue,
    GlossaryTerm,
    Guideline,
    Journey,
    JourneyState,
    Relationship,
    Retriever,
    Tag,
    Tool,
    agent_tag_id,
    journey_tag_id,
)
from engine import types as engine_types
from engine.tools import default_registry


def _mode(value: str) -> engine_types.CompositionMode | None:
    return engine_types.CompositionMode(value) if value else None


def to_agent(row: Agent) -> engine_types.Agent:
    return engine_types.Agent(
        id=row.id,
        name=row.name,
        description=row.description,
        composition_mode=engine_types.CompositionMode(row.composition_mode),
        output_mode=engine_types.OutputMode(row.message_output_mode),
        max_engine_iterations=row.max_engine_iterations,
        is_llm_free=row.is_llm_free,
        tags=tuple(tag.id for tag in row.tags.all()),
    )


def _current_vector(row: Guideline, model: str) -> tuple[float, ...] | None:
    """The stored condition vector if it was made from this text by `model`, else None."""
    if not row.condition_embedding or row.embedded_condition != row.condition:
        return None
    return tuple(row.condition_embedding) if row.embedding_model == model else None


def to_guideline(
    row: Guideline, journey_ids: set[str], embedding_model: str = ""
) -> engine_types.Guideline:
    """`journey_ids`: the journeys in this snapshot; a `journey:<id>` tag of one of them scopes
    the guideline to that journey. `embedding_model`: the model whose vectors the engine will
    compare with (others are left out)."""
    tag_ids = tuple(tag.id for tag in row.tags.all())
    journey_id = next(
        (
            tag_id.removeprefix("journey:")
            for tag_id in tag_ids
            if tag_id.startswith("journey:") and tag_id.removeprefix("journey:") in journey_ids
        ),
        None,
    )
    dependent = row.metadata.get("customer_dependent_action_data")
    return engine_types.Guideline(
        id=row.id,
        condition=row.condition,
        action=row.action,
        description=row.description,
        criticality=engine_types.Criticality(row.criticality),
        tool_ids=tuple(association.tool_id for association in row.tool_associations.all()),
        tags=tag_ids,
        examples=tuple(row.examples),
        journey_id=journey_id,
        condition_embedding=_current_vector(row, embedding_model),
        metadata=dict(row.metadata),
        priority=row.priority,
        is_customer_dependent=bool(
            isinstance(dependent, dict) and dependent.get("is_customer_dependent")
        ),
        is_continuous=bool(row.metadata.get("continuous")),
        composition_mode=_mode(row.composition_mode),
    )


def to_entity_ref(row: Relationship, side: str) -> engine_types.EntityRef:
    if (guideline_id := getattr(row, f"{side}_guideline_id")) is not None:
        return engine_types.EntityRef(engine_types.EntityKind.GUIDELINE, guideline_id)
    if (journey_id := getattr(row, f"{side}_journey_id")) is not None:
        return engine_types.EntityRef(engine_types.EntityKind.JOURNEY, journey_id)
    if (tool_id := getattr(row, f"{side}_tool_id")) is not None:
        return engine_types.EntityRef(engine_types.EntityKind.TOOL, tool_id)
    return engine_types.EntityRef(engine_types.EntityKind.TAG, getattr(row, f"{side}_tag_id"))


def to_relationship(row: Relationship) -> engine_types.Relationship:
    return engine_types.Relationship(
        id=row.id,
        kind=engine_types.RelationshipKind(row.kind),
        source=to_entity_ref(row, "source"),
        target=to_entity_ref(row, "target"),
    )


def to_journey(row: Journey, embedding_model: str = "") -> engine_types.Journey:
    states = list(row.states.all())
    kinds = {state.id: state.kind for state in states}

    def endpoint(state_id: str) -> str:
        if kinds.get(state_id) == JourneyState.Kind.INITIAL:
            return engine_types.JOURNEY_INITIAL
        if kinds.get(state_id) == JourneyState.Kind.END:
            return engine_types.JOURNEY_END
        return state_id

    conditions = sorted(row.conditions.all(), key=lambda g: (g.created_at, g.id))
    vectors = [_current_vector(g, embedding_model) for g in conditions]
    embeddings = [vector for vector in vectors if vector is not None]
    return engine_types.Journey(
        id=row.id,
        title=row.title,
        conditions=tuple(g.condition for g in conditions),
        description=row.description,
        states=tuple(
            engine_types.JourneyState(
                id=state.id,
                action=state.action,
                tool_ids=tuple(tool.id for tool in state.tools.all()),
                description=state.description,
                composition_mode=_mode(state.composition_mode),
                is_fork=state.kind == JourneyState.Kind.FORK,
            )
            for state in states
            if state.kind not in (JourneyState.Kind.INITIAL, JourneyState.Kind.END)
        ),
        transitions=tuple(
            engine_types.JourneyTransition(
                id=transition.id,
                source_id=endpoint(transition.source_id),
                target_id=endpoint(transition.target_id),
                condition=transition.condition,
            )
            for transition in row.transitions.all()
        ),
        tags=tuple(tag.id for tag in row.tags.all()),
        priority=row.priority,
        composition_mode=_mode(row.composition_mode),
        condition_embeddings=tuple(embeddings) if len(embeddings) == len(conditions) else None,
        condition_examples=tuple(tuple(g.examples) for g in conditions),
    )


def to_term(row: GlossaryTerm) -> engine_types.Term:
    return engine_types.Term(
        id=row.id, name=row.name, description=row.description, synonyms=tuple(row.synonyms)
    )


def to_variable(
    row: ContextVariable, value: ContextVariableValue | None, now: datetime
) -> engine_types.ContextVariable:
    return engine_types.ContextVariable(
        id=row.id,
        name=row.name,
        description=row.description,
        value=value.data if value is not None else None,
        tool_id=row.tool_id,
        is_stale=bool(row.tool_id)
        and is_stale(row.freshness_rules, value.updated_at if value else None, now),
    )


def to_canned_response(row: CannedResponse) -> engine_types.CannedResponse:
    return engine_types.CannedResponse(
        id=row.id,
        value=row.value,
        signals=tuple(row.signals),
        tags=tuple(tag.id for tag in row.tags.all()),
        field_dependencies=tuple(row.field_dependencies),
    )


def to_capability(row: Capability) -> engine_types.Capability:
    return engine_types.Capability(
        id=row.id, title=row.title, description=row.description, signals=tuple(row.signals)
    )


def _parameter_order(row: Tool) -> list[str]:
    """Parameters in the order the function declares them.

    PostgreSQL's jsonb sorts object keys (shortest first), so the stored dict has lost that
    order; it decides which missing value the agent asks for first, so take it from the code.
    """
    registered = default_registry.get(row.id)
    declared = [parameter.name for parameter in registered.parameters] if registered else []
    return [
        *(name for name in declared if name in row.parameters),
        *(name for name in row.required if name not in declared and name in row.parameters),
        *sorted(set(row.parameters) - set(declared) - set(row.required)),
    ]


def to_tool_spec(row: Tool) -> engine_types.ToolSpec:
    required = set(row.required)
    return engine_types.ToolSpec(
        id=row.id,
        description=row.description,
        parameters=tuple(
            engine_types.ToolParameter(
                name=name,
                type=spec.get("type", "string"),
                description=spec.get("description", ""),
                enum=tuple(str(item) for item in spec.get("enum") or ()),
                is_required=name in required,
                examples=tuple(str(item) for item in spec.get("examples") or ()),
            )
            for name in _parameter_order(row)
            for spec in (row.parameters[name],)
        ),
        is_consequential=row.is_consequential,
    )


def _resolved_values(
    variables: list[ContextVariable], agent_id: str, customer_id: str | None
) -> dict[str, ContextVariableValue]:
    """Each variable's value for the customer: Parlant's order is the customer's own value,
    then one for any of the customer's tags, then the agent's, then the default."""
    if not variables:
        return {}
    customer_tag_ids: list[str] = []
    key_filter = Q(customer__isnull=True, tag__isnull=True) | Q(tag_id=agent_tag_id(agent_id))
    if customer_id:
        customer_tag_ids = list(
            Tag.customers.through.objects.filter(customer_id=customer_id).values_list(
                "tag_id", flat=True
            )
        )
        key_filter |= Q(customer_id=customer_id) | Q(tag_id__in=customer_tag_ids)
    values = ContextVariableValue.objects.filter(key_filter, variable__in=variables)

    def rank(value: ContextVariableValue) -> tuple[int, int]:
        if value.customer_id:
            return (0, 0)
        if value.tag_id in customer_tag_ids:
            return (1, customer_tag_ids.index(value.tag_id))
        if value.tag_id:
            return (2, 0)
        return (3, 0)

    best: dict[str, ContextVariableValue] = {}
    for value in values:
        current = best.get(value.variable_id)
        if current is None or rank(value) < rank(current):
            best[value.variable_id] = value
    return best


def _version(snapshot: engine_types.AgentSnapshot) -> str:
    """A digest of everything in the snapshot: it changes whenever any behaviour changes.

    Embeddings are hashed as raw bytes rather than through repr, which would dominate the cost.
    """
    digest = hashlib.sha256()
    for guideline in snapshot.guidelines:
        digest.update(repr(replace(guideline, condition_embedding=None)).encode())
        digest.update(array("d", guideline.condition_embedding or ()).tobytes())
    for journey in snapshot.journeys:
        digest.update(repr(replace(journey, condition_embeddings=None)).encode())
        for embedding in journey.condition_embeddings or ():
            digest.update(array("d", embedding).tobytes())
    rest = replace(snapshot, guidelines=(), journeys=(), version="")
    digest.update(repr(rest).encode())
    return digest.hexdigest()[:16]


def _ids(rows: Iterable) -> list[str]:
    return [row.pk for row in rows]


def agent_snapshot(agent_id: str, customer_id: str | None = None) -> engine_types.AgentSnapshot:
    """Everything the agent's behaviour consists of, resolved through tags, in fixed queries.

    With `customer_id`, each context variable carries the value that applies to that customer
    (customer, then customer tag, then agent, then default); without, the agent's or default.
    Raises Agent.DoesNotExist for an unknown agent.
    """
    agent = Agent.objects.prefetch_related("tags").get(pk=agent_id)
    agent_tags = [tag.id for tag in agent.tags.all()]

    journeys = list(
        Journey.objects.for_agent(agent.id, agent_tags)
        .prefetch_related(
            "tags",
            "conditions",
            Prefetch("states", queryset=JourneyState.objects.prefetch_related("tools")),
            "transitions",
        )
        .order_by("created_at", "id")
    )
    journey_ids = {journey.id for journey in journeys}
    condition_ids = {g.id for journey in journeys for g in journey.conditions.all()}
    scope = [agent_tag_id(agent.id), *agent_tags, *(journey_tag_id(j) for j in journey_ids)]
    guidelines = [
        row
        for row in Guideline.objects.filter(enabled=True)
        .filter(
            Q(tags__isnull=True)
            | Q(pk__in=Guideline.tags.through.objects.filter(tag_id__in=scope).values("guideline"))
        )
        .distinct()
        .prefetch_related("tags", "tool_associations")
        .order_by("created_at", "id")
        if row.id not in condition_ids
    ]
    guideline_ids = _ids(guidelines)

    def relevant(side: str) -> Q:
        return (
            Q(**{f"{side}_guideline__in": guideline_ids})
            | Q(**{f"{side}_journey__in": journey_ids})
            | Q(**{f"{side}_tag__isnull": False})
            | Q(**{f"{side}_tool__isnull": False})
        )

    relationships = Relationship.objects.filter(relevant("source"), relevant("target")).order_by(
        "created_at", "id"
    )
    terms = GlossaryTerm.objects.for_agent(agent.id, agent_tags).order_by("name", "id")
    variables = list(ContextVariable.objects.for_agent(agent.id, agent_tags).order_by("name", "id"))
    values = _resolved_values(variables, agent.id, customer_id)
    canned = (
        CannedResponse.objects.for_agent(agent.id, agent_tags)
        .prefetch_related("tags")
        .order_by("created_at", "id")
    )
    capabilities = Capability.objects.for_agent(agent.id, agent_tags).order_by("title", "id")

    model = embedding_model()
    converted_guidelines = tuple(to_guideline(row, journey_ids, model) for row in guidelines)
    converted_journeys = tuple(to_journey(row, model) for row in journeys)
    now = timezone.now()
    converted_variables = tuple(to_variable(row, values.get(row.id), now) for row in variables)
    used_tool_ids = {tool_id for g in converted_guidelines for tool_id in g.tool_ids}
    used_tool_ids |= {t for j in converted_journeys for s in j.states for t in s.tool_ids}
    used_tool_ids |= {v.tool_id for v in converted_variables if v.tool_id}
    converted_relationships = tuple(to_relationship(row) for row in relationships)
    used_tool_ids |= {
        ref.id
        for r in converted_relationships
        for ref in (r.source, r.target)
        if ref.kind == engine_types.EntityKind.TOOL
    }
    tools = Tool.objects.filter(pk__in=used_tool_ids, is_available=True).order_by("id")
    # Guideline-attached retrievers start with the turn too: they must run alongside matching,
    # before anyone knows whether their guideline will match.
    retriever_names = (
        Retriever.objects.filter(is_available=True)
        .filter(Q(agents=agent) | Q(guidelines__in=guideline_ids))
        .values_list("id", flat=True)
        .distinct()
    )

    snapshot = engine_types.AgentSnapshot(
        agent=to_agent(agent),
        guidelines=converted_guidelines,
        relationships=converted_relationships,
        journeys=converted_journeys,
        terms=tuple(to_term(row) for row in terms),
        variables=converted_variables,
        canned_responses=tuple(to_canned_response(row) for row in canned),
        capabilities=tuple(to_capability(row) for row in capabilities),
        tools=tuple(to_tool_spec(row) for row in tools),
        retriever_names=tuple(sorted(retriever_names)),
        embedding_model=model,
    )
    return replace(snapshot, version=_version(snapshot))
