"""Relationship resolution: what the matched set becomes once relationships are applied.

Pure graph logic, no model. Endpoints may be guidelines, tags (a guideline or journey carrying the
tag is a member), journeys or tools. Order per round: entailment adds, priority removes (for
good), dependencies remove until they hold; rounds repeat until nothing changes. Disambiguation
is resolved first, because it replaces its targets with one clarifying guideline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.matching import ConditionScore
from engine.types import (
    AgentSnapshot,
    EntityKind,
    EntityRef,
    Guideline,
    Relationship,
    RelationshipKind,
)

MAX_ROUNDS = 5
# Two disambiguation targets are told apart when one leads the other by this much on the latest
# message; otherwise the customer has to say which they mean.
DISAMBIGUATION_MARGIN = 0.25
DISAMBIGUATION_PLAUSIBLE = 0.3


@dataclass
class Resolution:
    guideline_ids: list[str]  # final matched guidelines, in matching order, entailed ones last
    active_journey_ids: set[str]
    transient_guidelines: list[Guideline] = field(default_factory=list)
    effects: list[dict[str, Any]] = field(default_factory=list)
    rationales: dict[str, str] = field(default_factory=dict)


class RelationshipGraph:
    def __init__(self, snapshot: AgentSnapshot) -> None:
        self.relationships: Sequence[Relationship] = snapshot.relationships
        self.guidelines = {g.id: g for g in snapshot.guidelines}
        self.journey_tags = {j.id: set(j.tags) for j in snapshot.journeys}

    def of_kind(self, kind: RelationshipKind) -> list[Relationship]:
        return [r for r in self.relationships if r.kind == kind]

    def members(self, tag: str) -> tuple[set[str], set[str]]:
        """Guideline ids and journey ids carrying `tag`."""
        guideline_ids = {g.id for g in self.guidelines.values() if tag in g.tags}
        journey_ids = {j for j, tags in self.journey_tags.items() if tag in tags}
        return guideline_ids, journey_ids

    def is_active(self, ref: EntityRef, matched: set[str], journeys: set[str]) -> bool:
        if ref.kind == EntityKind.GUIDELINE:
            return ref.id in matched
        if ref.kind == EntityKind.JOURNEY:
            return ref.id in journeys
        if ref.kind in (EntityKind.TAG, EntityKind.TAG_ANY):
            guideline_ids, journey_ids = self.members(ref.id)
            return bool(guideline_ids & matched or journey_ids & journeys)
        return False

    def dependency_met(self, ref: EntityRef, matched: set[str], journeys: set[str]) -> bool:
        if ref.kind == EntityKind.TAG:
            guideline_ids, journey_ids = self.members(ref.id)
            if not guideline_ids and not journey_ids:
                return False
            return guideline_ids <= matched and journey_ids <= journeys
        return self.is_active(ref, matched, journeys)

    def sources(self, ref: EntityRef) -> list[tuple[str, str]]:
        """("guideline"|"journey", id) pairs the reference stands for as a source or target."""
        if ref.kind == EntityKind.GUIDELINE:
            return [("guideline", ref.id)]
        if ref.kind == EntityKind.JOURNEY:
            return [("journey", ref.id)]
        if ref.kind in (EntityKind.TAG, EntityKind.TAG_ANY):
            guideline_ids, journey_ids = self.members(ref.id)
            return [("guideline", g) for g in sorted(guideline_ids)] + [
                ("journey", j) for j in sorted(journey_ids)
            ]
        return []


def resolve(
    snapshot: AgentSnapshot,
    matched_ids: Sequence[str],
    active_journey_ids: Iterable[str],
    scores: Mapping[str, ConditionScore] | None = None,
    *,
    is_judged_by_model: bool = False,
) -> Resolution:
    """Apply the relationships to the matched guidelines.

    `is_judged_by_model`: the matches come from a language model's reading of the message,
    which outranks word overlap when they disagree (see disambiguation).
    """
    graph = RelationshipGraph(snapshot)
    order = list(dict.fromkeys(matched_ids))
    matched = set(order)
    journeys = set(active_journey_ids)
    resolution = Resolution(guideline_ids=[], active_journey_ids=journeys)
    _disambiguate(graph, matched, order, scores or {}, resolution, is_judged_by_model)
    # Journey-scoped guidelines live only while their journey does.
    removed_for_good: set[tuple[str, str]] = set()
    for _ in range(MAX_ROUNDS):
        before = (frozenset(matched), frozenset(journeys))
        _entail(graph, matched, journeys, order, removed_for_good, resolution)
        _prioritize(graph, matched, journeys, removed_for_good, resolution)
        _enforce_dependencies(graph, matched, journeys, resolution)
        if (frozenset(matched), frozenset(journeys)) == before:
            break
    resolution.guideline_ids = [gid for gid in order if gid in matched]
    resolution.active_journey_ids = journeys
    return resolution


def _effect(resolution: Resolution, relationship: Relationship, effect: str, **extra: Any) -> None:
    resolution.effects.append(
        {
            "relationship_id": relationship.id,
            "kind": relationship.kind.value,
            "effect": effect,
            "source": {"kind": relationship.source.kind.value, "id": relationship.source.id},
            "target": {"kind": relationship.target.kind.value, "id": relationship.target.id},
            **extra,
        }
    )


def _entail(
    graph: RelationshipGraph,
    matched: set[str],
    journeys: set[str],
    order: list[str],
    removed_for_good: set[tuple[str, str]],
    resolution: Resolution,
) -> None:
    for relationship in graph.of_kind(RelationshipKind.ENTAILMENT):
        if not graph.is_active(relationship.source, matched, journeys):
            continue
        for kind, entity_id in graph.sources(relationship.target):
            if (kind, entity_id) in removed_for_good:
                continue
            if kind == "guideline" and entity_id not in matched and entity_id in graph.guidelines:
                matched.add(entity_id)
                order.append(entity_id)
                resolution.rationales[entity_id] = (
                    f"entailed by {relationship.source.kind.value} {relationship.source.id}"
                )
                _effect(resolution, relationship, "entailed", entity=entity_id)


def _prioritize(
    graph: RelationshipGraph,
    matched: set[str],
    journeys: set[str],
    removed_for_good: set[tuple[str, str]],
    resolution: Resolution,
) -> None:
    # Decide every priority against the same snapshot of the active set, so the result does not
    # depend on the order relationships were authored in.
    active_matched, active_journeys = set(matched), set(journeys)
    for relationship in graph.of_kind(RelationshipKind.PRIORITY):
        if not graph.is_active(relationship.source, active_matched, active_journeys):
            continue
        for kind, entity_id in graph.sources(relationship.target):
            pool = matched if kind == "guideline" else journeys
            if entity_id in pool:
                pool.discard(entity_id)
                removed_for_good.add((kind, entity_id))
                _effect(resolution, relationship, "deprioritized", entity=entity_id)


def _enforce_dependencies(
    graph: RelationshipGraph, matched: set[str], journeys: set[str], resolution: Resolution
) -> None:
    # Repeat until stable, so a removal cascades to whatever depended on the removed guideline.
    changed = True
    while changed:
        changed = False
        for guideline_id in sorted(matched):
            guideline = graph.guidelines.get(guideline_id)
            if (
                guideline is not None
                and guideline.journey_id
                and guideline.journey_id not in journeys
            ):
                matched.discard(guideline_id)
                resolution.effects.append(
                    {
                        "kind": "journey_scope",
                        "effect": "dropped",
                        "entity": guideline_id,
                        "journey_id": guideline.journey_id,
                    }
                )
                changed = True
        for relationship in graph.of_kind(RelationshipKind.DEPENDENCY):
            for kind, entity_id in graph.sources(relationship.source):
                pool = matched if kind == "guideline" else journeys
                if entity_id in pool and not graph.dependency_met(
                    relationship.target, matched, journeys
                ):
                    pool.discard(entity_id)
                    _effect(resolution, relationship, "unmet_dependency", entity=entity_id)
                    changed = True
        groups: dict[tuple[str, str], list[Relationship]] = {}
        for relationship in graph.of_kind(RelationshipKind.DEPENDENCY_ANY):
            key = (f"{relationship.source.kind}:{relationship.source.id}", relationship.group_id)
            groups.setdefault(key, []).append(relationship)
        for members in groups.values():
            source = members[0].source
            if any(graph.is_active(r.target, matched, journeys) for r in members):
                continue
            for kind, entity_id in graph.sources(source):
                pool = matched if kind == "guideline" else journeys
                if entity_id in pool:
                    pool.discard(entity_id)
                    _effect(resolution, members[0], "unmet_dependency_any", entity=entity_id)
                    changed = True


def _disambiguate(
    graph: RelationshipGraph,
    matched: set[str],
    order: list[str],
    scores: Mapping[str, ConditionScore],
    resolution: Resolution,
    is_judged_by_model: bool,
) -> None:
    by_source: dict[str, list[Relationship]] = {}
    for relationship in graph.of_kind(RelationshipKind.DISAMBIGUATION):
        if relationship.source.kind == EntityKind.GUIDELINE:
            by_source.setdefault(relationship.source.id, []).append(relationship)
    for source_id, relationships in by_source.items():
        if source_id not in matched:
            continue
        targets = [
            entity_id
            for r in relationships
            for kind, entity_id in graph.sources(r.target)
            if kind == "guideline" and entity_id in graph.guidelines
        ]
        matched_targets = [t for t in targets if t in matched]
        if is_judged_by_model and len(matched_targets) == 1:
            # A model picked exactly one target: its reading of the message outranks word
            # overlap with the others, so there is nothing to ask.
            continue
        # A target is plausible when matched, or when the latest message points at it at all:
        # an ambiguous message is exactly one that matches no single target well.
        plausible = [
            t
            for t in targets
            if t in matched
            or scores.get(t, ConditionScore(t, 0, 0)).latest_score >= DISAMBIGUATION_PLAUSIBLE
        ]
        if len(plausible) < 2:
            continue
        ranked = sorted(
            plausible,
            key=lambda t: scores.get(t, ConditionScore(t, 0, 0)).latest_score,
            reverse=True,
        )
        lead = scores.get(ranked[0], ConditionScore(ranked[0], 0, 0)).latest_score
        runner_up = scores.get(ranked[1], ConditionScore(ranked[1], 0, 0)).latest_score
        if lead - runner_up >= DISAMBIGUATION_MARGIN and ranked[0] in matched:
            for other in ranked[1:]:
                matched.discard(other)
            for relationship in relationships:
                _effect(resolution, relationship, "clear_lead", kept=ranked[0], dropped=ranked[1:])
            continue
        options = " or ".join(graph.guidelines[t].condition for t in ranked)
        clarification = Guideline(
            id=f"disambiguation:{source_id}",
            condition=graph.guidelines[source_id].condition,
            action=f"ask the customer which they mean: {options}",
        )
        for target in plausible:
            matched.discard(target)
        matched.discard(source_id)
        resolution.transient_guidelines.append(clarification)
        for relationship in relationships:
            _effect(resolution, relationship, "ambiguous", options=ranked)


def reevaluation_sources(snapshot: AgentSnapshot, ran_tool_ids: set[str]) -> set[str]:
    """Guideline ids to judge again because a tool they are tied to has just run."""
    graph = RelationshipGraph(snapshot)
    found: set[str] = set()
    for relationship in graph.of_kind(RelationshipKind.REEVALUATION):
        if relationship.target.kind == EntityKind.TOOL and relationship.target.id in ran_tool_ids:
            found.update(
                gid for kind, gid in graph.sources(relationship.source) if kind == "guideline"
            )
    return found
