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


# -- Parlant's resolver rules (src/parlant/core/engines/alpha/relational_resolver.py) -------------


def _ranked(guideline_id: str, priority: int = 0, *tags: str, **extra: object) -> Guideline:
    return Guideline(
        id=guideline_id,
        condition=f"condition {guideline_id}",
        action="act",
        tags=tags,
        priority=priority,
        **extra,  # type: ignore[arg-type]
    )


def _plain(
    *guidelines: Guideline, relationships: tuple = (), journeys: tuple = ()
) -> AgentSnapshot:
    return AgentSnapshot(
        agent=Agent(id="a", name="A"),
        guidelines=guidelines,
        relationships=relationships,
        journeys=journeys,
    )


def test_only_the_highest_numeric_priority_among_the_matched_survives() -> None:
    snapshot = _plain(
        _ranked("low"), _ranked("mid", 1), _ranked("high", 2), _ranked("also_high", 2)
    )
    result = resolve(snapshot, ["low", "mid", "high", "also_high"], set())
    assert result.guideline_ids == ["high", "also_high"]
    # Unmatched guidelines set no ceiling: the matched ones at level 1 are the highest here.
    assert resolve(snapshot, ["low", "mid"], set()).guideline_ids == ["mid"]


def test_a_journey_guideline_stands_at_its_journeys_priority_and_journeys_compete_too() -> None:
    urgent = Journey(id="urgent", title="Urgent", conditions=("x",), priority=3)
    casual = Journey(id="casual", title="Casual", conditions=("y",), priority=0)
    snapshot = _plain(
        _ranked("step", 0, metadata={"journey_node": {"journey_id": "urgent"}}),
        _ranked("loud", 2),
        _ranked("quiet", 0),
        journeys=(urgent, casual),
    )
    result = resolve(snapshot, ["step", "loud", "quiet"], {"urgent", "casual"})
    assert result.guideline_ids == ["step"]
    assert result.active_journey_ids == {"urgent"}
    # With its journey not active, the step keeps its own level (0) and loses to "loud".
    assert resolve(snapshot, ["step", "loud"], set()).guideline_ids == ["loud"]


def test_entailed_guidelines_neither_set_nor_obey_the_numeric_ceiling() -> None:
    snapshot = _plain(
        _ranked("entailer", 0),
        _ranked("entailed", 5),
        _ranked("other", 0),
        relationships=(
            _rel(RelationshipKind.ENTAILMENT, ("guideline", "entailer"), ("guideline", "entailed")),
        ),
    )
    assert resolve(snapshot, ["entailer", "other"], set()).guideline_ids == [
        "entailer",
        "other",
        "entailed",
    ]


def test_a_tag_priority_keeps_the_guideline_that_makes_the_tag_active() -> None:
    # "both" carries the prioritized-over tag and the prioritizing one: only another active
    # member of "vip" may push it out.
    snapshot = _plain(
        _ranked("both", 0, "vip", "general"),
        _ranked("plain", 0, "general"),
        _ranked("member", 0, "vip"),
        relationships=(_rel(RelationshipKind.PRIORITY, ("tag", "vip"), ("tag", "general")),),
    )
    assert resolve(snapshot, ["both"], set()).guideline_ids == ["both"]
    assert resolve(snapshot, ["both", "plain"], set()).guideline_ids == ["both"]
    assert resolve(snapshot, ["both", "member"], set()).guideline_ids == ["member"]


def test_priority_passes_through_an_inactive_tag_but_not_an_inactive_guideline() -> None:
    snapshot = _plain(
        _ranked("g1"),
        _ranked("g2", 0, "t1"),
        _ranked("g3"),
        _ranked("g4"),
        _ranked("g5"),
        relationships=(
            _rel(RelationshipKind.PRIORITY, ("guideline", "g1"), ("tag", "t1")),
            _rel(RelationshipKind.PRIORITY, ("tag", "t1"), ("guideline", "g3")),
            _rel(RelationshipKind.PRIORITY, ("guideline", "g4"), ("guideline", "g2")),
            _rel(RelationshipKind.PRIORITY, ("guideline", "g5"), ("guideline", "g4")),
        ),
    )
    # g1 over t1 over g3, nothing tagged t1 active: g3 still goes.
    assert resolve(snapshot, ["g1", "g3"], set()).guideline_ids == ["g1"]
    # g5 over g4 over g2 with g4 inactive: nothing reaches g2 (only direct priorities count).
    assert resolve(snapshot, ["g5", "g2"], set()).guideline_ids == ["g5", "g2"]


def test_a_journey_step_guideline_stays_without_its_journey_but_a_scoped_one_goes() -> None:
    journey = Journey(id="j", title="J", conditions=("x",))
    snapshot = _plain(
        _ranked("step", 0, "journey:j", metadata={"journey_node": {"journey_id": "j"}}),
        _ranked("scoped", 0, "journey:j", journey_id="j"),
        journeys=(journey,),
    )
    result = resolve(snapshot, ["step", "scoped"], set())
    assert result.guideline_ids == ["step"]
    assert [e["entity"] for e in result.effects if e["effect"] == "unmet_dependency"] == ["scoped"]
    assert resolve(snapshot, ["step", "scoped"], {"j"}).guideline_ids == ["step", "scoped"]


def test_dropping_a_journey_step_by_priority_stops_its_journey() -> None:
    journey = Journey(id="j", title="J", conditions=("x",))
    snapshot = _plain(
        _ranked("step", 0, metadata={"journey_node": {"journey_id": "j"}}),
        _ranked("boss"),
        journeys=(journey,),
        relationships=(_rel(RelationshipKind.PRIORITY, ("guideline", "boss"), ("journey", "j")),),
    )
    result = resolve(snapshot, ["step", "boss"], {"j"})
    assert result.guideline_ids == ["boss"]
    assert result.active_journey_ids == set()


def test_dependency_any_groups_are_and_ed_and_their_members_or_ed() -> None:
    snapshot = _plain(
        *(_ranked(x) for x in ("src", "a", "b", "c", "d")),
        relationships=(
            _rel(RelationshipKind.DEPENDENCY_ANY, ("guideline", "src"), ("guideline", "a"), "one"),
            _rel(RelationshipKind.DEPENDENCY_ANY, ("guideline", "src"), ("guideline", "b"), "one"),
            _rel(RelationshipKind.DEPENDENCY_ANY, ("guideline", "src"), ("guideline", "c"), "two"),
            _rel(RelationshipKind.DEPENDENCY_ANY, ("guideline", "src"), ("guideline", "d"), "two"),
        ),
    )
    assert resolve(snapshot, ["src", "a", "d"], set()).guideline_ids == ["src", "a", "d"]
    dropped = resolve(snapshot, ["src", "a", "b"], set())
    assert dropped.guideline_ids == ["a", "b"]
    assert [e.get("group") for e in dropped.effects] == ["two"]


def test_what_depends_on_a_deprioritized_guideline_goes_too() -> None:
    snapshot = _plain(
        _ranked("boss"),
        _ranked("minion"),
        _ranked("follower"),
        relationships=(
            _rel(RelationshipKind.PRIORITY, ("guideline", "boss"), ("guideline", "minion")),
            _rel(RelationshipKind.DEPENDENCY, ("guideline", "follower"), ("guideline", "minion")),
        ),
    )
    assert resolve(snapshot, ["boss", "minion", "follower"], set()).guideline_ids == ["boss"]
