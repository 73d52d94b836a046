"""Writes to authored behaviour. Admin, API, SDK, import and management commands all call these.

Invalid input raises django's ValidationError (the API answers 422); an unknown id raises the
model's DoesNotExist (404).
"""

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from behavior.models import (
    AGENT_TAG_PREFIX,
    JOURNEY_TAG_PREFIX,
    Agent,
    CannedResponse,
    Capability,
    ContextVariable,
    ContextVariableValue,
    GlossaryTerm,
    Guideline,
    GuidelineToolAssociation,
    Journey,
    JourneyState,
    JourneyTransition,
    Relationship,
    Tag,
    Tool,
    agent_tag_id,
    journey_tag_id,
)

logger = logging.getLogger(__name__)

UNSET: Any = object()  # "leave this field as it is" in update services


# --- Tags --------------------------------------------------------------------------------------


def tag_create(*, name: str, tag_id: str | None = None) -> Tag:
    """Create a plain tag. Names are unique; the `agent:`/`journey:` prefixes are reserved."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A tag needs a name."})
    _check_plain_tag_name(name)
    if Tag.objects.filter(name=name).exists():
        raise ValidationError({"name": f"A tag named {name!r} already exists."})
    if tag_id is not None and Tag.objects.filter(pk=tag_id).exists():
        raise ValidationError({"id": f"A tag with id {tag_id!r} already exists."})
    return Tag.objects.create(name=name, **({"id": tag_id} if tag_id else {}))


def tag_rename(*, tag: Tag, name: str) -> Tag:
    name = name.strip()
    if tag.is_scope_tag:
        raise ValidationError({"name": "Agent and journey scope tags cannot be renamed."})
    if not name:
        raise ValidationError({"name": "A tag needs a name."})
    _check_plain_tag_name(name)
    if Tag.objects.filter(name=name).exclude(pk=tag.pk).exists():
        raise ValidationError({"name": f"A tag named {name!r} already exists."})
    tag.name = name
    tag.save(update_fields=["name"])
    return tag


def _check_plain_tag_name(name: str) -> None:
    if name.startswith((AGENT_TAG_PREFIX, JOURNEY_TAG_PREFIX)):
        raise ValidationError(
            {"name": "Names starting with 'agent:' or 'journey:' are reserved for scope tags."}
        )


def agent_scope_tag(agent_id: str) -> Tag:
    """The tag `agent:<agent id>`, created on first use."""
    tag, _ = Tag.objects.get_or_create(
        pk=agent_tag_id(agent_id), defaults={"name": agent_tag_id(agent_id), "agent_id": agent_id}
    )
    return tag


def journey_scope_tag(journey_id: str) -> Tag:
    """The tag `journey:<journey id>`, created on first use."""
    tag, _ = Tag.objects.get_or_create(
        pk=journey_tag_id(journey_id),
        defaults={"name": journey_tag_id(journey_id), "journey_id": journey_id},
    )
    return tag


def tags_resolve(tag_ids: Iterable[str]) -> list[Tag]:
    """The tags with these ids, creating `agent:`/`journey:` scope tags for existing targets.

    Raises ValidationError naming every id that is neither a tag nor a known agent or journey.
    """
    wanted = list(dict.fromkeys(tag_ids))
    found = {tag.pk: tag for tag in Tag.objects.filter(pk__in=wanted)}
    missing: list[str] = []
    for tag_id in wanted:
        if tag_id in found:
            continue
        if tag_id.startswith(AGENT_TAG_PREFIX):
            agent_id = tag_id.removeprefix(AGENT_TAG_PREFIX)
            if Agent.objects.filter(pk=agent_id).exists():
                found[tag_id] = agent_scope_tag(agent_id)
                continue
        elif tag_id.startswith(JOURNEY_TAG_PREFIX):
            journey_id = tag_id.removeprefix(JOURNEY_TAG_PREFIX)
            if Journey.objects.filter(pk=journey_id).exists():
                found[tag_id] = journey_scope_tag(journey_id)
                continue
        missing.append(tag_id)
    if missing:
        raise ValidationError({"tags": f"Unknown tag id(s): {', '.join(missing)}"})
    return [found[tag_id] for tag_id in wanted]


def _tags_change(instance: Any, *, add: Sequence[str] = (), remove: Sequence[str] = ()) -> None:
    if add:
        instance.tags.add(*tags_resolve(add))
    if remove:
        instance.tags.remove(*remove)


def _touch(instance: Any) -> None:
    """Bump updated_at after a change that only touched related rows (tags, tools)."""
    type(instance).objects.filter(pk=instance.pk).update(updated_at=timezone.now())


def _check_new_id(model: type, entity_id: str | None) -> None:
    if entity_id is not None and model.objects.filter(pk=entity_id).exists():
        raise ValidationError({"id": f"A {model._meta.verbose_name} with id {entity_id!r} exists."})


def _choice(value: str, choices: Iterable[str], field: str) -> str:
    allowed = list(choices)
    if value not in allowed:
        raise ValidationError({field: f"{value!r} is not one of {', '.join(allowed)}."})
    return value


SCOPED_MODELS = (Guideline, Journey, GlossaryTerm, ContextVariable, CannedResponse, Capability)


def exclusively_tagged(model: type, tag_id: str) -> Any:
    """Rows of a scoped model whose one and only tag is `tag_id`.

    Deleting that tag would leave them untagged, which means "every agent": callers delete or
    protect them instead.
    """
    through = model.tags.through
    owner = f"{model._meta.model_name}_id"
    return model.objects.filter(pk__in=through.objects.filter(tag_id=tag_id).values(owner)).exclude(
        pk__in=through.objects.exclude(tag_id=tag_id).values(owner)
    )


def tag_usage(tag_id: str) -> dict[str, int]:
    """How many rows of each scoped model rely on this tag alone, by verbose plural name."""
    usage = {}
    for model in SCOPED_MODELS:
        count = exclusively_tagged(model, tag_id).count()
        if count:
            usage[str(model._meta.verbose_name_plural)] = count
    return usage


def tag_delete(*, tag_id: str) -> None:
    """Delete a plain tag. Refused while entities are scoped by it alone: without it they
    would silently apply to every agent."""
    tag = Tag.objects.get(pk=tag_id)
    if tag.is_scope_tag:
        raise ValidationError("Agent and journey scope tags go away with their agent or journey.")
    usage = tag_usage(tag.pk)
    if usage:
        listed = ", ".join(f"{count} {name}" for name, count in usage.items())
        raise ValidationError(
            f"Tag {tag.name!r} is the only tag of {listed}; retag or delete them first, or they "
            "would apply to every agent."
        )
    tag.delete()


# --- Agents ------------------------------------------------------------------------------------


@transaction.atomic
def agent_create(
    *,
    name: str,
    agent_id: str | None = None,
    description: str = "",
    composition_mode: str = "fluid",
    message_output_mode: str = "block",
    max_engine_iterations: int = 3,
    is_llm_free: bool = False,
    tag_ids: Sequence[str] = (),
) -> Agent:
    """Create an agent; `agent_id` must be unused."""
    _check_new_id(Agent, agent_id)
    agent = Agent.objects.create(
        name=name,
        description=description or "",
        composition_mode=composition_mode,
        message_output_mode=message_output_mode,
        max_engine_iterations=max_engine_iterations,
        is_llm_free=is_llm_free,
        **({"id": agent_id} if agent_id else {}),
    )
    agent.tags.set(tags_resolve(tag_ids))
    return agent


@transaction.atomic
def agent_update(
    *,
    agent: Agent,
    fields: Mapping[str, Any] | None = None,
    tags_add: Sequence[str] = (),
    tags_remove: Sequence[str] = (),
) -> Agent:
    """Set the given model fields (name, description, modes, iterations) and change tags."""
    allowed = {
        "name",
        "description",
        "composition_mode",
        "message_output_mode",
        "max_engine_iterations",
        "is_llm_free",
    }
    changed = [field for field in (fields or {}) if field in allowed]
    for field in changed:
        setattr(agent, field, fields[field] if fields[field] is not None else "")
    if changed:
        agent.save(update_fields=changed)
    _tags_change(agent, add=tags_add, remove=tags_remove)
    return agent


@transaction.atomic
def agent_delete(*, agent_id: str) -> None:
    """Delete an agent and what is scoped to it alone (by its `agent:<id>` tag); entities that
    also carry other tags keep those and stay."""
    agent = Agent.objects.get(pk=agent_id)
    own_tag = agent_tag_id(agent.id)
    for journey_id in exclusively_tagged(Journey, own_tag).values_list("pk", flat=True):
        journey_delete(journey_id=journey_id)
    for model in SCOPED_MODELS:
        if model is not Journey:
            exclusively_tagged(model, own_tag).delete()
    agent.delete()


# --- Guidelines --------------------------------------------------------------------------------


def guideline_index(*, guideline: Guideline) -> Guideline:
    """Store the condition's vector unless one from the same text and model is stored already."""
    from behavior.embeddings import guidelines_embed

    guidelines_embed([guideline])
    return guideline


