"""Guideline matching on paraphrases: intent data turned into one guideline per intent.

Usage: python bench/matching_quality.py --dataset PATH --conditions PATH [--split val]
                                        [--examples N] [--limit N]

`--dataset` is a JSONL file of `{"text", "intent", "split"}` rows (intent null: a message no
guideline covers) and `--conditions` a JSON object `{intent: condition}`, the format of
`../shared/data/intents/`. Each condition becomes a guideline; each message of `--split` is
played as the first message of a new session. Printed:

- narrowing recall: of in-scope messages, the share whose guideline reaches the judging prompt
  on the LLM path (engine/candidates.py with the embedded sentence model), at the engine's
  budget; `ranked` is the same when the ranking has to cut (as for an agent beyond the budget),
  with the mean number of candidates it keeps;
- local precision / recall / top-1 / out-of-scope: the zero-LLM decision, as a whole turn of
  the engine with the local provider (trace `matched`): precision over all matched guidelines
  of in-scope messages, recall of the right one, top-1 = the right guideline is the best-scored
  match, oos = share of out-of-scope messages for which anything matched;
- ms: mean engine time of a local turn.

`--examples N` gives each guideline N example customer messages from the `train` rows (for an
engine whose Guideline has an `examples` field); examples are never taken from the split
reported. Nothing in the engine is fitted to these files' `val` rows. The last line is
`recall=… precision=… top1=… oos=… ms=…` (recall: the narrowing recall).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.candidates import (  # noqa: E402
    CANDIDATE_TOKEN_BUDGET,
    Narrowing,
    condition_matrix,
    conversation_similarities,
    guideline_cost,
)
from engine.engine import Engine  # noqa: E402
from engine.nlp.local import LocalNLPService  # noqa: E402
from engine.types import (  # noqa: E402
    Agent,
    AgentSnapshot,
    CompositionMode,
    Customer,
    EventKind,
    EventSource,
    Guideline,
    SessionEvent,
    TurnInput,
)
from tests.engine.fakes import Cancellation, RecordingSink  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Row:
    text: str
    intent: str | None


def load_rows(path: Path, split: str) -> list[Row]:
    rows = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            item = json.loads(line)
            if item.get("split") == split:
                rows.append(Row(item["text"], item.get("intent")))
    return rows


def spread_sample(rows: Sequence[Row], limit: int | None) -> list[Row]:
    """Every k-th row, so a small run still covers intents and out-of-scope messages alike."""
    if not limit or limit >= len(rows):
        return list(rows)
    in_scope = [row for row in rows if row.intent]
    out_of_scope = [row for row in rows if not row.intent]
    share = len(out_of_scope) / len(rows)
    wanted_oos = round(limit * share) if out_of_scope else 0
    return _every(in_scope, limit - wanted_oos) + _every(out_of_scope, wanted_oos)


def _every(rows: Sequence[Row], count: int) -> list[Row]:
    if count <= 0:
        return []
    step = len(rows) / count
    return [rows[int(i * step)] for i in range(count)]


def build_snapshot(
    conditions: Mapping[str, str], examples: Mapping[str, list[str]]
) -> AgentSnapshot:
    has_examples = "examples" in {f.name for f in dataclasses.fields(Guideline)}
    guidelines = []
    for intent, condition in conditions.items():
        extra: dict[str, Any] = {}
        if has_examples and examples.get(intent):
            extra["examples"] = tuple(examples[intent])
        guidelines.append(
            Guideline(
                id=intent,
                condition=condition,
                action="help the customer with exactly this",
                **extra,
            )
        )
    return AgentSnapshot(
        agent=Agent(
            id="intents",
            name="Intents",
            composition_mode=CompositionMode.STRICT_CANNED,
            is_llm_free=True,
        ),
        guidelines=tuple(guidelines),
        version="matching-quality",
    )


@dataclasses.dataclass
class Tally:
    in_scope: int = 0
    out_of_scope: int = 0
    narrowed_in: int = 0
    ranked_in: int = 0
    ranked_kept: list[int] = dataclasses.field(default_factory=list)
    matched_total: int = 0
    matched_right: int = 0
    recalled: int = 0
    top1: int = 0
    oos_activated: int = 0
    turn_ms: list[float] = dataclasses.field(default_factory=list)

    def figures(self) -> dict[str, float]:
        return {
            "recall": self.narrowed_in / max(1, self.in_scope),
            "ranked_recall": self.ranked_in / max(1, self.in_scope),
            "ranked_kept": statistics.mean(self.ranked_kept) if self.ranked_kept else 0.0,
            "precision": self.matched_right / self.matched_total if self.matched_total else 0.0,
            "local_recall": self.recalled / max(1, self.in_scope),
            "top1": self.top1 / max(1, self.in_scope),
            "oos": self.oos_activated / self.out_of_scope if self.out_of_scope else 0.0,
            "ms": statistics.mean(self.turn_ms) if self.turn_ms else 0.0,
        }

    def line(self) -> str:
        f = self.figures()
        return (
            f"recall={f['recall']:.3f} precision={f['precision']:.3f} top1={f['top1']:.3f} "
            f"oos={f['oos']:.3f} ms={f['ms']:.1f}"
        )


async def measure(
    rows: Sequence[Row], snapshot: AgentSnapshot, *, show_progress: bool = False
) -> Tally:
    nlp = LocalNLPService()
    engine = Engine(nlp=nlp)
    keys = {g.id: g.condition for g in snapshot.guidelines}
    matrix = await condition_matrix(nlp, snapshot, keys)
    total_cost = sum(guideline_cost(g) for g in snapshot.guidelines)
    tally = Tally()
    for number, row in enumerate(rows, start=1):
        similarities = await conversation_similarities(nlp, matrix, [row.text])
        narrowing = Narrowing.build(snapshot, similarities, {})
        # The same ranking when it must cut: as for an agent whose conditions exceed the budget.
        ranked = Narrowing.build(snapshot, similarities, {}, budget=min(total_cost - 1, 10**9))
        ranked.budget = CANDIDATE_TOKEN_BUDGET
        kept = {g.id for g in ranked.guidelines(list(snapshot.guidelines))}
        judged = {g.id for g in narrowing.guidelines(list(snapshot.guidelines))}
        started = time.perf_counter()
        outcome = await engine.process_turn(
            TurnInput(
                snapshot=snapshot,
                session_id=f"s{number}",
                customer=Customer(id="c", name="Customer"),
                events=(
                    SessionEvent(
                        offset=0,
                        kind=EventKind.MESSAGE,
                        source=EventSource.CUSTOMER,
                        data={"message": row.text},
                    ),
                ),
            ),
            RecordingSink(start_offset=1),
            Cancellation(),
        )
        tally.turn_ms.append((time.perf_counter() - started) * 1000)
        matched = [item["id"] for item in outcome.trace.get("matched", [])]
        scores = {
            candidate["id"]: candidate.get("score", 0.0)
            for iteration in outcome.trace.get("iterations", [])
            for candidate in iteration.get("candidates", [])
        }
        if row.intent is None:
            tally.out_of_scope += 1
            tally.oos_activated += bool(matched)
            continue
        tally.in_scope += 1
        tally.narrowed_in += row.intent in judged
        tally.ranked_in += row.intent in kept
        tally.ranked_kept.append(len(kept))
        tally.matched_total += len(matched)
        tally.matched_right += row.intent in matched
        tally.recalled += row.intent in matched
        if matched and max(matched, key=lambda gid: scores.get(gid, 0.0)) == row.intent:
            tally.top1 += 1
        if show_progress and number % 250 == 0:
            print(f"  {number}/{len(rows)} {tally.line()}", file=sys.stderr)  # noqa: T201
    return tally


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True, type=Path)
    parser.add_argument("--conditions", required=True, type=Path)
    parser.add_argument("--split", default="val", help="rows to report on (default: val)")
    parser.add_argument(
        "--examples", type=int, default=0, help="example messages per guideline from `train`"
    )
    parser.add_argument("--limit", type=int, default=0, help="a spread sample of this many rows")
    arguments = parser.parse_args(argv)
    if arguments.examples < 0 or arguments.limit < 0:
        parser.error("--examples and --limit must not be negative")
    if arguments.examples and arguments.split == "train":
        parser.error("--examples come from `train`: report on another split")
    return arguments


def main(argv: Sequence[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    conditions = json.loads(arguments.conditions.read_text(encoding="utf-8"))
    rows = load_rows(arguments.dataset, arguments.split)
    if not rows:
        raise SystemExit(f"{arguments.dataset} has no rows of split {arguments.split!r}")
    examples: dict[str, list[str]] = defaultdict(list)
    if arguments.examples:
        for row in load_rows(arguments.dataset, "train"):
            if row.intent and len(examples[row.intent]) < arguments.examples:
                examples[row.intent].append(row.text)
    rows = spread_sample(rows, arguments.limit or None)
    snapshot = build_snapshot(conditions, examples)
    supports_examples = "examples" in {f.name for f in dataclasses.fields(Guideline)}
    tally = asyncio.run(measure(rows, snapshot, show_progress=not arguments.limit))
    figures = tally.figures()
    print(  # noqa: T201 - a command-line report
        f"{arguments.dataset.name} [{arguments.split}]: {tally.in_scope} in-scope and "
        f"{tally.out_of_scope} out-of-scope messages, {len(conditions)} guidelines"
        + (
            f", {arguments.examples} example(s) each"
            + ("" if supports_examples else " (ignored: Guideline has no examples field)")
            if arguments.examples
            else ""
        )
    )
    print(  # noqa: T201
        f"narrowing: recall {figures['recall']:.3f} at the {CANDIDATE_TOKEN_BUDGET:,}-token "
        f"budget; ranked cut: recall {figures['ranked_recall']:.3f} keeping "
        f"{figures['ranked_kept']:.1f} of {len(conditions)} on average"
    )
    print(  # noqa: T201
        f"local decision: precision {figures['precision']:.3f}, recall "
        f"{figures['local_recall']:.3f}, top-1 {figures['top1']:.3f}, out-of-scope "
        f"activation {figures['oos']:.3f}"
    )
    print(tally.line())  # noqa: T201


if __name__ == "__main__":
    main()
