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

# Parlant's resolver converges within three rounds of dependencies → priority → numeric priority
# → entailment; a fourth would only matter for chains no authored behaviour has shown.
MAX_ROUNDS = 3
# Two disambiguation targets are told apart when one leads the other by this much on the latest
# message; otherwise the customer has to say which they mean.
DISAMBIGUATION_MARGIN = 0.25
DISAMBIGUATION_PLAUSIBLE = 0.3
JOURNEY_TAG_PREFIX = "journey:"


@dataclass
class Resolution:
    guideline_ids: list[str]  # final matched guidelines, in matching order, entailed ones last
    active_journey_ids: set[str]
    transient_guidelines: list[Guideline] = field(default_factory=list)
    effects: list[dict[str, Any]] = field(default_factory=list)
    rationales: dict[str, str] = field(default_factory=dict)


def journey_of(guideline: Guideline) -> str | None:
    """The journey a guideline belongs to: a journey step's, or the journey scoping it."""
    node = guideline.metadata.get("journey_node") if guideline.metadata else None
    if isinstance(node, Mapping) and node.get("journey_id"):
        return str(node["journey_id"])
    if guideline.journey_id:
        return guideline.journey_id
    for tag in guideline.tags:
        if tag.startswith(JOURNEY_TAG_PREFIX):
            return tag.removeprefix(JOURNEY_TAG_PREFIX)
    return None


def is_journey_step(guideline: Guideline) -> bool:
    """A guideline standing for one step of a journey (Parlant's projected journey node)."""
    return bool(guideline.metadata) and "journey_node" in guideline.metadata


