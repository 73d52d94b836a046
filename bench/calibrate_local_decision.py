"""Fit the local provider's decision constants on `train`, report them on data kept apart.

Usage: python bench/calibrate_local_decision.py [--data ../shared/data/intents]
                                                [--per-intent 10] [--shots 5]

Data: the public intent sets in ../shared/data/intents (see its README): each intent is one
condition, each utterance a customer message whose intent is known; CLINC150's out-of-scope
messages should raise nothing. Per data set, the first `--shots` train messages of each intent
become that condition's example messages, the next `--per-intent` (and every out-of-scope train
message) are what the constants are fitted on. Figures are reported on CLINC150's `val` split
and, since BANKING77 here has only a train split, on 1,000 of its train messages (a fixed
shuffle) that neither the examples nor the fit used.

The constants (engine/nlp/local/decision.py: SUPPORT_FLOOR, TIE_MARGIN, EXAMPLE_OFFSET) are the
grid point with the best mean, over both sets and both zero-shot and `--shots` examples, of
F1 (and, where there are out-of-scope messages, (2 F1 + the share of them rejected) / 3).
Prints the fit, then one line per data set and shots:
`precision=… recall=… top1=… oos=…` (oos: share of out-of-scope messages that raised something).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.nlp.local.decision import raised  # noqa: E402
from engine.nlp.local.meaning import message_vector  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "intents"
HELD_OUT_BANKING = 1000


def split(name: str, data: Path, shots: int, per_intent: int) -> dict:
    rows = [json.loads(line) for line in (data / f"{name}-dev.jsonl").open()]
    conditions = json.loads((data / f"{name}-conditions.json").read_text())
    if any(row["split"] == "val" for row in rows):
        train = [row for row in rows if row["split"] == "train"]
        report = [row for row in rows if row["split"] == "val"]
    else:
        random.Random(7).shuffle(rows)
        report, train = rows[:HELD_OUT_BANKING], rows[HELD_OUT_BANKING:]
    by_intent: dict[str | None, list[dict]] = {}
    for row in train:
        by_intent.setdefault(row["intent"], []).append(row)
    examples, fit = [], []
    for intent, members in by_intent.items():
        if intent is None:
            fit += members
        else:
            examples += members[:shots]
            fit += members[shots : shots + per_intent]
    return {"conditions": conditions, "examples": examples, "fit": fit, "report": report}


def similarity_parts(sets: dict, rows: list[dict], shots: int) -> tuple[np.ndarray, np.ndarray]:
    """(message × condition similarities, message × best example similarity per condition)."""
    keys = list(sets["conditions"])
    index = {key: i for i, key in enumerate(keys)}
    queries = np.stack([message_vector(row["text"]) for row in rows])
    conditions = np.stack([message_vector(sets["conditions"][key]) for key in keys])
    by_condition = queries @ conditions.T
    by_example = np.full_like(by_condition, -1.0)
    counts: dict[str, int] = {}
    for example in sets["examples"]:
        if counts.get(example["intent"], 0) >= shots:
            continue
        counts[example["intent"]] = counts.get(example["intent"], 0) + 1
        column = index[example["intent"]]
        by_example[:, column] = np.maximum(
            by_example[:, column], queries @ message_vector(example["text"])
        )
    return by_condition, by_example


def evaluate(keys, rows, scores, *, floor, margin) -> dict:  # noqa: ANN001
    true_pos = false_pos = false_neg = top = in_scope = out_raised = out_total = 0
    for row, line in zip(rows, scores, strict=True):
        picks = raised(dict(zip(keys, line.tolist(), strict=True)), floor=floor, margin=margin)
        if row["intent"] is None:
            out_total += 1
            out_raised += bool(picks)
            false_pos += len(picks)
            continue
        in_scope += 1
        hit = row["intent"] in picks
        true_pos += hit
        false_neg += not hit
        false_pos += len(picks) - hit
        top += bool(picks) and picks[0] == row["intent"]
    precision = true_pos / max(1, true_pos + false_pos)
    recall = true_pos / max(1, true_pos + false_neg)
    return {
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "top1": round(top / max(1, in_scope), 3),
        "oos": round(out_raised / out_total, 3) if out_total else None,
    }


def objective(figures: dict) -> float:
    f1 = (
        2
        * figures["precision"]
        * figures["recall"]
        / max(1e-9, figures["precision"] + figures["recall"])
    )
    return f1 if figures["oos"] is None else (2 * f1 + 1 - figures["oos"]) / 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--per-intent", type=int, default=10)
    parser.add_argument("--shots", type=int, default=5)
    args = parser.parse_args()
    names = ("clinc150", "banking77")
    sets = {name: split(name, args.data, args.shots, args.per_intent) for name in names}
    parts = {
        (name, shots, part): similarity_parts(sets[name], sets[name][part], shots)
        for name in names
        for shots in (0, args.shots)
        for part in ("fit", "report")
    }
    best = None
    for offset in (0.0, 0.02, 0.04, 0.06, 0.08):
        for floor in np.arange(0.80, 0.92, 0.005):
            for margin in (0.0, 0.005, 0.01, 0.02):
                figures = [
                    evaluate(
                        list(sets[name]["conditions"]),
                        sets[name]["fit"],
                        np.maximum(by_condition, by_example - offset),
                        floor=floor,
                        margin=margin,
                    )
                    for (name, shots, part), (by_condition, by_example) in parts.items()
                    if part == "fit"
                ]
                score = sum(objective(f) for f in figures) / len(figures)
                if best is None or score > best[0]:
                    best = (score, offset, round(float(floor), 3), margin)
    _, offset, floor, margin = best
    fitted = f"SUPPORT_FLOOR={floor} TIE_MARGIN={margin} EXAMPLE_OFFSET={offset}"
    print(f"fit on train: {fitted}")  # noqa: T201 - a command-line report
    for (name, shots, part), (by_condition, by_example) in parts.items():
        if part != "report":
            continue
        figures = evaluate(
            list(sets[name]["conditions"]),
            sets[name]["report"],
            np.maximum(by_condition, by_example - offset),
            floor=floor,
            margin=margin,
        )
        line = " ".join(f"{key}={value}" for key, value in figures.items())
        print(f"{name} shots={shots}: {line}")  # noqa: T201 - a command-line report


if __name__ == "__main__":
    main()
