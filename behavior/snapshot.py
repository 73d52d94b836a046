"""Behaviour → engine: converts authored rows into the engine's frozen snapshot.

One function per type; no model instance crosses into the engine.
"""

from engine import types as engine_types

from behavior.models import Agent, Guideline


def to_agent(row: Agent) -> engine_types.Agent:
    return engine_types.Agent(
        id=row.id,
        name=row.name,
        description=row.description,
        composition_mode=engine_types.CompositionMode(row.composition_mode),
        output_mode=engine_types.OutputMode(row.message_output_mode),
        max_engine_iterations=row.max_engine_iterations,
        tags=tuple(tag.id for tag in row.tags.all()),
    )


def to_guideline(row: Guideline) -> engine_types.Guideline:
    return engine_types.Guideline(
        id=row.id,
        condition=row.condition,
        action=row.action,
        description=row.description,
        criticality=engine_types.Criticality(row.criticality),
        tags=tuple(tag.id for tag in row.tags.all()),
        condition_embedding=tuple(row.condition_embedding) if row.condition_embedding else None,
        metadata=dict(row.metadata),
    )


def agent_snapshot(agent_id: str) -> engine_types.AgentSnapshot:
    """Everything the agent's behaviour consists of, in a fixed number of queries."""
    agent = Agent.objects.prefetch_related("tags").get(pk=agent_id)
    guidelines = (
        Guideline.objects.enabled().for_agent(agent).prefetch_related("tags").order_by("created_at", "id")
    )
    rows = list(guidelines)
    version = max((row.updated_at for row in rows), default=agent.created_at).isoformat()
    return engine_types.AgentSnapshot(
        agent=to_agent(agent),
        guidelines=tuple(to_guideline(row) for row in rows),
        version=f"{len(rows)}:{version}",
    )
