"""Memory and time to build the engine's view of an agent at 20, 260 and 2,000 guidelines.

Usage: python bench/engine_view.py [--counts 20 260 2000] [--repeats 5]

The view is what a turn needs before it can match anything: the agent snapshot read from the
database (behavior.snapshot.agent_snapshot, all of the agent's guidelines, journeys, terms...)
and the condition index the engine builds over it (engine.matching.ConditionIndex, cached per
agent version between turns). Guidelines are the reference scenario's (bench/reference_scenario
.json, 260 at most); beyond that its scale guidelines are repeated with a numbered qualifier.
Runs on a fresh temporary SQLite file (the embedded default). Prints per size: snapshot ms and
index ms (median over --repeats, index built without its cache), and the memory both keep
(tracemalloc, Python allocations still held after the build).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["SQLITE_PATH"] = str(
    Path(tempfile.mkdtemp(prefix="parlant-engine-view-")) / "db.sqlite3"
)
os.environ.pop("DATABASE_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parlant_site.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from behavior.embeddings import guidelines_embed  # noqa: E402
from behavior.models import Agent, Guideline  # noqa: E402
from behavior.services import agent_scope_tag  # noqa: E402
from behavior.snapshot import agent_snapshot  # noqa: E402
from bench.scenario import Scenario  # noqa: E402
from engine.glossary import synonym_features  # noqa: E402
from engine.matching import ConditionIndex  # noqa: E402


def guideline_texts(scenario: Scenario, count: int) -> list[tuple[str, str]]:
    rows = [
        (row["condition"], row["action"])
        for _, row in scenario.guideline_rows(min(count, scenario.max_guidelines))
    ]
    scale = scenario.data["scale_guidelines"]
    copy = 0
    while len(rows) < count:
        row = scale[copy % len(scale)]
        qualifier = f" (case {copy // len(scale) + 2})"
        rows.append((row["condition"] + qualifier, row["action"]))
        copy += 1
    return rows


def make_agent(scenario: Scenario, count: int) -> str:
    agent = Agent.objects.create(name=f"View {count}", description="engine view bench")
    guidelines = Guideline.objects.bulk_create(
        Guideline(condition=condition, action=action)
        for condition, action in guideline_texts(scenario, count)
    )
    # Stored condition vectors, as saving a guideline makes them (the configured NLP service).
    guidelines_embed(guidelines)
    tag = agent_scope_tag(agent.id)
    Guideline.tags.through.objects.bulk_create(
        Guideline.tags.through(guideline_id=guideline.pk, tag_id=tag.pk) for guideline in guidelines
    )
    return agent.id


def build_index(snapshot) -> ConditionIndex:
    # The same inputs the engine gives its index (engine/engine.py, _condition_index).
    conditions = {g.id: g.condition for g in snapshot.guidelines}
    embeddings = {g.id: g.condition_embedding for g in snapshot.guidelines}
    for journey in snapshot.journeys:
        for position, condition in enumerate(journey.conditions):
            conditions[f"{journey.id}:{position}"] = condition
    return ConditionIndex(conditions, synonym_features(snapshot.terms), embeddings)


def measure(agent_id: str, repeats: int) -> dict[str, float]:
    snapshot_ms, index_ms = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        snapshot = agent_snapshot(agent_id)
        snapshot_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        build_index(snapshot)
        index_ms.append((time.perf_counter() - started) * 1000)
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    snapshot = agent_snapshot(agent_id)
    after_snapshot = tracemalloc.get_traced_memory()[0]
    index = build_index(snapshot)
    after_index, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del index, snapshot
    return {
        "guidelines": len(agent_snapshot(agent_id).guidelines),
        "snapshot_ms": statistics.median(snapshot_ms),
        "index_ms": statistics.median(index_ms),
        "snapshot_mb": (after_snapshot - baseline) / 2**20,
        "index_mb": (after_index - after_snapshot) / 2**20,
        "peak_mb": (peak - baseline) / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--counts", type=int, nargs="+", default=[20, 260, 2000])
    parser.add_argument("--repeats", type=int, default=5)
    arguments = parser.parse_args()
    call_command("migrate", "--no-input", verbosity=0)
    scenario = Scenario.load()
    for count in arguments.counts:
        figures = measure(make_agent(scenario, count), arguments.repeats)
        print(  # noqa: T201
            f"{figures['guidelines']:>5} guidelines: snapshot {figures['snapshot_ms']:.0f} ms, "
            f"index {figures['index_ms']:.0f} ms; kept {figures['snapshot_mb']:.1f} MB snapshot "
            f"+ {figures['index_mb']:.1f} MB index (peak {figures['peak_mb']:.1f} MB)"
        )


if __name__ == "__main__":
    main()