def tools_resolve(tool_ids: Iterable[str]) -> list[Tool]:
    """Tools by registered name, or by "service:name"; ValidationError for unknown ones."""
    wanted = list(dict.fromkeys(tool_ids))
    by_id = {tool.pk: tool for tool in Tool.objects.filter(pk__in=wanted)}
    result = []
    missing = []
    for tool_id in wanted:
        tool = by_id.get(tool_id)
        if tool is None and ":" in tool_id:
            service_name, _, tool_name = tool_id.partition(":")
            tool = Tool.objects.filter(service_id=service_name, name=tool_name).first()
        if tool is None:
            missing.append(tool_id)
        else:
            result.append(tool)
    if missing:
        raise ValidationError({"tools": f"Unknown tool(s): {', '.join(missing)}"})
    return result


def guideline_create(
    *,
    condition: str,
    action: str = "",
    guideline_id: str | None = None,
    description: str = "",
    examples: Sequence[str] = (),
    criticality: str = Guideline.Criticality.MEDIUM,
    enabled: bool = True,
    composition_mode: str = "",
    track: bool = True,
    priority: int = 0,
    labels: Sequence[str] = (),
    metadata: Mapping[str, Any] | None = None,
    tag_ids: Sequence[str] = (),
    tool_ids: Sequence[str] = (),
) -> Guideline:
    """Create a guideline with its tags and tools, then embed its condition (outside the
    transaction, since that may call a remote API)."""
    condition = condition.strip()
    if not condition:
        raise ValidationError({"condition": "A guideline needs a condition."})
    _check_new_id(Guideline, guideline_id)
    _choice(criticality, Guideline.Criticality.values, "criticality")
    with transaction.atomic():
        guideline = Guideline.objects.create(
            condition=condition,
            action=(action or "").strip(),
            description=description or "",
            examples=clean_examples(examples),
            criticality=criticality,
            enabled=enabled,
            composition_mode=composition_mode or "",
            track=track,
            priority=priority,
            labels=sorted(set(labels)),
            metadata=dict(metadata or {}),
            **({"id": guideline_id} if guideline_id else {}),
        )
        guideline.tags.set(tags_resolve(tag_ids))
        for tool in tools_resolve(tool_ids):
            GuidelineToolAssociation.objects.create(guideline=guideline, tool=tool)
    return guideline_index(guideline=guideline)


