"""The reference scenario (reference_scenario.json) as engine inputs.

`build_snapshot` turns the JSON into the AgentSnapshot the product's adapter would hand the
engine: guidelines (the scenario's first, then as many scale guidelines as asked for), the loan
journey with its tool step, glossary, context variables with the customer's values, canned
responses and tool specs. Condition embeddings are computed once, through the NLP service's
embed(), as the product does when behaviour is saved; callers keep those requests out of any turn.
`tool_registry` registers one function per scenario tool that answers the tool's "returns" with
its <placeholders> filled from the arguments.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.ports import NLPService
from engine.tools import ToolContext, ToolRegistry
from engine.types import (
    Agent,
    AgentSnapshot,
    CannedResponse,
    CompositionMode,
    ContextVariable,
    Customer,
    Guideline,
    Journey,
    JourneyState,
    JourneyTransition,
    Term,
    ToolParameter,
    ToolSpec,
)

SCENARIO_PATH = Path(__file__).resolve().with_name("reference_scenario.json")
GUIDELINE_COUNTS = (20, 50, 200, 260)
JOURNEY_ID = "loan"
AGENT_ID = "agent_mira"


@dataclass(frozen=True)
class Scenario:
    data: Mapping[str, Any]

    @classmethod
    def load(cls, path: Path = SCENARIO_PATH) -> Scenario:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    @property
    def conversation(self) -> list[str]:
        return list(self.data["conversation"])

    @property
    def stopwords(self) -> list[str]:
        return list(self.data["decision_rule"]["stopwords"])

    @property
    def max_guidelines(self) -> int:
        return len(self.data["guidelines"]) + len(self.data["scale_guidelines"])

    def guideline_rows(self, count: int) -> list[tuple[str, Mapping[str, Any]]]:
        """(id, row) of the first `count` guidelines: the scenario's own, then scale ones."""
        base = self.data["guidelines"]
        if not len(base) <= count <= self.max_guidelines:
            raise ValueError(
                f"guidelines must be between {len(base)} and {self.max_guidelines}, got {count}"
            )
        rows = [(f"g{number:02d}", row) for number, row in enumerate(base, start=1)]
        scale = self.data["scale_guidelines"][: count - len(base)]
        rows += [(f"s{number:03d}", row) for number, row in enumerate(scale, start=1)]
        return rows

    def customer(self) -> Customer:
        return Customer(id="customer_dana", name=self.data["customer"]["name"])


async def build_snapshot(
    scenario: Scenario, *, guideline_count: int, mode: CompositionMode, nlp: NLPService
) -> AgentSnapshot:
    rows = scenario.guideline_rows(guideline_count)
    journey_data = scenario.data["journey"]
    conditions = [row["condition"] for _, row in rows] + list(journey_data["conditions"])
    vectors = await nlp.embed(conditions)  # one batch, as saving the behaviour would
    guideline_vectors, journey_vectors = vectors[: len(rows)], vectors[len(rows) :]
    guidelines = tuple(
        Guideline(
            id=guideline_id,
            condition=row["condition"],
            action=row["action"],
            tool_ids=tuple(row.get("tools", ())),
            condition_embedding=tuple(vector),
        )
        for (guideline_id, row), vector in zip(rows, guideline_vectors, strict=True)
    )
    agent_data = scenario.data["agent"]
    customer_values = scenario.data["customer"]["variables"]
    return AgentSnapshot(
        agent=Agent(
            id=AGENT_ID,
            name=agent_data["name"],
            description=agent_data["description"],
            composition_mode=mode,
        ),
        guidelines=guidelines,
        journeys=(_journey(journey_data, journey_vectors),),
        terms=tuple(
            Term(
                id=f"term_{number}",
                name=term["name"],
                description=term["description"],
                synonyms=tuple(term.get("synonyms", ())),
            )
            for number, term in enumerate(scenario.data["terms"], start=1)
        ),
        variables=tuple(
            ContextVariable(
                id=f"var_{variable['name']}",
                name=variable["name"],
                description=variable.get("description", ""),
                value=customer_values.get(variable["name"]),
            )
            for variable in scenario.data["variables"]
        ),
        canned_responses=tuple(
            CannedResponse(id=f"canned_{number}", value=text)
            for number, text in enumerate(scenario.data["canned_responses"], start=1)
        ),
        tools=tuple(_tool_spec(tool) for tool in scenario.data["tools"]),
        # The engine caches per-version work (the condition index) the way a worker would
        # between turns of an unchanged agent.
        version=f"reference-{guideline_count}-{mode.value}",
        embedding_model=getattr(nlp, "embedding_model", ""),
    )


def _journey(data: Mapping[str, Any], condition_vectors: Sequence[Sequence[float]]) -> Journey:
    states = tuple(
        JourneyState(id=state["id"], tool_ids=(state["tool"],))
        if state.get("tool")
        else JourneyState(id=state["id"], action=state["chat"])
        for state in data["states"]
    )
    transitions = tuple(
        JourneyTransition(
            id=f"{transition['source']}__{transition['target']}",
            source_id=transition["source"],
            target_id=transition["target"],
            condition=transition.get("condition", ""),
        )
        for transition in data["transitions"]
    )
    return Journey(
        id=JOURNEY_ID,
        title=data["title"],
        description=data.get("description", ""),
        conditions=tuple(data["conditions"]),
        states=states,
        transitions=transitions,
        condition_embeddings=tuple(tuple(vector) for vector in condition_vectors),
    )


def _tool_spec(tool: Mapping[str, Any]) -> ToolSpec:
    return ToolSpec(
        id=tool["name"],
        description=tool["description"],
        parameters=tuple(
            ToolParameter(
                name=name,
                type=parameter.get("type", "string"),
                is_required=parameter.get("required", True),
            )
            for name, parameter in tool["parameters"].items()
        ),
        is_consequential=tool.get("consequential", False),
    )


PYTHON_TYPES = {"string": str, "integer": int, "number": float, "boolean": bool}


def tool_registry(scenario: Scenario) -> ToolRegistry:
    registry = ToolRegistry()
    for tool in scenario.data["tools"]:
        registry.register(
            _tool_function(tool), name=tool["name"], consequential=tool.get("consequential", False)
        )
    return registry


def _tool_function(tool: Mapping[str, Any]) -> Any:
    """A function with the tool's own typed signature, so engine.tools describes it as authored."""
    returns = tool["returns"]

    async def call(context: ToolContext, **arguments: Any) -> Any:
        return fill_placeholders(returns, arguments)

    parameters = [
        inspect.Parameter(
            "context", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=ToolContext
        )
    ]
    annotations: dict[str, Any] = {"context": ToolContext}
    for name, parameter in tool["parameters"].items():
        annotation = PYTHON_TYPES[parameter.get("type", "string")]
        is_required = parameter.get("required", True)
        annotations[name] = annotation if is_required else annotation | None
        parameters.append(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=annotations[name],
                default=inspect.Parameter.empty if is_required else None,
            )
        )
    call.__name__ = call.__qualname__ = tool["name"]
    call.__doc__ = tool["description"]
    call.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    call.__annotations__ = annotations
    return call


def fill_placeholders(value: Any, arguments: Mapping[str, Any]) -> Any:
    """`value` with every "<name>" string replaced by arguments[name] (kept if not given)."""
    if isinstance(value, Mapping):
        return {key: fill_placeholders(item, arguments) for key, item in value.items()}
    if isinstance(value, list):
        return [fill_placeholders(item, arguments) for item in value]
    if isinstance(value, str) and value.startswith("<") and value.endswith(">"):
        return arguments.get(value[1:-1], value)
    return value
