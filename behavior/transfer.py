"""An agent's whole behaviour as one YAML/JSON document, for version control and moving between
environments.

The document keeps every id, so importing it into an empty database rebuilds the same behaviour
(the same engine snapshot), and importing it again is a no-op. It holds the agent, the plain tags
it uses, and everything that applies to it: entities tagged `agent:<id>` or one of its tags, and
untagged (global) ones. Per-customer variable values are runtime data and are left out.
"""

import json
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from behavior import services
from behavior.models import (
    Agent,
    CannedResponse,
    Capability,
    ContextVariable,
    GlossaryTerm,
    Guideline,
    GuidelineToolAssociation,
    Journey,
    JourneyState,
    JourneyTransition,
    Relationship,
    Tag,
    agent_tag_id,
    journey_tag_id,
)

FORMAT = "parlant-django/behavior"
FORMAT_VERSION = 1


def dump_document(document: dict[str, Any], *, as_json: bool = False) -> str:
    if as_json:
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def load_document(text: str) -> dict[str, Any]:
    """Parse YAML (or JSON, a subset of it); ValueError for anything but a behaviour document."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValueError(f"Not a YAML or JSON document: {error}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"Not a behaviour document (expected format: {FORMAT}).")
    if document.get("version") != FORMAT_VERSION:
        raise ValueError(f"Unsupported document version {document.get('version')!r}.")
    return document


# --- Export ------------------------------------------------------------------------------------


def _tags(row: Any) -> list[str]:
    return [tag.id for tag in row.tags.all()]


def _guideline(row: Guideline) -> dict[str, Any]:
    return {
        "id": row.id,
        "condition": row.condition,
        "action": row.action,
        "description": row.description,
        "examples": list(row.examples),
        "criticality": row.criticality,
        "enabled": row.enabled,
        "composition_mode": row.composition_mode,
        "track": row.track,
        "priority": row.priority,
        "labels": list(row.labels),
        "metadata": dict(row.metadata),
        "tags": _tags(row),
        "tools": [association.tool_id for association in row.tool_associations.all()],
    }


def _end(row: Relationship, side: str) -> dict[str, str]:
    for kind in Relationship.ENDPOINT_KINDS:
        value = getattr(row, f"{side}_{kind}_id")
        if value is not None:
            return {kind: value}
    raise ValueError(f"relationship {row.id} has no {side}")


def behavior_export(*, agent_id: str) -> dict[str, Any]:
    """The document for one agent. Raises Agent.DoesNotExist."""
    agent = Agent.objects.prefetch_related("tags").get(pk=agent_id)
    agent_tags = _tags(agent)

    def scoped(model: Any) -> Any:
        return (
            model.objects.for_agent(agent.id, agent_tags)
            .prefetch_related("tags")
            .order_by("created_at", "id")
        )

    journeys = list(scoped(Journey).prefetch_related("conditions", "states__tools", "transitions"))
    journey_tags = [journey_tag_id(journey.id) for journey in journeys]
    condition_ids = {g.id for journey in journeys for g in journey.conditions.all()}
    guideline_scope = [agent_tag_id(agent.id), *agent_tags, *journey_tags]
    guidelines = [
        g
        for g in Guideline.objects.filter(
            Q(tags__isnull=True)
            | Q(
                pk__in=Guideline.tags.through.objects.filter(tag_id__in=guideline_scope).values(
                    "guideline"
                )
            )
        )
        .distinct()
        .prefetch_related("tags", "tool_associations")
        .order_by("created_at", "id")
        if g.id not in condition_ids
    ]
    guideline_ids = {g.id for g in guidelines} | condition_ids
    journey_ids = {journey.id for journey in journeys}
    relationships = Relationship.objects.filter(
        Q(source_guideline__in=guideline_ids)
        | Q(source_journey__in=journey_ids)
        | Q(target_guideline__in=guideline_ids)
        | Q(target_journey__in=journey_ids)
        | Q(source_tag__in=agent_tags)
        | Q(target_tag__in=agent_tags)
    ).order_by("created_at", "id")
    variables = list(scoped(ContextVariable).prefetch_related("values"))

    used_tag_ids: set[str] = set(agent_tags)
    for rows in (guidelines, journeys, variables):
        used_tag_ids.update(tag_id for row in rows for tag_id in _tags(row))
    terms = list(scoped(GlossaryTerm))
    canned = list(scoped(CannedResponse))
    capabilities = list(scoped(Capability))
    for rows in (terms, canned, capabilities):
        used_tag_ids.update(tag_id for row in rows for tag_id in _tags(row))
    for relationship in relationships:
        used_tag_ids.update(
            t for t in (relationship.source_tag_id, relationship.target_tag_id) if t
        )
    plain_tags = Tag.objects.plain().filter(pk__in=used_tag_ids).order_by("name")

    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "agent": {
            "id": agent.id,
            "name": agent.name,
            "description": agent.description,
            "composition_mode": agent.composition_mode,
            "message_output_mode": agent.message_output_mode,
            "max_engine_iterations": agent.max_engine_iterations,
            "is_llm_free": agent.is_llm_free,
            "tags": agent_tags,
        },
        "tags": [{"id": tag.id, "name": tag.name} for tag in plain_tags],
        "guidelines": [_guideline(g) for g in guidelines],
        "journeys": [
            {
                "id": journey.id,
                "title": journey.title,
                "description": journey.description,
                "conditions": [
                    {"id": g.id, "condition": g.condition, "examples": list(g.examples)}
                    for g in sorted(journey.conditions.all(), key=lambda g: (g.created_at, g.id))
                ],
                "tags": _tags(journey),
                "composition_mode": journey.composition_mode,
                "priority": journey.priority,
                "labels": list(journey.labels),
                "states": [
                    {
                        "id": state.id,
                        "kind": state.kind,
                        "action": state.action,
                        "description": state.description,
                        "tools": [tool.id for tool in state.tools.all()],
                        "composition_mode": state.composition_mode,
                        "metadata": dict(state.metadata),
                        "position": state.position,
                    }
                    for state in journey.states.all()
                ],
                "transitions": [
                    {
                        "id": transition.id,
                        "source": transition.source_id,
                        "target": transition.target_id,
                        "condition": transition.condition,
                    }
                    for transition in journey.transitions.all()
                ],
            }
            for journey in journeys
        ],
        "relationships": [
            {
                "id": r.id,
                "kind": r.kind,
                "source": _end(r, "source"),
                "target": _end(r, "target"),
                **({"group_id": r.group_id} if r.group_id else {}),
            }
            for r in relationships
        ],
        "terms": [
            {
                "id": t.id,
                "name": t.name,
                "description": t.description,
                "synonyms": list(t.synonyms),
                "tags": _tags(t),
            }
            for t in terms
        ],
        "variables": [
            {
                "id": v.id,
                "name": v.name,
                "description": v.description,
                "tool": v.tool_id,
                "freshness_rules": v.freshness_rules,
                "tags": _tags(v),
                "values": [
                    {"key": value.key, "data": value.data}
                    for value in v.values.all()
                    if value.customer_id is None
                ],
            }
            for v in variables
        ],
        "canned_responses": [
            {
                "id": c.id,
                "value": c.value,
                "fields": list(c.fields),
                "signals": list(c.signals),
                "field_dependencies": list(c.field_dependencies),
                "metadata": dict(c.metadata),
                "tags": _tags(c),
            }
            for c in canned
        ],
        "capabilities": [
            {
                "id": c.id,
                "title": c.title,
                "description": c.description,
                "signals": list(c.signals),
                "tags": _tags(c),
            }
            for c in capabilities
        ],
    }


# --- Import ------------------------------------------------------------------------------------


def _set_tags(row: Any, tag_ids: list[str]) -> None:
    row.tags.set(services.tags_resolve(tag_ids))


def _require(item: dict[str, Any], *keys: str, where: str) -> None:
    missing = [key for key in keys if key not in item]
    if missing:
        raise ValueError(f"{where}: missing {', '.join(missing)}")


@transaction.atomic
def behavior_import(*, document: dict[str, Any]) -> Agent:
    """Create or update the agent and everything in the document, keeping ids.

    Entities tagged `agent:<id>` that the document no longer has are deleted, so importing an
    edited document makes the database match it. Raises ValueError or ValidationError (unknown
    tools, bad values); nothing is written then.
    """
    agent_data = document["agent"]
    _require(agent_data, "id", "name", where="agent")
    tag_ids = _import_tags(document.get("tags", []))
    agent, _ = Agent.objects.update_or_create(
        pk=agent_data["id"],
        defaults={
            "name": agent_data["name"],
            "description": agent_data.get("description", ""),
            "composition_mode": agent_data.get("composition_mode", "fluid"),
            "message_output_mode": agent_data.get("message_output_mode", "block"),
            "max_engine_iterations": agent_data.get("max_engine_iterations", 3),
            "is_llm_free": bool(agent_data.get("is_llm_free", False)),
        },
    )
    agent.tags.set(services.tags_resolve(tag_ids(agent_data.get("tags", []))))
    own_tag = services.agent_scope_tag(agent.id)

    journey_rows = [_import_journey(item, tag_ids) for item in document.get("journeys", [])]
    guideline_rows = [_import_guideline(item, tag_ids) for item in document.get("guidelines", [])]
    for item in document.get("relationships", []):
        _import_relationship(item, tag_ids)
    terms = [
        _upsert(GlossaryTerm, item, tag_ids, fields=("name", "description", "synonyms"))
        for item in document.get("terms", [])
    ]
    variables = [_import_variable(item, tag_ids, agent) for item in document.get("variables", [])]
    canned = []
    for item in document.get("canned_responses", []):
        from behavior.templates import check_template

        check_template(item.get("value", ""))
        canned.append(
            _upsert(
                CannedResponse,
                item,
                tag_ids,
                fields=("value", "fields", "signals", "field_dependencies", "metadata"),
            )
        )
    capabilities = [
        _upsert(Capability, item, tag_ids, fields=("title", "description", "signals"))
        for item in document.get("capabilities", [])
    ]

    # What carries this agent's own tag but is not in the document was deleted from it.
    kept = {
        Guideline: [row.pk for row in guideline_rows],
        Journey: [row.pk for row in journey_rows],
        GlossaryTerm: [row.pk for row in terms],
        ContextVariable: [row.pk for row in variables],
        CannedResponse: [row.pk for row in canned],
        Capability: [row.pk for row in capabilities],
    }
    for model, ids in kept.items():
        stale = model.objects.filter(tags=own_tag).exclude(pk__in=ids)
        if model is Guideline:
            stale = stale.filter(triggered_journeys__isnull=True)
        stale.delete()
    for row in guideline_rows:
        services.guideline_index(guideline=row)
    return agent


def _import_tags(items: list[dict[str, Any]]):
    """Create the document's plain tags (reusing same-named ones) and return a mapper from
    document tag ids to local ones."""
    mapping: dict[str, str] = {}
    for item in items:
        _require(item, "id", "name", where="tag")
        existing = Tag.objects.filter(Q(pk=item["id"]) | Q(name=item["name"])).first()
        if existing is None:
            existing = services.tag_create(name=item["name"], tag_id=item["id"])
        mapping[item["id"]] = existing.pk

    def local(tag_ids: list[str]) -> list[str]:
        return [mapping.get(tag_id, tag_id) for tag_id in tag_ids]

    return local


def _upsert(model: Any, item: dict[str, Any], tag_ids, *, fields: tuple[str, ...]) -> Any:
    _require(item, "id", *fields[:1], where=model._meta.verbose_name)
    defaults = {field: item[field] for field in fields if field in item}
    row, _ = model.objects.update_or_create(pk=item["id"], defaults=defaults)
    _set_tags(row, tag_ids(item.get("tags", [])))
    return row


def _import_guideline(item: dict[str, Any], tag_ids) -> Guideline:
    _require(item, "id", "condition", where="guideline")
    fields = (
        "condition",
        "action",
        "description",
        "examples",
        "criticality",
        "enabled",
        "composition_mode",
        "track",
        "priority",
        "labels",
        "metadata",
    )
    if "examples" in item:
        item = {**item, "examples": services.clean_examples(item["examples"])}
    row = _upsert(Guideline, item, tag_ids, fields=fields)
    tools = services.tools_resolve(item.get("tools", []))
    row.tool_associations.exclude(tool__in=tools).delete()
    for tool in tools:
        GuidelineToolAssociation.objects.get_or_create(guideline=row, tool=tool)
    return row


def _import_journey(item: dict[str, Any], tag_ids) -> Journey:
    _require(item, "id", "title", where="journey")
    journey = _upsert(
        Journey,
        item,
        tag_ids,
        fields=("title", "description", "composition_mode", "priority", "labels"),
    )
    scope = services.journey_scope_tag(journey.id)
    conditions = []
    for condition in item.get("conditions", []):
        guideline, _ = Guideline.objects.update_or_create(
            pk=condition["id"],
            defaults={
                "condition": condition["condition"],
                "action": "",
                "examples": services.clean_examples(condition.get("examples", [])),
            },
        )
        guideline.tags.set([scope])
        services.guideline_index(guideline=guideline)
        conditions.append(guideline)
    journey.conditions.set(conditions)
    # States and transitions are replaced wholesale: their ids come from the document.
    journey.transitions.all().delete()
    journey.states.all().delete()
    for state in item.get("states", []):
        row = JourneyState.objects.create(
            id=state["id"],
            journey=journey,
            kind=state["kind"],
            action=state.get("action", ""),
            description=state.get("description", ""),
            composition_mode=state.get("composition_mode", ""),
            metadata=state.get("metadata", {}),
            position=state.get("position", 0),
        )
        row.tools.set(services.tools_resolve(state.get("tools", [])))
    state_ids = {state["id"] for state in item.get("states", [])}
    for transition in item.get("transitions", []):
        if transition["source"] not in state_ids or transition["target"] not in state_ids:
            raise ValidationError(
                f"Journey {journey.title!r}: transition {transition['id']} points to a state "
                "that is not in the journey."
            )
        JourneyTransition.objects.create(
            id=transition["id"],
            journey=journey,
            source_id=transition["source"],
            target_id=transition["target"],
            condition=transition.get("condition", ""),
        )
    services.journey_initial_state(journey)
    return journey


def _import_relationship(item: dict[str, Any], tag_ids) -> None:
    _require(item, "id", "kind", "source", "target", where="relationship")
    ends: dict[str, Any] = {}
    for side in ("source", "target"):
        ((kind, value),) = item[side].items()
        if kind not in Relationship.ENDPOINT_KINDS:
            raise ValueError(f"relationship {item['id']}: unknown {side} kind {kind!r}")
        if kind == "tag":
            value = services.tags_resolve(tag_ids([value]))[0].pk
        elif kind == "tool":
            value = services.tools_resolve([value])[0].pk
        ends[f"{side}_{kind}_id"] = value
    Relationship.objects.update_or_create(
        pk=item["id"],
        defaults={
            "kind": item["kind"],
            "group_id": item.get("group_id", ""),
            **{
                f"{side}_{kind}_id": None
                for side in ("source", "target")
                for kind in Relationship.ENDPOINT_KINDS
            },
            **ends,
        },
    )


def _import_variable(item: dict[str, Any], tag_ids, agent: Agent) -> ContextVariable:
    _require(item, "id", "name", where="variable")
    tool = services.tools_resolve([item["tool"]])[0] if item.get("tool") else None
    variable = _upsert(
        ContextVariable,
        {**item, "tool": tool},
        tag_ids,
        fields=("name", "description", "tool", "freshness_rules"),
    )
    for value in item.get("values", []):
        key = value["key"]
        if key.startswith("tag:"):  # plain tags may have another id here; scope tags do not
            key = "tag:" + tag_ids([key.removeprefix("tag:")])[0]
        services.variable_value_set(
            variable_id=variable.pk, key=services.ValueKey.parse(key), data=value.get("data")
        )
    return variable
