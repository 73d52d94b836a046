"""The LLM path on the reference scenario, with a scripted model that follows its decision rule.

These pin the cost targets: calls, sequential rounds and prompt tokens per turn (at most 6,000 at
20 guidelines and 12,000 at 260: narrowing buys recall with part of that room). Narrowing recall
is measured on labelled paraphrases in tests/engine/test_candidates.py, not with this rule.
"""

from __future__ import annotations

import re
import statistics

from engine.engine import Engine
from engine.text import estimate_tokens
from tests.engine.bank import CONVERSATION, Session, bank_registry, bank_snapshot
from tests.engine.decision_rule import DecisionRuleModel


async def _play(extra_guidelines: int) -> tuple[DecisionRuleModel, Session, list[list[int]]]:
    model = DecisionRuleModel()
    session = Session(
        Engine(nlp=model, tools=bank_registry()), bank_snapshot(extra_guidelines=extra_guidelines)
    )
    per_turn_tokens: list[list[int]] = []
    for text in CONVERSATION:
        before = len(model.requests)
        await session.say(text)
        per_turn_tokens.append([estimate_tokens(r.prompt) for r in model.requests[before:]])
    return model, session, per_turn_tokens


async def test_a_turn_costs_two_calls_in_two_rounds_on_average() -> None:
    _, session, per_turn = await _play(0)
    assert statistics.mean(len(calls) for calls in per_turn) <= 3
    assert statistics.mean(o.trace["llm_rounds"] for o in session.outcomes) <= 2
    assert all(sink.messages for sink in session.sinks)


async def test_prompt_tokens_stay_within_the_budget_as_guidelines_grow() -> None:
    _, _, at_20 = await _play(0)
    _, _, at_260 = await _play(240)
    assert max(sum(calls) for calls in at_20) <= 6_000
    assert max(sum(calls) for calls in at_260) <= 12_000


async def test_the_decision_prompt_lists_candidates_and_the_latest_message_parseably() -> None:
    model, _, _ = await _play(0)
    prompt = model.requests[0].prompt
    assert "LATEST CUSTOMER MESSAGE: Hi, I would like to apply for a personal loan." in prompt
    assert re.search(r"^\[g1\] condition: .+ \| action: .+$", prompt, re.M)
    assert re.search(r"^\[j1\] Personal Loan Application: .* \| current step: START", prompt, re.M)
    assert re.search(r"^  \[t\d+\] START -> ask_amount when: \(always\)$", prompt, re.M)
    assert model.requests[0].schema_name == "turn_decision"
    assert model.requests[1].schema_name == "compose_reply"


async def test_the_journey_and_its_tool_step_run_through_one_decision() -> None:
    _, session, _ = await _play(0)
    with_offers = [
        outcome
        for outcome in session.outcomes
        if any(call.get("tool_id") == "get_loan_offers" for call in outcome.trace["tools"])
    ]
    assert with_offers
    assert all(outcome.trace["llm_rounds"] == 2 for outcome in with_offers)
    assert "present" in with_offers[0].state.journey_paths["loan"]
    assert session.outcomes[-1].state.journey_paths["loan"][-1] == "end"