class RelationshipGraph:
    def __init__(self, snapshot: AgentSnapshot) -> None:
        self.guidelines = {g.id: g for g in snapshot.guidelines}
        self.journey_tags = {j.id: set(j.tags) for j in snapshot.journeys}
        self.journey_priority = {j.id: j.priority for j in snapshot.journeys}
        # A journey-scoped guideline (not a step) lives only while its journey does: Parlant's
        # `journey.create_guideline` writes this as a dependency on the journey, so it is one here.
        scope = tuple(
            Relationship(
                id=f"journey_scope:{g.id}",
                kind=RelationshipKind.DEPENDENCY,
                source=EntityRef(EntityKind.GUIDELINE, g.id),
                target=EntityRef(EntityKind.JOURNEY, g.journey_id),
            )
            for g in snapshot.guidelines
            if g.journey_id and not is_journey_step(g)
        )
        self.relationships: Sequence[Relationship] = (*snapshot.relationships, *scope)
        self.journey_of = {g.id: journey_of(g) for g in snapshot.guidelines}

    def of_kind(self, kind: RelationshipKind) -> list[Relationship]:
        return [r for r in self.relationships if r.kind == kind]

    def members(self, tag: str) -> tuple[set[str], set[str]]:
        """Guideline ids and journey ids carrying `tag`."""
        guideline_ids = {g.id for g in self.guidelines.values() if tag in g.tags}
        journey_ids = {j for j, tags in self.journey_tags.items() if tag in tags}
        return guideline_ids, journey_ids

    def is_active(self, ref: EntityRef, matched: set[str], journeys: set[str]) -> bool:
        if (journey := self.journey_ref(ref)) is not None:
            return journey in journeys
        if ref.kind == EntityKind.GUIDELINE:
            return ref.id in matched
        if ref.kind in (EntityKind.TAG, EntityKind.TAG_ANY):
            guideline_ids, journey_ids = self.members(ref.id)
            return bool(guideline_ids & matched or journey_ids & journeys)
        return False

    def sources(self, ref: EntityRef) -> list[tuple[str, str]]:
        """("guideline"|"journey", id) pairs the reference stands for as a source or target."""
        if (journey := self.journey_ref(ref)) is not None:
            return [("journey", journey)]
        if ref.kind == EntityKind.GUIDELINE:
            return [("guideline", ref.id)]
        if ref.kind in (EntityKind.TAG, EntityKind.TAG_ANY):
            guideline_ids, journey_ids = self.members(ref.id)
            return [("guideline", g) for g in sorted(guideline_ids)] + [
                ("journey", j) for j in sorted(journey_ids)
            ]
        return []

    @staticmethod
    def journey_ref(ref: EntityRef) -> str | None:
        """The journey a reference names: a journey, or the `journey:<id>` tag standing for one."""
        if ref.kind == EntityKind.JOURNEY:
            return ref.id
        if ref.kind in (EntityKind.TAG, EntityKind.TAG_ANY) and ref.id.startswith(
            JOURNEY_TAG_PREFIX
        ):
            return ref.id.removeprefix(JOURNEY_TAG_PREFIX)
        return None

    def custom_tags(self, guideline_id: str) -> list[str]:
        guideline = self.guidelines[guideline_id]
        return [t for t in guideline.tags if not t.startswith(JOURNEY_TAG_PREFIX)]

    def refers_to_guideline(self, ref: EntityRef, guideline_id: str) -> bool:
        """Whether a relationship end names this guideline: itself, its journey or its tags."""
        if ref.kind == EntityKind.GUIDELINE:
            return ref.id == guideline_id
        if (journey := self.journey_ref(ref)) is not None:
            return journey == self.journey_of.get(guideline_id)
        if ref.kind in (EntityKind.TAG, EntityKind.TAG_ANY):
            return ref.id in self.guidelines[guideline_id].tags
        return False

    def journey_members(self, journey_id: str) -> set[str]:
        return {gid for gid, jid in self.journey_of.items() if jid == journey_id}


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
    order = list(dict.fromkeys(m for m in matched_ids if m in graph.guidelines))
    matched = set(order)
    journeys = set(active_journey_ids)
    resolution = Resolution(guideline_ids=[], active_journey_ids=journeys)
    _disambiguate(graph, matched, order, scores or {}, resolution, is_judged_by_model)
    candidates = [gid for gid in order if gid in matched]
    entailed: set[str] = set()
    priority_removed: set[str] = set()
    current: list[str] = list(candidates)
    for _ in range(MAX_ROUNDS):
        seeded = [gid for gid in candidates if gid not in priority_removed]
        after_dependencies = _apply_dependencies(graph, seeded, journeys, resolution)
        after_priority, journeys_left = _apply_priority(
            graph, after_dependencies, journeys, resolution
        )
        priority_removed.update(set(after_dependencies) - set(after_priority))
        not_entailed = [gid for gid in after_priority if gid not in entailed]
        kept, journeys_left = _keep_highest_numeric_priority(
            graph, not_entailed, journeys_left, resolution
        )
        priority_removed.update(set(not_entailed) - set(kept))
        new = kept + [gid for gid in after_priority if gid in entailed]
        for gid in _entail(graph, new, journeys_left, resolution):
            if gid not in priority_removed and gid not in entailed:
                entailed.add(gid)
                candidates.append(gid)
                new.append(gid)
        stable = new == current and journeys_left == journeys
        current, journeys = new, journeys_left
        if stable:
            break
    final = set(current)
    resolution.guideline_ids = [gid for gid in candidates if gid in final]
    resolution.active_journey_ids = journeys
    return resolution


def _effect(resolution: Resolution, relationship: Relationship, effect: str, **extra: Any) -> None:
    # Rounds re-evaluate the same dependencies; one record per decision is enough.
    record = {
        "relationship_id": relationship.id,
        "kind": relationship.kind.value,
        "effect": effect,
        "source": {"kind": relationship.source.kind.value, "id": relationship.source.id},
        "target": {"kind": relationship.target.kind.value, "id": relationship.target.id},
        **extra,
    }
    if record not in resolution.effects:
        resolution.effects.append(record)


def _dependencies_of(
    graph: RelationshipGraph, guideline_id: str
) -> tuple[list[Relationship], dict[str, list[Relationship]]]:
    """The guideline's own, its journey's and its tags' dependencies: (all-of, any-of groups)."""
    all_of: list[Relationship] = []
    any_of: dict[str, list[Relationship]] = {}
    for relationship in graph.relationships:
        if relationship.kind not in (RelationshipKind.DEPENDENCY, RelationshipKind.DEPENDENCY_ANY):
            continue
        if not graph.refers_to_guideline(relationship.source, guideline_id):
            continue
        if relationship.kind == RelationshipKind.DEPENDENCY_ANY:
            any_of.setdefault(relationship.group_id, []).append(relationship)
        else:
            all_of.append(relationship)
    return all_of, any_of


