"""Relationship resolution, directly and inside turns."""

from __future__ import annotations

from engine.engine import Engine
from engine.matching import ConditionScore
from engine.nlp.local import LocalNLPService
from engine.relationships import resolve
from engine.tools import ToolContext, ToolRegistry, tool
from engine.types import (
    Agent,
    AgentSnapshot,
    CannedResponse,
    EntityKind,
    EntityRef,
    Guideline,
    Journey,
    Relationship,
    RelationshipKind,
)
from tests.engine.builders import customer_says, make_turn
from tests.engine.fakes import Cancellation, RecordingSink, ScriptedNLPService


def _g(guideline_id: str, *tags: str) -> Guideline:
    return Guideline(
        id=guideline_id, condition=f"condition {guideline_id}", action="act", tags=tags
    )


def _rel(kind: RelationshipKind, source: tuple, target: tuple, group: str = "") -> Relationship:
    return Relationship(
        id=f"{kind}-{source[1]}-{target[1]}",
        kind=kind,
        source=EntityRef(EntityKind(source[0]), source[1]),
        target=EntityRef(EntityKind(target[0]), target[1]),
        group_id=group,
    )


def _snapshot(*relationships: Relationship, journeys: tuple = ()) -> AgentSnapshot:
    return AgentSnapshot(
        agent=Agent(id="a", name="A"),
        guidelines=(_g("a"), _g("b"), _g("c", "billing"), _g("d", "billing")),
        relationships=relationships,
        journeys=journeys,
    )


def test_entailment_adds_the_target_and_follows_tags() -> None:
    snapshot = _snapshot(
        _rel(RelationshipKind.ENTAILMENT, ("guideline", "a"), ("guideline", "b")),
        _rel(RelationshipKind.ENTAILMENT, ("guideline", "b"), ("tag", "billing")),
    )
    result = resolve(snapshot, ["a"], set())
    assert result.guideline_ids == ["a", "b", "c", "d"]
    assert result.rationales["b"] == "entailed by guideline a"


def test_priority_drops_the_target_and_it_stays_dropped() -> None:
    snapshot = _snapshot(
        _rel(RelationshipKind.PRIORITY, ("guideline", "a"), ("guideline", "b")),
        _rel(RelationshipKind.ENTAILMENT, ("guideline", "c"), ("guideline", "b")),
    )
    result = resolve(snapshot, ["a", "b", "c"], set())
    assert result.guideline_ids == ["a", "c"]
    assert any(e["effect"] == "deprioritized" for e in result.effects)


def test_dependency_cascades_and_any_dependency_needs_one_per_group() -> None:
    snapshot = _snapshot(
        _rel(RelationshipKind.DEPENDENCY, ("guideline", "a"), ("guideline", "b")),
        _rel(RelationshipKind.DEPENDENCY, ("guideline", "c"), ("guideline", "a")),
        _rel(RelationshipKind.DEPENDENCY_ANY, ("guideline", "d"), ("guideline", "a"), "g1"),
        _rel(RelationshipKind.DEPENDENCY_ANY, ("guideline", "d"), ("guideline", "b"), "g1"),
    )
    assert resolve(snapshot, ["a", "c", "d"], set()).guideline_ids == []
    assert resolve(snapshot, ["a", "b", "c", "d"], set()).guideline_ids == ["a", "b", "c", "d"]


def test_a_journey_can_be_a_dependency_target_and_be_deprioritized() -> None:
    journey = Journey(id="j", title="J", conditions=("x",))
    snapshot = _snapshot(
        _rel(RelationshipKind.DEPENDENCY, ("guideline", "a"), ("journey", "j")),
        _rel(RelationshipKind.PRIORITY, ("guideline", "b"), ("journey", "j")),
        journeys=(journey,),
    )
    assert resolve(snapshot, ["a"], {"j"}).guideline_ids == ["a"]
    result = resolve(snapshot, ["a", "b"], {"j"})
    assert result.guideline_ids == ["b"]
    assert result.active_journey_ids == set()