def guideline_update(
    *,
    guideline: Guideline,
    fields: Mapping[str, Any] | None = None,
    tags_add: Sequence[str] = (),
    tags_remove: Sequence[str] = (),
    tools_add: Sequence[str] = (),
    tools_remove: Sequence[str] = (),
    metadata_set: Mapping[str, Any] | None = None,
    metadata_unset: Sequence[str] = (),
    labels_upsert: Sequence[str] = (),
    labels_remove: Sequence[str] = (),
) -> Guideline:
    """Change a guideline; re-embeds the condition only if its text changed."""
    allowed = {
        "condition",
        "action",
        "description",
        "examples",
        "criticality",
        "enabled",
        "composition_mode",
        "track",
        "priority",
    }
    fields = {key: value for key, value in (fields or {}).items() if key in allowed}
    if "examples" in fields:
        fields["examples"] = clean_examples(fields["examples"] or [])
    if "condition" in fields and not (fields["condition"] or "").strip():
        raise ValidationError({"condition": "A guideline needs a condition."})
    if "criticality" in fields:
        _choice(fields["criticality"], Guideline.Criticality.values, "criticality")
    with transaction.atomic():
        guideline = Guideline.objects.select_for_update().get(pk=guideline.pk)
        for field, value in fields.items():
            if isinstance(value, str):
                value = value.strip() if field in ("condition", "action") else value
            setattr(guideline, field, "" if value is None else value)
        if metadata_set or metadata_unset:
            metadata = dict(guideline.metadata)
            metadata.update(metadata_set or {})
            for key in metadata_unset:
                metadata.pop(key, None)
            guideline.metadata = metadata
        if labels_upsert or labels_remove:
            guideline.labels = sorted(
                (set(guideline.labels) | set(labels_upsert)) - set(labels_remove)
            )
        guideline.save()
        _tags_change(guideline, add=tags_add, remove=tags_remove)
        for tool in tools_resolve(tools_add):
            GuidelineToolAssociation.objects.get_or_create(guideline=guideline, tool=tool)
        if tools_remove:
            removing = tools_resolve(tools_remove)
            guideline.tool_associations.filter(tool__in=removing).delete()
    return guideline_index(guideline=guideline)