def _dependency_met(
    graph: RelationshipGraph,
    target: EntityRef,
    matched: set[str],
    surviving: set[str],
    journeys: set[str],
) -> bool:
    if (journey := graph.journey_ref(target)) is not None:
        if journey not in journeys:
            return False
        # An active journey counts while one of its matched guidelines survives, or when none
        # of them was matched at all (the journey itself is what is depended on).
        steps = graph.journey_members(journey) & matched
        return not steps or bool(steps & surviving)
    if target.kind == EntityKind.GUIDELINE:
        return target.id in surviving
    if target.kind == EntityKind.TAG_ANY:
        members, _ = graph.members(target.id)
        return bool(members & surviving)
    if target.kind == EntityKind.TAG:
        members, _ = graph.members(target.id)
        return bool(members) and members <= matched and members <= surviving
    return False


def _apply_dependencies(
    graph: RelationshipGraph, seeded: list[str], journeys: set[str], resolution: Resolution
) -> list[str]:
    """Drop what depends on something inactive; removals cascade until nothing changes."""
    matched = set(seeded)
    surviving = set(seeded)
    dependencies = {gid: _dependencies_of(graph, gid) for gid in seeded}
    changed = True
    while changed:
        changed = False
        for gid in seeded:
            if gid not in surviving:
                continue
            all_of, any_of = dependencies[gid]
            unmet = next(
                (
                    r
                    for r in all_of
                    if not _dependency_met(graph, r.target, matched, surviving, journeys)
                ),
                None,
            )
            if unmet is not None:
                surviving.discard(gid)
                _effect(resolution, unmet, "unmet_dependency", entity=gid)
                changed = True
                continue
            for group_id, members in any_of.items():
                if not any(
                    _dependency_met(graph, r.target, matched, surviving, journeys) for r in members
                ):
                    surviving.discard(gid)
                    _effect(
                        resolution, members[0], "unmet_dependency_any", entity=gid, group=group_id
                    )
                    changed = True
                    break
    # A journey depending on something inactive does not start or go on (in Parlant its
    # activating conditions carry the dependency and drop out).
    for journey_id in sorted(journeys):
        for relationship in graph.of_kind(RelationshipKind.DEPENDENCY):
            if graph.journey_ref(relationship.source) == journey_id and not _dependency_met(
                graph, relationship.target, matched, surviving, journeys - {journey_id}
            ):
                journeys.discard(journey_id)
                _effect(resolution, relationship, "unmet_dependency", entity=journey_id)
                break
    return [gid for gid in seeded if gid in surviving]


def _priority_over(graph: RelationshipGraph, guideline_id: str) -> list[Relationship]:
    """Priorities aimed straight at the guideline, at its tags, and (for a journey step) at its
    journey. Only direct ones: an inactive guideline in between does not pass priority on."""
    found = []
    guideline = graph.guidelines[guideline_id]
    tags = set(graph.custom_tags(guideline_id))
    for relationship in graph.of_kind(RelationshipKind.PRIORITY):
        target = relationship.target
        if target.kind == EntityKind.GUIDELINE and target.id == guideline_id:
            found.append(relationship)
        elif (journey := graph.journey_ref(target)) is not None:
            if is_journey_step(guideline) and journey == graph.journey_of.get(guideline_id):
                found.append(relationship)
        elif target.kind in (EntityKind.TAG, EntityKind.TAG_ANY) and target.id in tags:
            found.append(relationship)
    return found


