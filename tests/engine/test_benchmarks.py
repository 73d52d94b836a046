"""The benchmarks run end to end at a small size, and keep the last line other tools parse."""

from __future__ import annotations

import json
import re

import pytest

from bench import matching_quality, turn_cost

LAST_LINE_OF_TURN_COST = re.compile(
    r"^calls=(?P<calls>[\d.]+) rounds=(?P<rounds>[\d.]+) tokens=(?P<tokens>\d+) "
    r"engine_ms=[\d.]+ recall=(?P<recall>[\d.]+)$"
)
LAST_LINE_OF_MATCHING_QUALITY = re.compile(
    r"^recall=(?P<recall>[\d.]+) precision=[\d.]+ top1=[\d.]+ oos=[\d.]+ ms=[\d.]+$"
)


def test_turn_cost_plays_the_labelled_conversation_and_reports_recall(capsys) -> None:
    turn_cost.main(["--guidelines", "20", "--repeats", "1", "--warmup-runs", "0"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    figures = LAST_LINE_OF_TURN_COST.match(last)
    assert figures, last
    assert float(figures["calls"]) <= 3
    assert float(figures["rounds"]) <= 2
    assert int(figures["tokens"]) <= 6_000
    assert float(figures["recall"]) >= 0.99


@pytest.fixture
def intents(tmp_path):
    conditions = {
        "card_swallowed": "the customer's card was retained by an ATM",
        "opening_hours": "the customer asks when a branch is open",
        "lost_card": "the customer reports a lost or stolen card",
    }
    rows = [
        ("my plastic got swallowed by the machine", "card_swallowed", "val"),
        ("what time do you open on saturday", "opening_hours", "val"),
        ("someone nicked my wallet with the card in it", "lost_card", "val"),
        ("how tall is the eiffel tower", None, "val"),
        ("the cash machine kept my card", "card_swallowed", "train"),
    ]
    dataset = tmp_path / "tiny-dev.jsonl"
    dataset.write_text(
        "".join(json.dumps({"text": t, "intent": i, "split": s}) + "\n" for t, i, s in rows)
    )
    conditions_path = tmp_path / "tiny-conditions.json"
    conditions_path.write_text(json.dumps(conditions))
    return dataset, conditions_path


def test_matching_quality_reads_the_intents_format_and_reports_on_val(intents, capsys) -> None:
    dataset, conditions = intents
    matching_quality.main(
        ["--dataset", str(dataset), "--conditions", str(conditions), "--examples", "1"]
    )
    out = capsys.readouterr().out
    assert "3 in-scope and 1 out-of-scope messages, 3 guidelines" in out
    figures = LAST_LINE_OF_MATCHING_QUALITY.match(out.strip().splitlines()[-1])
    assert figures, out
    assert float(figures["recall"]) == 1.0  # three short conditions are judged whole


def test_matching_quality_refuses_to_report_on_the_rows_examples_come_from(intents) -> None:
    dataset, conditions = intents
    with pytest.raises(SystemExit):
        matching_quality.main(
            ["--dataset", str(dataset), "--conditions", str(conditions), "--split", "train",
             "--examples", "2"]
        )  # fmt: skip