def guideline_delete(*, guideline_id: str) -> None:
    Guideline.objects.get(pk=guideline_id).delete()


# --- Relationships -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One end of a relationship: exactly one of the four."""

    guideline_id: str | None = None
    tag_id: str | None = None
    journey_id: str | None = None
    tool_id: str | None = None

    def check(self, side: str) -> None:
        given = [
            value
            for value in (self.guideline_id, self.tag_id, self.journey_id, self.tool_id)
            if value
        ]
        if len(given) != 1:
            message = f"A relationship needs exactly one {side}: a guideline, tag, journey or tool."
            raise ValidationError({side: message})

    def resolved(self, side: str) -> dict[str, Any]:
        self.check(side)
        if self.guideline_id:
            return {f"{side}_guideline": Guideline.objects.get(pk=self.guideline_id)}
        if self.journey_id:
            return {f"{side}_journey": Journey.objects.get(pk=self.journey_id)}
        if self.tool_id:
            return {f"{side}_tool": tools_resolve([self.tool_id])[0]}
        if self.tag_id.startswith(JOURNEY_TAG_PREFIX):
            journey_id = self.tag_id.removeprefix(JOURNEY_TAG_PREFIX)
            return {f"{side}_journey": Journey.objects.get(pk=journey_id)}
        return {f"{side}_tag": tags_resolve([self.tag_id])[0]}


def relationship_create(*, kind: str, source: Endpoint, target: Endpoint) -> Relationship:
    """Create a relationship; an entity cannot relate to itself, and duplicates are refused."""
    _choice(kind, Relationship.Kind.values, "kind")
    source.check("source")
    target.check("target")
    ends = source.resolved("source") | target.resolved("target")
    source_value = next(value for key, value in ends.items() if key.startswith("source_"))
    target_value = next(value for key, value in ends.items() if key.startswith("target_"))
    if type(source_value) is type(target_value) and source_value.pk == target_value.pk:
        raise ValidationError({"target": "An entity cannot relate to itself."})
    if Relationship.objects.filter(kind=kind, **ends).exists():
        raise ValidationError({"kind": "This relationship already exists."})
    return Relationship.objects.create(kind=kind, **ends)


def relationship_delete(*, relationship_id: str) -> None:
    Relationship.objects.get(pk=relationship_id).delete()


# --- Journeys ----------------------------------------------------------------------------------


def journey_create(
    *,
    title: str,
    description: str = "",
    conditions: Sequence[str] = (),
    journey_id: str | None = None,
    tag_ids: Sequence[str] = (),
    composition_mode: str = "",
    priority: int = 0,
    labels: Sequence[str] = (),
    condition_examples: Mapping[str, Sequence[str]] | None = None,
) -> Journey:
    """Create a journey with its start state; each condition becomes an observation guideline
    tagged `journey:<id>` (as Parlant stores them), embedded like any guideline."""
    title = title.strip()
    if not title:
        raise ValidationError({"title": "A journey needs a title."})
    _check_new_id(Journey, journey_id)
    with transaction.atomic():
        journey = Journey.objects.create(
            title=title,
            description=description or "",
            composition_mode=composition_mode or "",
            priority=priority,
            labels=sorted(set(labels)),
            **({"id": journey_id} if journey_id else {}),
        )
        journey.tags.set(tags_resolve(tag_ids))
        JourneyState.objects.create(journey=journey, kind=JourneyState.Kind.INITIAL, position=0)
        scope = journey_scope_tag(journey.id)
    for condition in conditions:
        journey_condition_add(
            journey=journey,
            condition=condition,
            scope_tag=scope,
            examples=(condition_examples or {}).get(condition),
        )
    return journey


