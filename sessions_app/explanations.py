"""A reply's explanation, readable by a person, derived from the engine's turn trace.

The trace keeps everything (candidates, scores, every call); the explanation keeps what an editor
or operator asks first: what matched and why, what the journey did, which tools ran, how the reply
was written and what it cost.
"""

from collections.abc import Mapping
from typing import Any


def explain_turn(trace: Mapping[str, Any]) -> dict[str, Any]:
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
            {"id": match["id"], "why": match.get("rationale") or decisions.get(match["id"], "")}
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
