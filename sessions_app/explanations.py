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
                "id": match.get("id"),
                "guideline": names.get(match.get("id", ""), match.get("id")),
                "why": match.get("rationale") or decisions.get(match.get("id"), ""),
            }
            for match in trace.get("matched", [])
            if isinstance(match, Mapping)
        ],
        "guidelines_considered": considered,
        "relationships": [
            f"{effect.get('kind', '')}: {effect.get('effect', '')}"
            for effect in trace.get("relationships", [])
        ],
        # Journeys that neither were nor became active are noise to a reader: left out.
        "journeys": [
            {
                "journey_id": move.get("journey_id"),
                "journey": names.get(move.get("journey_id", ""), move.get("journey_id")),
                "from": state_name(names, move.get("path_before"), "start"),
                "to": state_name(names, move.get("path_after"), "start"),
            }
            for move in journey_moves(trace)
            if move.get("path_before") or move.get("path_after")
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


def journey_moves(trace: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    journeys = trace.get("journeys")
    moves = journeys.get("moves", []) if isinstance(journeys, Mapping) else []
    return [move for move in moves if isinstance(move, Mapping)]


def state_name(names: Mapping[str, str], path: Any, empty: str) -> str:
    """The last state of a journey path, by its name; a path may be missing or of another shape."""
    if not isinstance(path, list | tuple) or not path:
        return empty
    last = path[-1]
    return names.get(str(last), str(last)) if last is not None else empty


def names_for(traces: list[Mapping[str, Any]]) -> dict[str, str]:
    """Readable text for the guidelines and journeys the traces mention, in two queries."""
    from behavior.models import Guideline, Journey, JourneyState

    # Traces of failed or cancelled turns (and older formats) lack these parts: skip what is
    # not shaped as expected rather than fail the page that shows them.
    traces = [trace for trace in traces if "iterations" in trace]
    guideline_ids = {
        m.get("id") for trace in traces for m in trace.get("matched", []) if isinstance(m, Mapping)
    }
    moves = [move for trace in traces for move in journey_moves(trace)]
    journey_ids = {move.get("journey_id") for move in moves}
    state_ids = {
        str(state)
        for move in moves
        for key in ("path_before", "path_after")
        if isinstance(move.get(key), list | tuple)
        for state in move.get(key)
    }
    names = {
        row.id: f"When {row.condition}" + (f", then {row.action}" if row.action else "")
        for row in Guideline.objects.filter(pk__in=guideline_ids).only("condition", "action")
    }
    names.update(Journey.objects.filter(pk__in=journey_ids).values_list("id", "title"))
    names.update(
        (state.id, str(state))
        for state in JourneyState.objects.filter(pk__in=state_ids).only(
            "kind", "action", "description"
        )
    )
    return names