def journey_condition_add(
    *,
    journey: Journey,
    condition: str,
    scope_tag: Tag | None = None,
    examples: Sequence[str] | None = None,
) -> Guideline:
    """Add a trigger condition (an observation guideline) to the journey, reusing an existing
    condition with the same text (its example messages replaced when `examples` is given)."""
    existing = journey.conditions.filter(condition=condition.strip()).first()
    if existing:
        if examples is not None and list(existing.examples) != clean_examples(examples):
            return guideline_update(guideline=existing, fields={"examples": examples})
        return existing
    guideline = guideline_create(
        condition=condition, examples=examples or (), tag_ids=[journey_tag_id(journey.id)]
    )
    journey.conditions.add(guideline)
    return guideline


@transaction.atomic
def journey_update(
    *,
    journey: Journey,
    fields: Mapping[str, Any] | None = None,
    conditions_add: Sequence[str] = (),
    conditions_remove: Sequence[str] = (),
    tags_add: Sequence[str] = (),
    tags_remove: Sequence[str] = (),
    labels_upsert: Sequence[str] = (),
    labels_remove: Sequence[str] = (),
) -> Journey:
    """Change a journey. Conditions are added and removed by guideline id (Parlant's API)."""
    allowed = {"title", "description", "composition_mode", "priority"}
    for field, value in (fields or {}).items():
        if field in allowed:
            setattr(journey, field, "" if value is None else value)
    if not journey.title.strip():
        raise ValidationError({"title": "A journey needs a title."})
    if labels_upsert or labels_remove:
        journey.labels = sorted((set(journey.labels) | set(labels_upsert)) - set(labels_remove))
    journey.save()
    if conditions_add:
        found = list(Guideline.objects.filter(pk__in=conditions_add))
        unknown = set(conditions_add) - {guideline.pk for guideline in found}
        if unknown:
            raise ValidationError(
                {"conditions": f"Unknown guideline(s): {', '.join(sorted(unknown))}"}
            )
        journey.conditions.add(*found)
    if conditions_remove:
        journey.conditions.remove(*Guideline.objects.filter(pk__in=conditions_remove))
    _tags_change(journey, add=tags_add, remove=tags_remove)
    return journey


def journey_delete(*, journey_id: str) -> None:
    """Delete a journey with its states and scope tag, and the guidelines scoped only to it
    (its conditions and journey guidelines), which would otherwise become global."""
    journey = Journey.objects.get(pk=journey_id)
    with transaction.atomic():
        only_here = exclusively_tagged(Guideline, journey_tag_id(journey.id))
        shared_conditions = Journey.conditions.through.objects.exclude(journey=journey)
        only_here.exclude(pk__in=shared_conditions.values("guideline")).delete()
        journey.delete()


def journey_initial_state(journey: Journey) -> JourneyState:
    state, _ = JourneyState.objects.get_or_create(
        journey=journey, kind=JourneyState.Kind.INITIAL, defaults={"position": 0}
    )
    return state


def journey_end_state(journey: Journey) -> JourneyState:
    state, _ = JourneyState.objects.get_or_create(
        journey=journey, kind=JourneyState.Kind.END, defaults={"position": 10_000}
    )
    return state


