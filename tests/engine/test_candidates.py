"""Narrowing by meaning (engine/candidates.py) with the embedded sentence model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from bench.scenario import Scenario, build_snapshot
from engine import candidates
from engine.candidates import (
    CANDIDATE_TOKEN_BUDGET,
    Narrowing,
    Similarities,
    rank_conditions,
)
from engine.journeys import activation_key
from engine.nlp.embedding import LOCAL_EMBEDDING_MODEL, local_embed
from engine.types import Agent, AgentSnapshot, CompositionMode, Guideline


class SentenceEmbedder:
    """The narrowing needs only `embed`; this one counts the texts it is asked to embed."""

    name = "sentence-embedder"
    embedding_model = LOCAL_EMBEDDING_MODEL

    def __init__(self) -> None:
        self.embedded: list[str] = []

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.embedded.extend(texts)
        return local_embed(texts)


class BrokenEmbedder(SentenceEmbedder):
    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        raise ConnectionError("embeddings endpoint down")


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario.load()


async def test_every_labelled_condition_of_the_semantic_conversation_is_judged_at_260(
    scenario: Scenario,
) -> None:
    embedder = SentenceEmbedder()
    snapshot = await build_snapshot(
        scenario, guideline_count=260, mode=CompositionMode.FLUID, nlp=embedder
    )
    by_condition = {g.condition: g for g in snapshot.guidelines}
    journey = snapshot.journeys[0]
    said: list[str] = []
    labelled = reached = 0
    for turn in scenario.data["semantic_conversation"]["turns"]:
        said.append(turn["message"])
        narrowing = await rank_conditions(embedder, snapshot, said, {})
        assert not narrowing.judges_all  # 260 guidelines do not fit the budget
        chosen = {g.id for g in narrowing.guidelines(list(snapshot.guidelines))}
        journeys = narrowing.journeys(snapshot.journeys, (), lambda j: [activation_key(j, 0)])
        for condition in turn["applies"]:
            labelled += 1
            reached += by_condition[condition].id in chosen
        for condition in turn["journey_conditions"]:
            labelled += 1
            reached += journey in journeys and condition in journey.conditions
        assert len(chosen) < len(snapshot.guidelines)
    assert labelled >= 7
    assert reached == labelled


async def test_stored_vectors_of_the_same_model_are_not_embedded_again(
    scenario: Scenario,
) -> None:
    embedder = SentenceEmbedder()
    snapshot = await build_snapshot(
        scenario, guideline_count=20, mode=CompositionMode.FLUID, nlp=embedder
    )
    snapshot = replace(snapshot, version="stored-vectors-test")
    embedder.embedded.clear()
    await rank_conditions(embedder, snapshot, ["Hello there", "What is my balance?"], {})
    assert embedder.embedded == ["What is my balance?", "Hello there What is my balance?"]
    assert set(embedder.embedded).isdisjoint(g.condition for g in snapshot.guidelines)

    other_model = replace(snapshot, embedding_model="another-model", version="other-model-test")
    embedder.embedded.clear()
    # Earlier tests in this process may have embedded these conditions already (that process
    # cache is keyed by the embedder's own model, so reusing it is right); start without it.
    candidates._VECTOR_CACHE.clear()
    candidates._MATRIX_CACHE.clear()
    await rank_conditions(embedder, other_model, ["What is my balance?"], {})
    assert {g.condition for g in snapshot.guidelines} <= set(embedder.embedded)


def _agent_with(conditions: Sequence[str], **changes) -> AgentSnapshot:
    guidelines = tuple(
        Guideline(id=f"g{n:03}", condition=text, action="help them with it")
        for n, text in enumerate(conditions)
    )
    return AgentSnapshot(agent=Agent(id="a", name="A"), guidelines=guidelines, **changes)


async def test_a_small_agent_is_judged_whole_and_a_large_one_by_meaning() -> None:
    small = _agent_with(["the customer's card was retained by an ATM", "the customer greets"])
    narrowing = await rank_conditions(SentenceEmbedder(), small, ["hi"], {})
    assert narrowing.judges_all
    assert len(narrowing.guidelines(list(small.guidelines))) == 2

    topics = [f"the customer asks about the opening hours of branch number {n}" for n in range(250)]
    large = _agent_with(["the customer's card was retained by an ATM", *topics], version="large")
    message = "my plastic got swallowed by the machine"
    narrowing = await rank_conditions(SentenceEmbedder(), large, [message], {})
    assert not narrowing.judges_all
    chosen = narrowing.guidelines(list(large.guidelines))
    assert chosen[0].condition == "the customer's card was retained by an ATM"
    assert len(chosen) < len(large.guidelines)
    assert sum(len(g.condition) for g in chosen) // 3 < CANDIDATE_TOKEN_BUDGET


async def test_a_failing_embeddings_endpoint_falls_back_to_the_word_scores() -> None:
    topics = [f"the customer asks about the opening hours of branch number {n}" for n in range(250)]
    large = _agent_with(["the customer wants a mortgage", *topics], version="broken")
    narrowing = await rank_conditions(BrokenEmbedder(), large, ["mortgage please"], {"g000": 0.9})
    assert narrowing.trace()["by"] == "words (no embeddings)"
    assert not narrowing.judges_all
    assert narrowing.guidelines(list(large.guidelines))[0].id == "g000"


def test_forced_guidelines_are_judged_even_when_ranked_last() -> None:
    guidelines = [
        Guideline(id=f"g{n:03}", condition=f"the customer asks about product number {n} today")
        for n in range(300)
    ]
    cosine = {g.id: 1.0 - n / 300 for n, g in enumerate(guidelines)}
    relevance = {g.id: 3.0 - n / 50 for n, g in enumerate(guidelines)}
    snapshot = AgentSnapshot(agent=Agent(id="a", name="A"), guidelines=tuple(guidelines))
    narrowing = Narrowing.build(snapshot, Similarities(cosine, relevance), {})
    chosen = {g.id for g in narrowing.guidelines(guidelines, always_include=["g299"])}
    assert {"g000", "g299"} <= chosen
    assert len(chosen) < 300


async def test_an_example_message_ranks_its_condition_and_is_embedded_once() -> None:
    fillers = [
        Guideline(f"g{n}", condition, "help")
        for n, condition in enumerate(
            [
                "the customer asks about the weather",
                "the customer wants to change their password",
                "the customer asks for the opening hours",
                "the customer wants to cancel an order",
            ]
        )
    ]
    ate_card = Guideline(
        "g_card", "an ATM retained the customer's card", "help", examples=("the machine ate it",)
    )
    snapshot = AgentSnapshot(
        agent=Agent(id="a", name="A"), guidelines=(*fillers, ate_card), version="v-examples"
    )
    embedder = SentenceEmbedder()
    said = ["the machine ate my plastic"]
    with_example = await rank_conditions(embedder, snapshot, said, {})
    without = await rank_conditions(
        embedder, replace(snapshot, guidelines=(*fillers, replace(ate_card, examples=()))), said, {}
    )
    assert with_example.score("g_card") > without.score("g_card")
    assert set(with_example.similarities) == {g.id for g in snapshot.guidelines}
    assert embedder.embedded.count("the machine ate it") == 1