def test_disambiguation_asks_when_two_targets_are_equally_likely() -> None:
    snapshot = _snapshot(
        _rel(RelationshipKind.DISAMBIGUATION, ("guideline", "a"), ("guideline", "b")),
        _rel(RelationshipKind.DISAMBIGUATION, ("guideline", "a"), ("guideline", "c")),
    )
    scores = {"b": ConditionScore("b", 0.6, 0.6), "c": ConditionScore("c", 0.6, 0.55)}
    result = resolve(snapshot, ["a", "b", "c"], set(), scores)
    assert result.guideline_ids == []
    [clarify] = result.transient_guidelines
    assert "condition b or condition c" in clarify.action
    scores["b"] = ConditionScore("b", 0.9, 0.9)
    assert resolve(snapshot, ["a", "b", "c"], set(), scores).guideline_ids == ["a", "b"]


async def test_in_a_turn_the_clarifying_question_replaces_the_targets() -> None:
    guidelines = (
        Guideline(id="limits", condition="the customer asks about limits"),
        Guideline(
            id="atm", condition="the customer asks about ATM limits", action="state ATM limits"
        ),
        Guideline(
            id="card",
            condition="the customer asks about credit card limits",
            action="state credit card limits",
        ),
    )
    relationships = tuple(
        _rel(RelationshipKind.DISAMBIGUATION, ("guideline", "limits"), ("guideline", target))
        for target in ("atm", "card")
    )
    sink = RecordingSink()
    outcome = await Engine(nlp=LocalNLPService()).process_turn(
        make_turn(
            events=customer_says("what are my limits?"),
            guidelines=guidelines,
            relationships=relationships,
            # Without a model the question is an approved text too.
            canned_responses=(
                CannedResponse("c_which", "Which limits do you mean: ATM or credit card?"),
            ),
        ),
        sink,
        Cancellation(),
    )
    assert outcome.trace["transient_guidelines"][0]["id"] == "disambiguation:limits"
    assert "which" in sink.messages[0].lower()


async def test_a_reevaluation_relationship_rejudges_after_its_tool_ran() -> None:
    registry = ToolRegistry()

    @tool(registry=registry)
    async def check_fraud(context: ToolContext) -> str:
        """Check the account for fraud."""
        return "suspicious activity found"

    guidelines = (
        Guideline(
            id="check",
            condition="the customer reports fraud",
            action="check",
            tool_ids=("check_fraud",),
        ),
        Guideline(
            id="alert", condition="suspicious activity was found", action="advise a card block"
        ),
    )
    relationships = (
        _rel(RelationshipKind.REEVALUATION, ("guideline", "alert"), ("tool", "check_fraud")),
    )
    nlp = ScriptedNLPService(
        script={
            "turn_decision": [
                {
                    "guidelines": [{"id": "g1", "applies": True}],
                    "journeys": [],
                    "tool_calls": [{"tool_id": "check_fraud", "arguments": {}}],
                },
                {"guidelines": [{"id": "g1", "applies": True}], "journeys": [], "tool_calls": []},
            ],
            "compose_reply": [{"message": "We found suspicious activity; let's block your card."}],
        }
    )
    outcome = await Engine(nlp=nlp, tools=registry).process_turn(
        make_turn(
            events=customer_says("I think someone used my account, fraud!"),
            guidelines=guidelines,
            relationships=relationships,
        ),
        RecordingSink(),
        Cancellation(),
    )
    assert nlp.schema_names() == ["turn_decision", "turn_decision", "compose_reply"]
    second_prompt = nlp.requests[1].prompt
    assert "suspicious activity was found" in second_prompt
    assert "suspicious activity found" in second_prompt  # the tool result is in view
    assert [m["id"] for m in outcome.trace["matched"]] == ["check", "alert"]
    assert outcome.trace["llm_rounds"] == 3