def journey_state_create(
    *,
    journey: Journey,
    kind: str,
    action: str = "",
    description: str = "",
    tool_ids: Sequence[str] = (),
    composition_mode: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> JourneyState:
    """Add a chat, tool or fork state (start and end states exist once per journey)."""
    _choice(kind, [JourneyState.Kind.CHAT, JourneyState.Kind.TOOL, JourneyState.Kind.FORK], "kind")
    if kind == JourneyState.Kind.CHAT and not action.strip():
        raise ValidationError({"action": "A chat state needs an action."})
    tools = tools_resolve(tool_ids)
    if kind == JourneyState.Kind.TOOL and not tools:
        raise ValidationError({"tools": "A tool state needs at least one tool."})
    position = journey.states.count()
    with transaction.atomic():
        state = JourneyState.objects.create(
            journey=journey,
            kind=kind,
            action=action.strip(),
            description=description,
            composition_mode=composition_mode or "",
            metadata=dict(metadata or {}),
            position=position,
        )
        state.tools.set(tools)
    return state


def journey_transition_create(
    *, source: JourneyState, target: JourneyState, condition: str = ""
) -> JourneyTransition:
    """Connect two states of the same journey; the start state cannot be a target."""
    if source.journey_id != target.journey_id:
        raise ValidationError({"target": "Both states must belong to the same journey."})
    if target.kind == JourneyState.Kind.INITIAL:
        raise ValidationError({"target": "The start state cannot be a transition's target."})
    if source.kind == JourneyState.Kind.END:
        raise ValidationError({"source": "The end state cannot have outgoing transitions."})
    transition = JourneyTransition.objects.create(
        journey_id=source.journey_id, source=source, target=target, condition=condition.strip()
    )
    Journey.objects.filter(pk=source.journey_id).update(updated_at=timezone.now())
    return transition


def journey_problems(journey: Journey) -> list[str]:
    """What is wrong with the journey's graph, in words for an editor (empty: valid).

    One start state; every state reachable from it; transitions inside the journey and never
    into the start; chat states with an action; tool states with a tool.
    """
    states = list(journey.states.prefetch_related("tools"))
    transitions = list(journey.transitions.all())
    return graph_problems(
        states=[
            (state.id, state.kind, bool(state.action.strip()), len(state.tools.all()), str(state))
            for state in states
        ],
        transitions=[(t.id, t.source_id, t.target_id) for t in transitions],
    )


def graph_problems(
    *,
    states: Sequence[tuple[str, str, bool, int, str]],
    transitions: Sequence[tuple[str, str, str]],
) -> list[str]:
    """Validate a journey graph given (id, kind, has_action, tool_count, label) states and
    (id, source, target) transitions; shared by the admin form (unsaved rows) and the service."""
    problems: list[str] = []
    kinds = {state_id: kind for state_id, kind, *_ in states}
    labels = {state_id: label for state_id, *_, label in states}
    initial = [state_id for state_id, kind, *_ in states if kind == JourneyState.Kind.INITIAL]
    if len(initial) != 1:
        problems.append(f"A journey needs exactly one start state (it has {len(initial)}).")
    for _state_id, kind, has_action, tool_count, label in states:
        if kind == JourneyState.Kind.CHAT and not has_action:
            problems.append(f"Chat state {label!r} has no action.")
        if kind == JourneyState.Kind.TOOL and tool_count == 0:
            problems.append(f"Tool state {label!r} has no tool.")
    outgoing: dict[str, list[str]] = {}
    for transition_id, source, target in transitions:
        if source not in kinds or target not in kinds:
            problems.append(f"Transition {transition_id} points outside this journey.")
            continue
        if kinds[target] == JourneyState.Kind.INITIAL:
            problems.append("A transition leads back into the start state.")
        outgoing.setdefault(source, []).append(target)
    if len(initial) == 1:
        reachable = {initial[0]}
        frontier = [initial[0]]
        while frontier:
            for target in outgoing.get(frontier.pop(), []):
                if target not in reachable:
                    reachable.add(target)
                    frontier.append(target)
        for state_id in kinds:
            if state_id not in reachable:
                problems.append(f"State {labels[state_id]!r} cannot be reached from the start.")
    return problems


# --- Glossary, variables, canned responses, capabilities ----------------------------------------


def clean_examples(values: Iterable[str]) -> list[str]:
    """A guideline's example customer messages: distinct non-blank strings, in order."""
    if isinstance(values, str):
        raise ValidationError({"examples": "Must be a list of strings."})
    return _clean_strings(values, "examples")


def _clean_strings(values: Iterable[str], field: str) -> list[str]:
    cleaned = []
    for value in values:
        if not isinstance(value, str):
            raise ValidationError({field: "Must be a list of strings."})
        if value.strip() and value.strip() not in cleaned:
            cleaned.append(value.strip())
    return cleaned


@transaction.atomic
def term_create(
    *,
    name: str,
    description: str,
    synonyms: Sequence[str] = (),
    tag_ids: Sequence[str] = (),
    term_id: str | None = None,
) -> GlossaryTerm:
    if not name.strip():
        raise ValidationError({"name": "A term needs a name."})
    _check_new_id(GlossaryTerm, term_id)
    term = GlossaryTerm.objects.create(
        name=name.strip(),
        description=description or "",
        synonyms=_clean_strings(synonyms, "synonyms"),
        **({"id": term_id} if term_id else {}),
    )
    term.tags.set(tags_resolve(tag_ids))
    return term


@transaction.atomic
def term_update(
    *,
    term: GlossaryTerm,
    name: str = UNSET,
    description: str = UNSET,
    synonyms: Sequence[str] = UNSET,
    tags_add: Sequence[str] = (),
    tags_remove: Sequence[str] = (),
) -> GlossaryTerm:
    if name is not UNSET:
        if not (name or "").strip():
            raise ValidationError({"name": "A term needs a name."})
        term.name = name.strip()
    if description is not UNSET:
        term.description = description or ""
    if synonyms is not UNSET:
        term.synonyms = _clean_strings(synonyms or [], "synonyms")
    term.save()
    _tags_change(term, add=tags_add, remove=tags_remove)
    return term


def _tool_or_none(tool_id: str | None) -> Tool | None:
    return tools_resolve([tool_id])[0] if tool_id else None


def _check_freshness_rules(rules: str) -> str:
    from behavior.freshness import parse_cron

    rules = (rules or "").strip()
    if rules:
        try:
            parse_cron(rules)
        except ValueError as error:
            raise ValidationError({"freshness_rules": str(error)}) from None
    return rules


@transaction.atomic
def variable_create(
    *,
    name: str,
    description: str = "",
    tool_id: str | None = None,
    freshness_rules: str = "",
    tag_ids: Sequence[str] = (),
    variable_id: str | None = None,
) -> ContextVariable:
    if not name.strip():
        raise ValidationError({"name": "A variable needs a name."})
    _check_new_id(ContextVariable, variable_id)
    variable = ContextVariable.objects.create(
        name=name.strip(),
        description=description or "",
        tool=_tool_or_none(tool_id),
        freshness_rules=_check_freshness_rules(freshness_rules),
        **({"id": variable_id} if variable_id else {}),
    )
    variable.tags.set(tags_resolve(tag_ids))
    return variable


@transaction.atomic
def variable_update(
    *,
    variable: ContextVariable,
    name: str = UNSET,
    description: str = UNSET,
    tool_id: str | None = UNSET,
    freshness_rules: str = UNSET,
    tags_add: Sequence[str] = (),
    tags_remove: Sequence[str] = (),
) -> ContextVariable:
    if name is not UNSET:
        if not (name or "").strip():
            raise ValidationError({"name": "A variable needs a name."})
        variable.name = name.strip()
    if description is not UNSET:
        variable.description = description or ""
    if tool_id is not UNSET:
        variable.tool = _tool_or_none(tool_id)
    if freshness_rules is not UNSET:
        variable.freshness_rules = _check_freshness_rules(freshness_rules)
    variable.save()
    _tags_change(variable, add=tags_add, remove=tags_remove)
    return variable


@dataclass(frozen=True)
class ValueKey:
    """Where a variable value applies: one customer, one tag, or everyone (both None)."""

    customer_id: str | None = None
    tag_id: str | None = None

    @classmethod
    def parse(cls, key: str) -> "ValueKey":
        """Parlant's key: `DEFAULT`, `tag:<tag id>`, `agent:<agent id>` or a customer id.

        Raises DoesNotExist when the customer, tag or agent is unknown.
        """
        from sessions_app.models import Customer

        if key == ContextVariableValue.DEFAULT_KEY:
            return cls()
        if key.startswith(ContextVariableValue.TAG_KEY_PREFIX):
            tag_id = key.removeprefix(ContextVariableValue.TAG_KEY_PREFIX)
            if not Tag.objects.filter(pk=tag_id).exists():
                raise Tag.DoesNotExist(f"Tag {tag_id} does not exist")
            return cls(tag_id=tag_id)
        if key.startswith(AGENT_TAG_PREFIX):
            agent_id = key.removeprefix(AGENT_TAG_PREFIX)
            if not Agent.objects.filter(pk=agent_id).exists():
                raise Agent.DoesNotExist(f"Agent {agent_id} does not exist")
            return cls(tag_id=agent_scope_tag(agent_id).pk)
        if not Customer.objects.filter(pk=key).exists():
            raise Customer.DoesNotExist(f"Customer {key} does not exist")
        return cls(customer_id=key)


def variable_value_set(*, variable_id: str, key: ValueKey, data: Any) -> ContextVariableValue:
    """Set (insert or replace) the value for the key; also used when a tool refreshes it."""
    variable = ContextVariable.objects.get(pk=variable_id)
    value, _ = ContextVariableValue.objects.update_or_create(
        variable=variable,
        customer_id=key.customer_id,
        tag_id=key.tag_id,
        defaults={"data": data, "updated_at": timezone.now()},
    )
    _touch(variable)
    return value


def variable_value_delete(*, variable_id: str, key: ValueKey) -> None:
    deleted, _ = ContextVariableValue.objects.filter(
        variable_id=variable_id, customer_id=key.customer_id, tag_id=key.tag_id
    ).delete()
    if not deleted:
        raise ContextVariableValue.DoesNotExist(
            f"Value not found for variable {variable_id!r} and this key"
        )
    _touch(ContextVariable(pk=variable_id))


def _clean_fields(fields: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    cleaned = []
    for field in fields:
        if not isinstance(field, Mapping) or not str(field.get("name", "")).strip():
            raise ValidationError({"fields": "Each field needs a name."})
        cleaned.append(
            {
                "name": str(field["name"]).strip(),
                "description": str(field.get("description", "")),
                "examples": _clean_strings(field.get("examples", []), "fields"),
            }
        )
    return cleaned


@transaction.atomic
def canned_response_create(
    *,
    value: str,
    fields: Sequence[Mapping[str, Any]] = (),
    signals: Sequence[str] = (),
    field_dependencies: Sequence[str] = (),
    metadata: Mapping[str, Any] | None = None,
    tag_ids: Sequence[str] = (),
    canned_response_id: str | None = None,
) -> CannedResponse:
    from behavior.templates import check_template

    check_template(value)
    _check_new_id(CannedResponse, canned_response_id)
    canned = CannedResponse.objects.create(
        value=value,
        fields=_clean_fields(fields),
        signals=_clean_strings(signals, "signals"),
        field_dependencies=_clean_strings(field_dependencies, "field_dependencies"),
        metadata=dict(metadata or {}),
        **({"id": canned_response_id} if canned_response_id else {}),
    )
    canned.tags.set(tags_resolve(tag_ids))
    return canned


@transaction.atomic
def canned_response_update(
    *,
    canned: CannedResponse,
    value: str = UNSET,
    fields: Sequence[Mapping[str, Any]] = UNSET,
    signals: Sequence[str] = UNSET,
    metadata_set: Mapping[str, Any] | None = None,
    metadata_unset: Sequence[str] = (),
    tags_add: Sequence[str] = (),
    tags_remove: Sequence[str] = (),
) -> CannedResponse:
    from behavior.templates import check_template

    if value is not UNSET:
        check_template(value)
        canned.value = value
    if fields is not UNSET:
        canned.fields = _clean_fields(fields or [])
    if signals is not UNSET:
        canned.signals = _clean_strings(signals or [], "signals")
    if metadata_set or metadata_unset:
        metadata = dict(canned.metadata) | dict(metadata_set or {})
        for key in metadata_unset:
            metadata.pop(key, None)
        canned.metadata = metadata
    canned.save()
    _tags_change(canned, add=tags_add, remove=tags_remove)
    return canned


@transaction.atomic
def capability_create(
    *,
    title: str,
    description: str,
    signals: Sequence[str] = (),
    tag_ids: Sequence[str] = (),
    capability_id: str | None = None,
) -> Capability:
    if not title.strip():
        raise ValidationError({"title": "A capability needs a title."})
    _check_new_id(Capability, capability_id)
    capability = Capability.objects.create(
        title=title.strip(),
        description=description or "",
        signals=_clean_strings(signals, "signals"),
        **({"id": capability_id} if capability_id else {}),
    )
    capability.tags.set(tags_resolve(tag_ids))
    return capability


@transaction.atomic
def capability_update(
    *,
    capability: Capability,
    title: str = UNSET,
    description: str = UNSET,
    signals: Sequence[str] = UNSET,
    tags_add: Sequence[str] = (),
    tags_remove: Sequence[str] = (),
) -> Capability:
    if title is not UNSET:
        if not (title or "").strip():
            raise ValidationError({"title": "A capability needs a title."})
        capability.title = title.strip()
    if description is not UNSET:
        capability.description = description or ""
    if signals is not UNSET:
        capability.signals = _clean_strings(signals or [], "signals")
    capability.save()
    _tags_change(capability, add=tags_add, remove=tags_remove)
    return capability
