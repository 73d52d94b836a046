"""The local provider's judgement: which conditions the latest customer message clearly raises.

Every candidate condition (a guideline, or the start of a journey) is scored by meaning: the
cosine similarity of the latest customer message with the condition text or, closer still, with
one of the author's example customer messages. A message raises the best-supported condition
and those nearly as well supported, and nothing at all when even the best is not close enough:
an out-of-scope question ("what's the weather?") matches no guideline instead of the few that
share a word with it.

SUPPORT_FLOOR and TIE_MARGIN are fitted by bench/calibrate_local_decision.py on the `train`
split of the public intent data in ../shared/data/intents (BANKING77 and CLINC150, conditions
written for each intent, with CLINC's out-of-scope questions); the figures it reports come from
the `val` split, which nothing was fitted on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.applied import customer_did_their_part
from engine.journeys import local_journey_decisions
from engine.nlp.local.meaning import closeness
from engine.text import parse_iso_date
from engine.tools import attempted_choice, extract_argument, local_tool_calls, was_asked_for

# Below this similarity the message is about nothing the agent has a condition for.
SUPPORT_FLOOR = 0.85
# Conditions within this of the best are raised too (a message can ask two things at once).
TIE_MARGIN = 0.0
# A message raises at most this many conditions; more would be noise, not intents.
MAX_RAISED = 3
# Two customer messages are closer to each other than a message is to a condition describing
# it, so an example's similarity counts this much less.
EXAMPLE_OFFSET = 0.06


def raised(
    scores: Mapping[str, float],
    *,
    floor: float = SUPPORT_FLOOR,
    margin: float = TIE_MARGIN,
    limit: int = MAX_RAISED,
) -> list[str]:
    """The keys clearly best supported, best first; none when even the best is below `floor`."""
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    if not ranked or ranked[0][1] < floor:
        return []
    best = ranked[0][1]
    return [key for key, score in ranked[:limit] if score >= floor and score >= best - margin]


def condition_scores(payload: Mapping[str, Any]) -> dict[str, float]:
    """Similarity of the latest customer message with each guideline and each journey that has
    not started yet (keyed by their payload ids)."""
    message = payload.get("latest_customer_message", "").strip()
    if not message:
        return {}
    scores = {
        item["id"]: closeness(
            message,
            descriptions=[item["condition"]],
            examples=item.get("examples", ()),
            example_offset=EXAMPLE_OFFSET,
        )
        for item in payload.get("guidelines", ())
    }
    for journey in payload.get("journeys", ()):
        if journey.get("current_step") is None:
            examples = [e for group in journey.get("condition_examples", ()) for e in group]
            scores[journey["id"]] = closeness(
                message,
                descriptions=journey.get("conditions", ()),
                examples=examples,
                example_offset=EXAMPLE_OFFSET,
            )
    return scores


def decide(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The decision schema's answer (prompts.DECISION_SCHEMA) for the engine's payload."""
    scores = condition_scores(payload)
    chosen = set(raised(scores))
    guidelines = []
    for item in payload.get("guidelines", ()):
        applies = item["id"] in chosen
        rationale = f"similarity {scores.get(item['id'], 0.0):.2f}"
        if not applies and item.get("previously_applied") and not chosen:
            # Nothing new raised: an answer to what an ongoing action asked ("next Tuesday")
            # carries it on, if the action waits for the customer or holds all along.
            if item.get("customer_dependent") or item.get("continuous"):
                applies, rationale = True, "carries on: the message raises nothing new"
            elif _answers_its_question(item["id"], payload):
                applies = True
                rationale = "the latest message gives what its tool was waiting for"
        guidelines.append({"id": item["id"], "rationale": rationale, "applies": applies})
    _end_answered_customer_dependent(payload, guidelines)
    journeys = local_journey_decisions(_with_activations(payload, chosen))
    applying = {item["id"] for item in guidelines if item["applies"]}
    return {
        "guidelines": guidelines,
        "journeys": journeys,
        "tool_calls": local_tool_calls(payload, applying, journeys),
    }


def _end_answered_customer_dependent(
    payload: Mapping[str, Any], verdicts: list[dict[str, Any]]
) -> None:
    """A customer-dependent action already done ends once the customer gave their part."""
    items = {item["id"]: item for item in payload.get("guidelines", ())}
    for verdict in verdicts:
        item = items[verdict["id"]]
        if (
            verdict["applies"]
            and item.get("previously_applied")
            and item.get("customer_dependent")
            and customer_did_their_part(payload, item.get("action", ""))
        ):
            verdict["applies"] = False
            verdict["rationale"] = "the customer gave what the action asked for"


def _with_activations(payload: Mapping[str, Any], chosen: set[str]) -> dict[str, Any]:
    """The payload with each unstarted journey's activation decided by meaning."""
    journeys = []
    for journey in payload.get("journeys", ()):
        if journey.get("current_step") is None:
            is_raised = 1.0 if journey["id"] in chosen else 0.0
            journey = {
                **journey,
                "local": {"activation_score": is_raised, "activation_latest_score": is_raised},
            }
        journeys.append(journey)
    return {**payload, "journeys": journeys}


def _answers_its_question(local_id: str, payload: Mapping[str, Any]) -> bool:
    """The agent just asked for an argument of this (already applied) guideline's tool ("the
    last four card digits?") and the latest message gives it ("it ends in 4821")."""
    history = payload.get("history", [])
    if len(history) < 2 or history[-2]["role"] != "agent":
        return False
    asked, latest = history[-2]["text"], payload.get("latest_customer_message", "")
    today = parse_iso_date(payload.get("today", ""))
    for spec in payload.get("tools", ()):
        if local_id not in spec.get("used_by", ()):
            continue
        for parameter in spec.get("parameters", ()):
            if not was_asked_for(parameter, asked):
                continue
            # A choice that is not offered ("XXL") counts too: the reply must say so.
            if extract_argument(parameter, [latest], today) or attempted_choice(
                parameter, latest, was_asked=True
            ):
                return True
    return False