def _prioritizer(
    graph: RelationshipGraph, guideline_id: str, matched: set[str], journeys: set[str]
) -> tuple[Relationship, str] | None:
    """The relationship and active entity that take precedence over the guideline, if any."""
    pending = _priority_over(graph, guideline_id)
    visited: set[str] = set()
    while pending:
        relationship = pending.pop()
        source = relationship.source
        if (journey := graph.journey_ref(source)) is not None:
            others = (graph.journey_members(journey) & matched) - {guideline_id}
            if others:
                return relationship, sorted(others)[0]
            if journey in journeys:
                return relationship, journey
            continue
        if source.kind == EntityKind.GUIDELINE:
            if source.id in matched and source.id != guideline_id:
                return relationship, source.id
            continue
        if source.kind not in (EntityKind.TAG, EntityKind.TAG_ANY):
            continue
        members, _ = graph.members(source.id)
        # The guideline that makes a tag active is not outranked by that same tag.
        active = (members & matched) - {guideline_id}
        if active:
            return relationship, sorted(active)[0]
        # An inactive tag passes on priority aimed at it or at its members: g1 over tag t1 over
        # g3 drops g3 while g1 is active, though nothing carrying t1 is.
        for member in sorted(members - matched - visited):
            visited.add(member)
            for candidate in graph.of_kind(RelationshipKind.PRIORITY):
                target = candidate.target
                if (target.kind == EntityKind.GUIDELINE and target.id == member) or (
                    target.kind in (EntityKind.TAG, EntityKind.TAG_ANY)
                    and target.id in graph.custom_tags(member)
                ):
                    pending.append(candidate)
    return None


def _apply_priority(
    graph: RelationshipGraph, matches: list[str], journeys: set[str], resolution: Resolution
) -> tuple[list[str], set[str]]:
    matched = set(matches)
    dropped_guidelines: set[str] = set()
    dropped_journeys: set[str] = set()
    for relationship in graph.of_kind(RelationshipKind.PRIORITY):
        # One journey over another: the lower one stops while the higher one is active.
        source_journey = graph.journey_ref(relationship.source)
        target_journey = graph.journey_ref(relationship.target)
        if (
            source_journey in journeys
            and target_journey in journeys
            and source_journey != target_journey
        ):
            dropped_journeys.add(target_journey)
            _effect(resolution, relationship, "deprioritized", entity=target_journey)
    kept = []
    for gid in matches:
        found = _prioritizer(graph, gid, matched, journeys)
        if found is None:
            kept.append(gid)
            continue
        relationship, winner = found
        dropped_guidelines.add(gid)
        _effect(resolution, relationship, "deprioritized", entity=gid, by=winner)
        if is_journey_step(graph.guidelines[gid]) and (journey := graph.journey_of.get(gid)):
            # Dropping one step of a journey stops the whole journey.
            dropped_journeys.add(journey)
    kept_set = set(kept)
    for relationship in graph.of_kind(RelationshipKind.PRIORITY):
        target_journey = graph.journey_ref(relationship.target)
        if target_journey not in journeys or target_journey in dropped_journeys:
            continue
        source = relationship.source
        outranked = (source.kind == EntityKind.GUIDELINE and source.id in kept_set) or (
            source.kind in (EntityKind.TAG, EntityKind.TAG_ANY)
            and graph.journey_ref(source) is None
            and bool(graph.members(source.id)[0] & kept_set)
        )
        if outranked:
            dropped_journeys.add(target_journey)
            _effect(resolution, relationship, "deprioritized", entity=target_journey)
    # What depends on a dropped entity goes too (all-of: any target dropped; any-of: a whole
    # group dropped).
    survivors = []
    for gid in kept:
        all_of, any_of = _dependencies_of(graph, gid)
        lost = [
            r for r in all_of if _was_dropped(graph, r.target, dropped_guidelines, dropped_journeys)
        ]
        for members in any_of.values():
            if all(
                _was_dropped(graph, r.target, dropped_guidelines, dropped_journeys) for r in members
            ):
                lost.extend(members)
        if lost:
            _effect(resolution, lost[0], "deprioritized_dependency", entity=gid)
            continue
        survivors.append(gid)
    return survivors, journeys - dropped_journeys


