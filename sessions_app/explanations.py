"""A reply's explanation, readable by a person, derived from the engine's turn trace.

The trace keeps everything (candidates, scores, every call); the explanation keeps what an editor
or operator asks first: what matched and why, what the journey did, which tools ran, how the reply
was written and what it cost.
"""

from collections.abc import Mapping
from typing import Any


def explain_turn(
    trace: Mapping[str, Any], names: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The explanation of one turn; `names` maps guideline and journey ids to readable text."""
    names = names or {}
    if not trace or "iterations" not in trace:
        return {"outcome": trace.get("reason") or trace.get("error") or "no trace", "steps": []}
    decisions = {
        decision["id"]: decision.get("rationale", "")
        for iteration in trace.get("iterations", [])
        for decision in iteration.get("decisions", [])
    }
    considered = sum(iteration.get("considered", 0) for iteration in trace.get("iterations", []))
    composition = trace.get("composition", {})
    calls = trace.get("llm_calls", [])
    return {
        "outcome": trace.get("outcome", ""),
        "matched_guidelines": [
            {
                "id": match["id"],
                "guideline": names.get(match["id"], match["id"]),
                "why": match.get("rationale") or decisions.get(match["id"], ""),
            }
            for match in trace.get("matched", [])
        ],
        "guidelines_considered": considered,
        "relationships": [
            f"{effect.get('kind', '')}: {effect.get('effect', '')}"
            for effect in trace.get("relationships", [])
        ],
        "journeys": [
            {
                "journey_id": move.get("journey_id"),
                "journey": names.get(move.get("journey_id", ""), move.get("journey_id")),
                "from": (move.get("path_before") or ["(not started)"])[-1],
                "to": (move.get("path_after") or ["(not started)"])[-1],
            }
            for move in trace.get("journeys", {}).get("moves", [])
        ],
        "tool_calls": [
            {
                "tool_id": call.get("tool_id"),
                "arguments": call.get("arguments", {}),
                "result": call.get("result"),
                "skipped": call.get("skipped", ""),
                "missing": call.get("missing", []),
            }
            for call in trace.get("tools", [])
        ],
        "composition": {
            "mode": composition.get("mode", ""),
            "canned_response_id": composition.get("canned_response_id"),
            "no_match": composition.get("no_match", False),
        },
        "llm": {
            "calls": len(calls),
            "rounds": trace.get("llm_rounds", 0),
            "prompt_tokens": sum(call.get("prompt_tokens", 0) for call in calls),
            "completion_tokens": sum(call.get("completion_tokens", 0) for call in calls),
        },
        "timing_ms": trace.get("timing", {}),
    }


def names_for(traces: list[Mapping[str, Any]]) -> dict[str, str]:
    """Readable text for the guidelines and journeys the traces mention, in two queries."""
    from behavior.models import Guideline, Journey

    # Traces of failed or cancelled turns (and older formats) lack these parts: skip what is
    # not shaped as expected rather than fail the page that shows them.
    traces = [trace for trace in traces if "iterations" in trace]
    guideline_ids = {m["id"] for trace in traces for m in trace.get("matched", [])}
    journey_ids = {
        move.get("journey_id")
        for trace in traces
        for move in trace.get("journeys", {}).get("moves", [])
    }
    names = {
        row.id: f"When {row.condition}" + (f", then {row.action}" if row.action else "")
        for row in Guideline.objects.filter(pk__in=guideline_ids).only("condition", "action")
    }
    names.update(Journey.objects.filter(pk__in=journey_ids).values_list("id", "title"))
    return names
