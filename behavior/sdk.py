"""Code-first authoring that reads like Parlant's SDK, writing to the same models as the admin.

    from behavior import sdk

    agent = sdk.Agent.get_or_create(name="Otto Carmen", id="otto-carmen")
    agent.create_guideline(condition="the customer greets you", action="offer a drink")
    journey = agent.create_journey(title="Book a test drive", description="...",
                                   conditions=["the customer wants a test drive"])
    ask = journey.initial_state.transition_to(chat_state="ask which model they like")
    check = ask.target.transition_to(tool_state=check_test_drive_availability)
    check.target.transition_to(chat_state="offer the free slots", condition="slots are free")

Every call is idempotent: running the same script twice finds what the first run made (by
condition, title, name or template within the agent's scope) and updates it in place, so a
script can live in version control and be re-applied. Parlant's SDK is async; this one is plain
synchronous Python because it writes through the ORM. Writes go through behavior.services and
are recorded in the change history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from behavior import history, models, services
from behavior.models import agent_tag_id, journey_tag_id

END_JOURNEY = "END_JOURNEY"  # pass as `state=` to end the journey

ToolLike = Callable[..., Any] | str


def _revision(comment: str):
    return history.revision(f"SDK: {comment}")


def tool_name(tool: ToolLike) -> str:
    """The registered name of a @tool function (or a name given as a string)."""
    if isinstance(tool, str):
        return tool
    from engine.tools import default_registry

    for name in default_registry.names:
        if default_registry.get(name).function is tool:
            return name
    raise ValueError(f"{getattr(tool, '__name__', tool)!r} is not registered with @tool.")


def _tool_ids(tools: Sequence[ToolLike]) -> list[str]:
    names = [tool_name(tool) for tool in tools]
    if names and models.Tool.objects.filter(pk__in=names, is_available=True).count() < len(
        set(names)
    ):
        from behavior.tooling import tool_registry_sync

        tool_registry_sync()  # a tool defined since the last migrate
    return names


def _scoped(queryset, tag_id: str):
    return queryset.filter(tags__id=tag_id)


# --- Relationship helpers shared by guidelines and journeys ------------------------------------


class _Relatable:
    def _endpoint(self) -> services.Endpoint:
        raise NotImplementedError

    def _relate(self, kind: str, target: _Relatable | ToolLike) -> models.Relationship:
        if isinstance(target, _Relatable):
            target_endpoint = target._endpoint()
        else:
            target_endpoint = services.Endpoint(tool_id=_tool_ids([target])[0])
        source = self._endpoint()
        existing = models.Relationship.objects.filter(
            kind=kind,
            **_endpoint_filter("source", source),
            **_endpoint_filter("target", target_endpoint),
        ).first()
        if existing:
            return existing
        with _revision(f"relate {kind}"):
            return services.relationship_create(kind=kind, source=source, target=target_endpoint)

    def prioritize_over(self, other: _Relatable) -> models.Relationship:
        """When both apply, only this one does."""
        return self._relate(models.Relationship.Kind.PRIORITY, other)

    def entail(self, other: _Relatable) -> models.Relationship:
        """Whenever this applies, `other` applies too."""
        return self._relate(models.Relationship.Kind.ENTAILMENT, other)

    def depend_on(self, other: _Relatable) -> models.Relationship:
        """This applies only while `other` applies."""
        return self._relate(models.Relationship.Kind.DEPENDENCY, other)

    def depend_on_any(self, others: Sequence[_Relatable]) -> list[models.Relationship]:
        """This applies only while at least one of `others` applies. Each call makes one group;
        several calls must all hold."""
        source = self._endpoint()
        group_id = models.new_id()
        with _revision("relate dependency_any"):
            return [
                services.relationship_create(
                    kind=models.Relationship.Kind.DEPENDENCY_ANY,
                    source=source,
                    target=other._endpoint(),
                    group_id=group_id,
                )
                for other in others
            ]

    def reevaluate_after(self, tool: ToolLike) -> models.Relationship:
        """Match this again after the tool ran (its result may change whether it applies)."""
        return self._relate(models.Relationship.Kind.REEVALUATION, tool)


def _endpoint_filter(side: str, endpoint: services.Endpoint) -> dict[str, Any]:
    return {
        f"{side}_guideline_id": endpoint.guideline_id,
        f"{side}_tag_id": endpoint.tag_id,
        f"{side}_journey_id": endpoint.journey_id,
        f"{side}_tool_id": endpoint.tool_id,
    }


# --- Guidelines --------------------------------------------------------------------------------


@dataclass
class Guideline(_Relatable):
    row: models.Guideline

    @property
    def id(self) -> str:
        return self.row.id

    def _endpoint(self) -> services.Endpoint:
        return services.Endpoint(guideline_id=self.row.id)

    def disambiguate(self, targets: Sequence[Guideline | Journey]) -> list[models.Relationship]:
        """When this observation holds and several targets could apply, ask which is meant."""
        return [self._relate(models.Relationship.Kind.DISAMBIGUATION, t) for t in targets]


def _guideline_upsert(
    *,
    scope_tag: str,
    condition: str,
    action: str | None,
    tools: Sequence[ToolLike],
    description: str,
    criticality: str,
    metadata: dict[str, Any] | None,
    tags: Sequence[str],
    examples: Sequence[str] = (),
) -> Guideline:
    tool_ids = _tool_ids(tools)
    existing = (
        _scoped(models.Guideline.objects, scope_tag).filter(condition=condition.strip()).first()
    )
    with _revision(f"guideline {condition[:60]}"):
        if existing is None:
            row = services.guideline_create(
                condition=condition,
                action=action or "",
                description=description,
                examples=examples,
                criticality=criticality,
                metadata=metadata,
                tag_ids=[scope_tag, *tags],
                tool_ids=tool_ids,
            )
            return Guideline(row)
        current_tools = set(existing.tool_associations.values_list("tool_id", flat=True))
        row = services.guideline_update(
            guideline=existing,
            fields={
                "action": action or "",
                "description": description,
                "examples": examples,
                "criticality": criticality,
            },
            tags_add=[tag for tag in tags if not existing.tags.filter(pk=tag).exists()],
            tools_add=[t for t in tool_ids if t not in current_tools],
            tools_remove=sorted(current_tools - set(tool_ids)),
            metadata_set=metadata or {},
        )
        return Guideline(row)


# --- Journeys ----------------------------------------------------------------------------------


@dataclass
class JourneyTransition:
    row: models.JourneyTransition
    source: JourneyState
    target: JourneyState


@dataclass
class JourneyState:
    row: models.JourneyState

    @property
    def id(self) -> str:
        return self.row.id

    def transition_to(
        self,
        *,
        chat_state: str | None = None,
        tool_state: ToolLike | Sequence[ToolLike] | None = None,
        state: JourneyState | str | None = None,
        condition: str | None = None,
        fork: bool = False,
    ) -> JourneyTransition:
        """Add (or find) a transition to a new chat, tool or fork state, to an existing state,
        or to the end (`state=END_JOURNEY`). Returns the transition; `.target` continues."""
        given = [chat_state is not None, tool_state is not None, state is not None, fork]
        if sum(given) != 1:
            raise ValueError("Pass exactly one of chat_state=, tool_state=, state= or fork=True.")
        journey = self.row.journey
        condition = (condition or "").strip()
        with transaction.atomic(), _revision(f"journey {journey.title}"):
            if state is not None:
                target = services.journey_end_state(journey) if state == END_JOURNEY else state.row
            else:
                target = self._find_or_create_target(chat_state, tool_state, condition, fork)
            existing = models.JourneyTransition.objects.filter(
                source=self.row, target=target, condition=condition
            ).first()
            row = existing or services.journey_transition_create(
                source=self.row, target=target, condition=condition
            )
        return JourneyTransition(row=row, source=self, target=JourneyState(target))

    def _find_or_create_target(
        self,
        chat_state: str | None,
        tool_state: ToolLike | Sequence[ToolLike] | None,
        condition: str,
        fork: bool,
    ) -> models.JourneyState:
        if chat_state is not None:
            kind, action, tool_ids = models.JourneyState.Kind.CHAT, chat_state.strip(), []
        elif tool_state is not None:
            tools = tool_state if isinstance(tool_state, list | tuple) else [tool_state]
            kind, action, tool_ids = models.JourneyState.Kind.TOOL, "", _tool_ids(tools)
        else:
            kind, action, tool_ids = models.JourneyState.Kind.FORK, "", []
        for transition in self.row.outgoing.select_related("target").prefetch_related(
            "target__tools"
        ):
            target = transition.target
            if (
                transition.condition == condition
                and target.kind == kind
                and target.action == action
                and sorted(tool.id for tool in target.tools.all()) == sorted(tool_ids)
            ):
                return target
        return services.journey_state_create(
            journey=self.row.journey, kind=kind, action=action, tool_ids=tool_ids
        )


@dataclass
class Journey(_Relatable):
    row: models.Journey

    @property
    def id(self) -> str:
        return self.row.id

    def _endpoint(self) -> services.Endpoint:
        return services.Endpoint(journey_id=self.row.id)

    @property
    def initial_state(self) -> JourneyState:
        return JourneyState(services.journey_initial_state(self.row))

    def create_guideline(
        self,
        *,
        condition: str,
        action: str | None = None,
        tools: Sequence[ToolLike] = (),
        description: str = "",
        criticality: str = "medium",
        metadata: dict[str, Any] | None = None,
        examples: Sequence[str] = (),
    ) -> Guideline:
        """A guideline that applies only while this journey is active."""
        return _guideline_upsert(
            scope_tag=journey_tag_id(self.row.id),
            condition=condition,
            action=action,
            tools=tools,
            description=description,
            criticality=criticality,
            metadata=metadata,
            tags=[],
            examples=examples,
        )

    def problems(self) -> list[str]:
        return services.journey_problems(self.row)


# --- Variables ---------------------------------------------------------------------------------


@dataclass
class Variable:
    row: models.ContextVariable
    agent_id: str

    @property
    def id(self) -> str:
        return self.row.id

    def set_global_value(self, value: Any) -> None:
        """The default for everyone this variable applies to."""
        with _revision(f"variable {self.row.name}"):
            services.variable_value_set(
                variable_id=self.row.id, key=services.ValueKey(), data=value
            )

    def set_value_for_customer(self, customer_id: str, value: Any) -> None:
        with _revision(f"variable {self.row.name}"):
            services.variable_value_set(
                variable_id=self.row.id, key=services.ValueKey(customer_id=customer_id), data=value
            )

    def set_value_for_tag(self, tag_id: str, value: Any) -> None:
        with _revision(f"variable {self.row.name}"):
            services.variable_value_set(
                variable_id=self.row.id, key=services.ValueKey(tag_id=tag_id), data=value
            )


# --- Agents ------------------------------------------------------------------------------------


@dataclass
class Agent:
    row: models.Agent

    @property
    def id(self) -> str:
        return self.row.id

    @property
    def tag(self) -> str:
        """The scope tag `agent:<id>` everything created here carries."""
        return agent_tag_id(self.row.id)

    @classmethod
    def get_or_create(
        cls,
        *,
        name: str,
        id: str | None = None,  # noqa: A002  (Parlant's parameter name)
        description: str = "",
        composition_mode: str = "fluid",
        max_engine_iterations: int = 3,
        is_llm_free: bool = False,
    ) -> Agent:
        """The agent with this id (or, without an id, this name), created or updated.

        `is_llm_free=True` makes the agent answer with the embedded engine only (zero LLM calls).
        """
        existing = (
            models.Agent.objects.filter(pk=id).first()
            if id
            else models.Agent.objects.filter(name=name).first()
        )
        fields = {
            "name": name,
            "description": description,
            "composition_mode": composition_mode,
            "max_engine_iterations": max_engine_iterations,
            "is_llm_free": is_llm_free,
        }
        with _revision(f"agent {name}"):
            if existing is None:
                row = services.agent_create(agent_id=id, **fields)
            else:
                row = services.agent_update(agent=existing, fields=fields)
            services.agent_scope_tag(row.id)
        return cls(row)

    def create_guideline(
        self,
        *,
        condition: str,
        action: str | None = None,
        tools: Sequence[ToolLike] = (),
        description: str = "",
        criticality: str = "medium",
        metadata: dict[str, Any] | None = None,
        tags: Sequence[str] = (),
        examples: Sequence[str] = (),
    ) -> Guideline:
        """`examples`: customer messages for which the condition holds (optional); matching
        compares the conversation with them as well as with the condition."""
        return _guideline_upsert(
            scope_tag=self.tag,
            condition=condition,
            action=action,
            tools=tools,
            description=description,
            criticality=criticality,
            metadata=metadata,
            tags=tags,
            examples=examples,
        )

    def create_observation(
        self, *, condition: str, description: str = "", examples: Sequence[str] = ()
    ) -> Guideline:
        """A guideline without an action: something to notice (e.g. for disambiguation)."""
        return self.create_guideline(
            condition=condition, description=description, examples=examples
        )

    def create_journey(
        self,
        *,
        title: str,
        description: str = "",
        conditions: Sequence[str] = (),
        priority: int = 0,
        condition_examples: Mapping[str, Sequence[str]] | None = None,
    ) -> Journey:
        """`condition_examples`: condition text -> customer messages for which it holds."""
        existing = _scoped(models.Journey.objects, self.tag).filter(title=title.strip()).first()
        with _revision(f"journey {title}"):
            if existing is None:
                row = services.journey_create(
                    title=title,
                    description=description,
                    conditions=conditions,
                    tag_ids=[self.tag],
                    priority=priority,
                    condition_examples=condition_examples,
                )
                return Journey(row)
            services.journey_update(
                journey=existing, fields={"description": description, "priority": priority}
            )
            for condition in conditions:
                services.journey_condition_add(
                    journey=existing,
                    condition=condition,
                    examples=(condition_examples or {}).get(condition),
                )
        return Journey(existing)

    def create_term(
        self, *, name: str, description: str, synonyms: Sequence[str] = ()
    ) -> models.GlossaryTerm:
        existing = _scoped(models.GlossaryTerm.objects, self.tag).filter(name=name.strip()).first()
        with _revision(f"term {name}"):
            if existing is None:
                return services.term_create(
                    name=name, description=description, synonyms=synonyms, tag_ids=[self.tag]
                )
            return services.term_update(term=existing, description=description, synonyms=synonyms)

    def create_canned_response(
        self,
        *,
        template: str,
        signals: Sequence[str] = (),
        tags: Sequence[str] = (),
        fields: Sequence[dict[str, Any]] = (),
    ) -> models.CannedResponse:
        existing = _scoped(models.CannedResponse.objects, self.tag).filter(value=template).first()
        with _revision("canned response"):
            if existing is None:
                return services.canned_response_create(
                    value=template, signals=signals, fields=fields, tag_ids=[self.tag, *tags]
                )
            return services.canned_response_update(
                canned=existing,
                signals=signals,
                fields=fields,
                tags_add=[tag for tag in tags if not existing.tags.filter(pk=tag).exists()],
            )

    def create_variable(
        self,
        *,
        name: str,
        description: str = "",
        tool: ToolLike | None = None,
        freshness_rules: str = "",
    ) -> Variable:
        tool_id = _tool_ids([tool])[0] if tool is not None else None
        existing = (
            _scoped(models.ContextVariable.objects, self.tag).filter(name=name.strip()).first()
        )
        with _revision(f"variable {name}"):
            if existing is None:
                row = services.variable_create(
                    name=name,
                    description=description,
                    tool_id=tool_id,
                    freshness_rules=freshness_rules,
                    tag_ids=[self.tag],
                )
            else:
                row = services.variable_update(
                    variable=existing,
                    description=description,
                    tool_id=tool_id,
                    freshness_rules=freshness_rules,
                )
        return Variable(row=row, agent_id=self.row.id)

    def create_capability(
        self, *, title: str, description: str, signals: Sequence[str] = ()
    ) -> models.Capability:
        existing = _scoped(models.Capability.objects, self.tag).filter(title=title.strip()).first()
        with _revision(f"capability {title}"):
            if existing is None:
                return services.capability_create(
                    title=title, description=description, signals=signals, tag_ids=[self.tag]
                )
            return services.capability_update(
                capability=existing, description=description, signals=signals
            )

    def attach_retriever(self, name: str) -> None:
        """Run the registered retriever `name` on every turn of this agent."""
        retriever = models.Retriever.objects.filter(pk=name, is_available=True).first()
        if retriever is None:
            from behavior.tooling import tool_registry_sync

            tool_registry_sync()
            retriever = models.Retriever.objects.get(pk=name)
        retriever.agents.add(self.row)
