"""bench/turn_cost.py: its decision rule follows the scenario's text, and a run reports sane counts.

Targets are not asserted here: the numbers belong in the bench's output, not in a test that a
slow machine could fail.
"""

from __future__ import annotations

import re

import pytest

from bench import turn_cost
from bench.decision_rule import SUFFIXES, UNDOUBLED_LETTERS, DecisionRule, stem
from bench.scenario import Scenario

SCENARIO = Scenario.load()
RULE = DecisionRule(SCENARIO.stopwords)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("statements", "state"),  # "ments" with a stem of 5
        ("employment", "employ"),  # "ment"
        ("payments", "payment"),  # "ments" would leave "pay" (< 4), so "s" is stripped instead
        ("checking", "check"),
        ("running", "run"),  # "ing", then the doubled n is dropped
        ("sing", "sing"),  # "ing" would leave "s"
        ("confirmed", "confirm"),
        ("red", "red"),  # "ed" would leave "r"
        ("fees", "fee"),  # "es" would leave "fe" (< 4), "s" leaves "fee"
        ("boxes", "boxe"),  # likewise: "box" is too short for "es"
        ("addresses", "address"),  # "es"; the doubled s stays
        ("business", "business"),  # no "s" after "ss"
        ("bill", "bill"),  # a doubled l stays
        ("staff", "staf"),
        ("add", "add"),  # not longer than 3
        ("15000", "1500"),  # a doubled 0 is a doubled letter that is not a vowel, l or s
    ],
)
def test_it_stems_as_the_scenario_text_says(word: str, expected: str) -> None:
    assert stem(word) == expected


def test_content_words_drop_stopwords_and_single_characters() -> None:
    words = RULE.content_words("Hi, I'll take a loan of 5 x 15000 dollars, please!")
    assert [w.surface for w in words] == ["loan", "15000", "dollars"]
    assert [w.stem for w in words] == ["loan", "1500", "dollar"]


def test_a_condition_holds_on_one_shared_content_word() -> None:
    assert RULE.shared(
        "the customer asks about the APR or interest rate of a loan",
        "What APR would I get for 36 months?",
    ) == ["apr"]
    assert RULE.holds("the customer provided their employment status", "My employment is full")
    # "greets" and "hi" share nothing: "hi" is a stopword.
    assert not RULE.holds("the customer greets the agent", "Hi there")


def test_the_rule_applies_the_hand_checked_guidelines_per_turn() -> None:
    rows = SCENARIO.guideline_rows(SCENARIO.max_guidelines)
    applicable = [
        [gid for gid, row in rows if RULE.holds(row["condition"], message)]
        for message in SCENARIO.conversation
    ]
    assert applicable == [
        ["g02", "g14"],
        ["g02", "g14"],
        ["g02"],
        ["g13"],
        ["g03", "g05"],
        ["g02", "g14", "g19"],
    ]  # and, as the scenario promises, no scale guideline


def test_other_readings_of_the_rule_decide_the_same_on_the_scenario() -> None:
    def stop_at_first_suffix(word: str) -> str:
        """A suffix that ends the word but would leave too short a stem ends the search."""
        for suffix, shortest in SUFFIXES:
            if word.endswith(suffix):
                if len(word) - len(suffix) >= shortest and not (
                    suffix == "s" and word.endswith("ss")
                ):
                    word = word[: -len(suffix)]
                break
        if len(word) > 3 and word[-1] == word[-2] and word[-1] not in UNDOUBLED_LETTERS:
            word = word[:-1]
        return word

    other = DecisionRule(SCENARIO.stopwords, stemmer=stop_at_first_suffix)
    journey = SCENARIO.data["journey"]
    conditions = [row["condition"] for _, row in SCENARIO.guideline_rows(SCENARIO.max_guidelines)]
    conditions += journey["conditions"]
    conditions += [t["condition"] for t in journey["transitions"] if t.get("condition")]
    for message in SCENARIO.conversation:
        ours = [RULE.holds(condition, message) for condition in conditions]
        theirs = [other.holds(condition, message) for condition in conditions]
        assert ours == theirs, message


def test_tool_arguments_are_the_value_like_content_words() -> None:
    assert RULE.value_words(
        "I need a loan amount of 15000 dollars.",
        parameter_name="loan_amount",
        parameter_type="string",
        hints=["Return personal-loan offers (APR per term) for the requested amount."],
        name_words=["get loan offers", "loan amount"],
    ) == ["15000"]
    assert RULE.value_words(
        "Also, can you check my checking account balance?",
        parameter_name="account_type",
        parameter_type="string",
        hints=["Get the current balance of one of the customer's accounts (checking or savings)."],
        name_words=["get account balance", "account type"],
    ) == ["checking"]
    assert (
        RULE.value_words(
            "Hi, I would like to apply for a personal loan.",
            parameter_name="loan_amount",
            parameter_type="string",
            hints=[],
            name_words=["loan amount"],
        )
        == []
    )


@pytest.mark.parametrize("conversation", ["semantic", "lexical"])
async def test_a_run_at_20_guidelines_reports_sane_counts(conversation: str) -> None:
    result = await turn_cost.run_conversation(
        guidelines=20,
        mode="fluid",
        warmup_runs=0,
        repeats=1,
        scenario=SCENARIO,
        conversation=conversation,
    )

    assert result.setup["embedded_texts"] == 21  # 20 conditions and the journey's one
    assert result.setup["chat_calls"] == 0
    turns = (
        len(SCENARIO.data["semantic_conversation"]["turns"]) if conversation == "semantic" else 6
    )
    assert [turn.number for turn in result.turns] == list(range(1, turns + 1))
    for turn in result.turns:
        assert turn.calls >= 1
        assert 1 <= turn.rounds_before_reply <= turn.rounds <= turn.calls
        assert turn.prompt_tokens > 0
        assert turn.completion_tokens > 0
        assert turn.wall_ms >= turn.model_ms >= 0
        assert turn.recall is None or 0.0 <= turn.recall <= 1.0
        assert set(turn.reached) <= set(turn.applicable)
    assert 0.0 <= result.recall <= 1.0
    line = result.average_line()
    assert re.fullmatch(
        r"calls=\d+\.\d+ rounds=\d+\.\d+ tokens=\d+ engine_ms=-?\d+\.\d+ recall=\d\.\d{3}", line
    )