def _was_dropped(
    graph: RelationshipGraph,
    target: EntityRef,
    dropped_guidelines: set[str],
    dropped_journeys: set[str],
) -> bool:
    if (journey := graph.journey_ref(target)) is not None:
        return journey in dropped_journeys
    if target.kind == EntityKind.GUIDELINE:
        return target.id in dropped_guidelines
    if target.kind in (EntityKind.TAG, EntityKind.TAG_ANY):
        members, _ = graph.members(target.id)
        return bool(members) and members <= dropped_guidelines
    return False


def _keep_highest_numeric_priority(
    graph: RelationshipGraph, matches: list[str], journeys: set[str], resolution: Resolution
) -> tuple[list[str], set[str]]:
    """Only the entities at the highest priority level stay; a guideline belonging to an active
    journey stands at its journey's level."""

    def level(gid: str) -> int:
        journey = graph.journey_of.get(gid)
        if journey in journeys and journey in graph.journey_priority:
            return graph.journey_priority[journey]
        return graph.guidelines[gid].priority

    levels = [level(gid) for gid in matches] + [graph.journey_priority.get(j, 0) for j in journeys]
    if not levels:
        return matches, journeys
    top = max(levels)
    kept = []
    for gid in matches:
        if level(gid) >= top:
            kept.append(gid)
        else:
            resolution.effects.append(
                {
                    "kind": "numeric_priority",
                    "effect": "deprioritized",
                    "entity": gid,
                    "priority": level(gid),
                    "highest": top,
                }
            )
    kept_journeys = set()
    for journey in sorted(journeys):
        if graph.journey_priority.get(journey, 0) >= top:
            kept_journeys.add(journey)
        else:
            resolution.effects.append(
                {
                    "kind": "numeric_priority",
                    "effect": "deprioritized",
                    "entity": journey,
                    "priority": graph.journey_priority.get(journey, 0),
                    "highest": top,
                }
            )
    return kept, kept_journeys


def _entail(
    graph: RelationshipGraph, matches: list[str], journeys: set[str], resolution: Resolution
) -> list[str]:
    """Guidelines the surviving ones bring along, following entailments through tags and chains."""
    active = set(matches)
    added: list[str] = []
    changed = True
    while changed:
        changed = False
        for relationship in graph.of_kind(RelationshipKind.ENTAILMENT):
            if not graph.is_active(relationship.source, active, journeys):
                continue
            for kind, entity_id in graph.sources(relationship.target):
                if kind != "guideline" or entity_id in active or entity_id not in graph.guidelines:
                    continue
                active.add(entity_id)
                added.append(entity_id)
                changed = True
                resolution.rationales[entity_id] = (
                    f"entailed by {relationship.source.kind.value} {relationship.source.id}"
                )
                _effect(resolution, relationship, "entailed", entity=entity_id)
    return added


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
        if is_judged_by_model and len(matched_targets) < 2:
            # A model marks every target the message could mean: one means the customer said
            # which, none means the ambiguity is not about these; either way nothing to ask.
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


def disambiguation_targets(snapshot: AgentSnapshot) -> dict[str, list[str]]:
    """Disambiguation source guideline id -> its target guideline ids, in authored order."""
    graph = RelationshipGraph(snapshot)
    found: dict[str, list[str]] = {}
    for relationship in graph.of_kind(RelationshipKind.DISAMBIGUATION):
        if relationship.source.kind != EntityKind.GUIDELINE:
            continue
        targets = found.setdefault(relationship.source.id, [])
        for kind, entity_id in graph.sources(relationship.target):
            if kind == "guideline" and entity_id in graph.guidelines and entity_id not in targets:
                targets.append(entity_id)
    return found


def with_disambiguation_targets(
    snapshot: AgentSnapshot, candidates: Sequence[Guideline], eligible: Sequence[Guideline]
) -> list[Guideline]:
    """The candidates plus every target of a disambiguation source among them: whether the
    customer's words could mean several of them is the judgement itself, so narrowing must not
    decide it beforehand."""
    by_id = {g.id: g for g in eligible}
    chosen = list(candidates)
    present = {g.id for g in chosen}
    for source_id, targets in disambiguation_targets(snapshot).items():
        if source_id not in present:
            continue
        for target in targets:
            if target in by_id and target not in present:
                chosen.append(by_id[target])
                present.add(target)
    return chosen


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
