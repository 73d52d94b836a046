"""The embedded default provider: deterministic rules instead of a model. No key, no network.

It answers the engine's own schemas (prompts.*_SCHEMA_NAME) from the structured payload the engine
puts in GenerationRequest.hints["payload"], so every feature can be demonstrated, and a
strict-canned agent can run in production, without any LLM.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from engine import prompts
from engine.composition import local_fluid_reply
from engine.errors import NLPSchemaError
from engine.matching import local_applies
from engine.nlp.embedding import LOCAL_EMBEDDING_MODEL, local_embed
from engine.ports import GenerationRequest, GenerationResult, ModerationResult, Usage
from engine.text import cosine, features, hashed_embedding
from engine.types import Criticality

# A template is "what the reply should say" when it shares this much with the intended content;
# chosen on the strict-canned cases in tests/engine/test_canned.py.
TEMPLATE_MATCH_THRESHOLD = 0.2
UNGUIDED_TEMPLATE_THRESHOLD = 0.5
STREAM_CHUNK_WORDS = 4


class LocalNLPService:
    name = "local"
    is_local = True
    embedding_model = LOCAL_EMBEDDING_MODEL

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        started = time.perf_counter()
        payload = request.hints.get("payload")
        if not isinstance(payload, Mapping):
            raise NLPSchemaError(
                f"The local provider answers only engine requests with a payload "
                f"(schema {request.schema_name!r} had none)."
            )
        handler = {
            prompts.DECISION_SCHEMA_NAME: decide,
            prompts.COMPOSE_SCHEMA_NAME: compose,
            prompts.CANNED_FLUID_SCHEMA_NAME: compose_or_choose_template,
            prompts.STRICT_CANNED_SCHEMA_NAME: choose_template,
        }.get(request.schema_name)
        if handler is None:
            raise NLPSchemaError(f"The local provider has no rule for {request.schema_name!r}.")
        content = handler(payload)
        return GenerationResult(
            content=content,
            usage=Usage(),
            model="local",
            duration_ms=(time.perf_counter() - started) * 1000,
        )

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        payload = request.hints.get("payload") or {}
        text = compose(payload)["message"]
        tokens = text.split(" ")
        for start in range(0, len(tokens), STREAM_CHUNK_WORDS):
            chunk = " ".join(tokens[start : start + STREAM_CHUNK_WORDS])
            yield chunk if start == 0 else " " + chunk

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return await asyncio.to_thread(local_embed, list(texts))

    async def moderate(self, text: str) -> ModerationResult:
        return ModerationResult(flagged=False)


def decide(payload: Mapping[str, Any]) -> dict[str, Any]:
    from engine.journeys import local_journey_decisions
    from engine.tools import local_tool_calls

    guidelines = []
    previously_applied = {
        item["id"] for item in payload.get("guidelines", ()) if item.get("previously_applied")
    }
    for item in payload.get("guidelines", ()):
        local = item.get("local", {})
        applies = local_applies(
            criticality=Criticality(item.get("criticality", "medium")),
            score=local.get("score", 0.0),
            latest_score=local.get("latest_score", 0.0),
            was_applied_before=bool(item.get("previously_applied")),
            is_continuous=bool(item.get("continuous")),
            is_customer_dependent=bool(item.get("customer_dependent")),
        )
        shared = ", ".join(local.get("shared", ())) or "nothing"
        guidelines.append(
            {
                "id": item["id"],
                "rationale": f"score {local.get('score', 0.0):.2f}; shares {shared}",
                "applies": applies,
            }
        )
    for verdict in guidelines:
        if (
            not verdict["applies"]
            and verdict["id"] in previously_applied
            and _answers_its_question(verdict["id"], payload)
        ):
            verdict["applies"] = True
            verdict["rationale"] = "the latest message gives what its tool was waiting for"
    _end_answered_customer_dependent(payload, guidelines)
    applying = {item["id"] for item in guidelines if item["applies"]}
    journeys = local_journey_decisions(payload)
    return {
        "guidelines": guidelines,
        "journeys": journeys,
        "tool_calls": local_tool_calls(payload, applying, journeys),
    }


def _end_answered_customer_dependent(
    payload: Mapping[str, Any], verdicts: list[dict[str, Any]]
) -> None:
    """A customer-dependent action already done ends once the customer gave their part."""
    from engine.applied import customer_did_their_part

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


def _answers_its_question(local_id: str, payload: Mapping[str, Any]) -> bool:
    """The agent just asked for an argument of this (already applied) guideline's tool ("the
    last four card digits?") and the latest message gives it ("it ends in 4821"): the guideline
    carries on even though the answer alone does not match its condition."""
    from engine.text import parse_iso_date
    from engine.tools import attempted_choice, extract_argument, was_asked_for

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


def compose(payload: Mapping[str, Any]) -> dict[str, Any]:
    draft = local_fluid_reply(payload)
    if payload.get("mode") == "composited_canned":
        best = _best_template(payload, draft)
        if best is not None:
            return {"message": best["text"]}
    return {"message": draft}


def compose_or_choose_template(payload: Mapping[str, Any]) -> dict[str, Any]:
    draft = local_fluid_reply(payload)
    best = _best_template(payload, draft)
    if best is not None:
        return {"canned_response_id": best["id"], "message": best["text"]}
    return {"canned_response_id": "", "message": draft}


def choose_template(payload: Mapping[str, Any]) -> dict[str, Any]:
    best = _best_template(payload, local_fluid_reply(payload))
    return {"canned_response_id": best["id"] if best else ""}


def _best_template(payload: Mapping[str, Any], draft: str) -> Mapping[str, Any] | None:
    """The approved response closest to what the reply should say, if any is close enough.

    "What it should say" is the draft plus the matched instructions, new tool data and the
    latest customer message (a template must answer it). A template attached to a matched
    guideline or the current journey step wins ties. With no instruction, tool data or missing
    parameter, there is nothing specific to say, so a template needs a much closer match.
    """
    templates = payload.get("canned_responses", ())
    if not templates:
        return None
    instructions = payload.get("guidelines", ())
    new_results = [r for r in payload.get("tool_results", ()) if r.get("is_new")]
    missing = payload.get("missing_arguments", ())
    intent_parts = [draft, payload.get("latest_customer_message", "")]
    intent_parts += [
        f"{item.get('condition', '')} {item.get('action', '')}" for item in instructions
    ]
    intent_parts += [str(result.get("data")) for result in new_results]
    intent_parts += [f"{m.get('parameter', '')} {m.get('description', '')}" for m in missing]
    intent = " ".join(intent_parts)
    intent_features = features(intent)
    intent_vector = hashed_embedding(intent)
    threshold = TEMPLATE_MATCH_THRESHOLD
    if not (instructions or new_results or missing):
        threshold = UNGUIDED_TEMPLATE_THRESHOLD
    best: tuple[float, Mapping[str, Any]] | None = None
    for template in templates:
        score = 0.0
        for text in (template.get("text", ""), *template.get("signals", ())):
            template_features = features(text)
            overlap = len(template_features & intent_features) / max(1, len(template_features))
            similarity = max(0.0, cosine(hashed_embedding(text), intent_vector))
            score = max(score, 0.7 * overlap + 0.3 * similarity)
        if template.get("is_attached"):
            score += 0.15
        if best is None or score > best[0]:
            best = (score, template)
    if best is None or best[0] < threshold:
        return None
    return best[1]
