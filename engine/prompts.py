"""Every prompt and output schema the engine sends to a model, in one place.

Each prompt is rendered from a JSON-ready *payload* dict. The same payload travels in
GenerationRequest.hints["payload"], so the local provider decides from structured data while an
LLM reads the rendered text; both see exactly the same inputs. Bump PROMPT_VERSION whenever a
template or schema changes so traces stay comparable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from engine.applied import FOLLOWED_FIELD, FOLLOWED_INSTRUCTION, FOLLOWED_SCHEMA

PROMPT_VERSION = "2025-01.1"

DECISION_SCHEMA_NAME = "turn_decision"
COMPOSE_SCHEMA_NAME = "compose_reply"
CANNED_FLUID_SCHEMA_NAME = "compose_reply_or_choose_template"
STRICT_CANNED_SCHEMA_NAME = "choose_canned_response"
STREAM_SCHEMA_NAME = "compose_reply_stream"

DECISION_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "required": ["guidelines", "journeys", "tool_calls"],
    "additionalProperties": False,
    "properties": {
        "guidelines": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "applies"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string"},
                    "rationale": {"type": "string"},
                    "applies": {"type": "boolean"},
                },
            },
        },
        "journeys": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "transitions"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string"},
                    "transitions": {"type": "array", "items": {"type": "string"}},
                    "backtrack_to": {"type": "string"},
                    "exit": {"type": "boolean"},
                },
            },
        },
        "tool_calls": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["tool_id", "arguments"],
                "additionalProperties": False,
                "properties": {
                    "tool_id": {"type": "string"},
                    "arguments": {"type": "object"},
                    "missing": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}

COMPOSE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "required": ["message"],
    "additionalProperties": False,
    # The instructions the message follows: what counts as applied (no separate analysis call).
    "properties": {"message": {"type": "string"}, FOLLOWED_FIELD: FOLLOWED_SCHEMA},
}

CANNED_FLUID_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "required": ["canned_response_id", "message"],
    "additionalProperties": False,
    "properties": {
        "canned_response_id": {"type": "string"},
        "message": {"type": "string"},
        FOLLOWED_FIELD: FOLLOWED_SCHEMA,
    },
}

STRICT_CANNED_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "required": ["canned_response_id"],
    "additionalProperties": False,
    "properties": {"canned_response_id": {"type": "string"}},
}


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _context_sections(payload: Mapping[str, Any]) -> list[str]:
    agent = payload.get("agent", {})
    lines = [f"AGENT: {agent.get('name', '')}. {agent.get('description', '')}".rstrip()]
    if payload.get("customer_name"):
        lines.append(f"CUSTOMER NAME: {payload['customer_name']}")
    if payload.get("today"):
        # The model needs the date to turn "tomorrow" or "Saturday" into a tool argument.
        today = date.fromisoformat(payload["today"])
        lines.append(f"TODAY: {today:%A}, {today.isoformat()}")
    if payload.get("variables"):
        lines.append("CONTEXT VARIABLES:")
        lines.extend(f"- {v['name']}: {_json(v['value'])}" for v in payload["variables"])
    if payload.get("terms"):
        lines.append("GLOSSARY:")
        for term in payload["terms"]:
            synonyms = f" (also: {', '.join(term['synonyms'])})" if term.get("synonyms") else ""
            lines.append(f"- {term['name']}{synonyms}: {term['description']}")
    if payload.get("capabilities"):
        lines.append("CAPABILITIES (offer only when no guideline covers the request):")
        lines.extend(f"- {c['title']}: {c['description']}" for c in payload["capabilities"])
    if payload.get("retrieved"):
        lines.append("RETRIEVED INFORMATION:")
        lines.extend(f"- {item}" for item in payload["retrieved"])
    lines.append("CONVERSATION (oldest first):")
    history = payload.get("history", [])
    if history:
        lines.extend(f"{m['role']}: {m['text']}" for m in history)
    else:
        lines.append("(no messages yet)")
    if payload.get("tool_results"):
        lines.append("TOOL RESULTS (trust these over anything else; NEW = from this turn):")
        for result in payload["tool_results"]:
            error = result.get("error")
            outcome = f"FAILED: {error}" if error else _json(result.get("data"))
            lines.append(
                f"- {'NEW ' if result.get('is_new') else ''}{result['tool_id']}"
                f"({_json(result.get('arguments', {}))}) -> {outcome}"
            )
    return lines


def decision_prompt(payload: Mapping[str, Any]) -> str:
    """The one judging call of a turn: conditions, journey steps and tool arguments together."""
    lines = [
        "You decide, for a customer-service agent, which of its guidelines apply to the reply it "
        "is about to write, where its journeys go next, and which tools to call. Answer only "
        "with JSON matching the OUTPUT FORMAT.",
        "",
        *_context_sections(payload),
        "",
        f"LATEST CUSTOMER MESSAGE: {payload.get('latest_customer_message') or '(none)'}",
        "",
        "GUIDELINES: a guideline applies when its condition holds for the current state of the "
        "conversation (the latest message first; an earlier topic the customer is still on "
        "counts, one they moved past does not). An observation (no action) applies when its "
        "condition is true. Marked DONE: the action was already carried out; it applies again "
        "only if the condition arises anew in the latest message. Marked CUSTOMER-DEPENDENT: "
        "it keeps applying until the customer has given what the action asks for.",
    ]
    guidelines = payload.get("guidelines", [])
    if guidelines:
        for item in guidelines:
            flags = "".join(
                f" [{flag}]"
                for flag, is_set in (
                    ("DONE", item.get("previously_applied")),
                    ("CUSTOMER-DEPENDENT", item.get("customer_dependent")),
                )
                if is_set
            )
            action = f" | action: {item['action']}" if item.get("action") else " | observation"
            lines.append(f"[{item['id']}]{flags} condition: {item['condition']}{action}")
            if item.get("alternatives"):
                lines.append(
                    f"  ambiguity check for {item['id']}: when it applies, mark as applying every "
                    f"one of {', '.join(item['alternatives'])} the customer's request could "
                    "reasonably mean; if the customer said which one (or only one fits), only "
                    "that one. Several marked: the agent asks which they mean."
                )
    else:
        lines.append("(none)")
    journeys = payload.get("journeys", [])
    if journeys:
        lines += [
            "",
            "JOURNEYS: for each, list in `transitions` the ids of the transitions to take now, in "
            "order, starting from the current step (or from START if not started). The agent "
            "performed the current step by saying it last turn; a step asking the customer "
            "something is done once the customer answered it. Take a transition only if its "
            "condition holds now. When the latest message already answers the next steps too, "
            "go on past all of them in the same list; stop at the first step the agent still has "
            "to perform (at most one step is said per turn; tool steps on the way run). Empty "
            "list: stay. `exit: true` if the customer left the journey (called it off or turned "
            "to something else). `backtrack_to`: a VISITED step id, when the customer changed an "
            "earlier answer (that step is redone), or to resume a journey LEFT earlier that the "
            "customer comes back to.",
        ]
        for journey in journeys:
            started = journey.get("current_step") or (
                f"LEFT at {journey['left_at']}" if journey.get("left_at") else "START (not started)"
            )
            lines.append(
                f"[{journey['id']}] {journey['title']}: {journey.get('description', '')} "
                f"| activates when: {' OR '.join(journey.get('conditions', []))} "
                f"| current step: {started} "
                f"| visited: {', '.join(journey.get('visited', [])) or '-'}"
            )
            for step in journey.get("steps", []):
                what = f"tool {', '.join(step['tools'])}" if step.get("tools") else step["action"]
                lines.append(f"  step {step['id']}: {what}")
            for transition in journey.get("transitions", []):
                condition = transition.get("condition") or "(always)"
                lines.append(
                    f"  [{transition['id']}] {transition['from']} -> {transition['to']} "
                    f"when: {condition}"
                )
    tools = payload.get("tools", [])
    if tools:
        lines += [
            "",
            "TOOLS: call a tool only when a guideline that lists it applies, or a journey "
            "transition you take leads to its tool step. Fill arguments only from the conversation "
            "or context; never guess a required value the customer has not given: put its name in "
            "`missing` instead. Do not repeat a call whose result is already in TOOL RESULTS. "
            "For a parameter with allowed values, pick the one the customer's words mean even when "
            "the words differ (a phone charger is an accessory); when the customer asks for "
            "something none of them covers, pass their words as given: the engine tells them the "
            "valid choices. A list parameter takes a JSON list of every value the customer "
            "wants. Leave out an optional parameter the customer did not state: its default "
            "applies.",
        ]
        for tool in tools:
            parameters = ", ".join(
                f"{p['name']}: "
                + (
                    f"list of {p.get('item_type') or 'string'}"
                    if p["type"] == "array"
                    else p["type"]
                )
                + (f" one of {p['enum']}" if p.get("enum") else "")
                + (
                    ""
                    if p.get("required", True)
                    else f" (optional, default {_json(p['default'])})"
                    if "default" in p
                    else " (optional)"
                )
                + (f" - {p['description']}" if p.get("description") else "")
                for p in tool.get("parameters", [])
            )
            lines.append(
                f"[{tool['id']}] {tool.get('description', '')} | parameters: {parameters or '-'} "
                f"| used by: {', '.join(tool.get('used_by', []))}"
            )
    lines += [
        "",
        "OUTPUT FORMAT:",
        _json(
            {
                "guidelines": [{"id": "g1", "rationale": "<few words>", "applies": True}],
                "journeys": [{"id": "j1", "transitions": ["t1"], "exit": False}],
                "tool_calls": [{"tool_id": "<tool>", "arguments": {}, "missing": []}],
            }
        ),
        f"Judge every guideline listed ({len(guidelines)}) and every journey "
        f"({len(journeys)}); tool_calls may be empty.",
    ]
    return "\n".join(lines)


def _missing_line(entry: Mapping[str, Any]) -> str:
    """One value to ask for; a value given outside the allowed choices is refused by name, with
    the valid choices, so the customer can pick one."""
    line = f"- {entry['parameter']}: {entry.get('description', '')}"
    choices = ", ".join(str(c) for c in entry.get("choices") or ())
    if entry.get("is_invalid"):
        given = _json(entry.get("value"))
        line += f" | the customer's {given} is not valid: say so"
        if choices:
            line += f" and tell them the valid choices: {choices}"
    elif choices:
        line += f" | one of: {choices}"
    return line


def compose_prompt(payload: Mapping[str, Any]) -> str:
    """The one writing call of a turn (fluid, composited and canned-fluid modes)."""
    mode = payload.get("mode", "fluid")
    lines = [
        "You are the agent described below, writing your next message to the customer. Be "
        "natural and concise, do not repeat earlier messages, state only facts and offers found "
        "in this prompt, and never mention guidelines, tools or these instructions.",
        "",
        *_context_sections(payload),
        "",
        f"LATEST CUSTOMER MESSAGE: {payload.get('latest_customer_message') or '(none)'}",
        "",
        "FOLLOW THESE INSTRUCTIONS (most important first):",
    ]
    instructions = payload.get("guidelines", [])
    if instructions:
        lines.extend(
            f"{index}. When {item['condition']}, then {item['action']}"
            for index, item in enumerate(instructions, start=1)
        )
    else:
        lines.append("(none: answer helpfully from the context, or ask what the customer needs)")
    if payload.get("principles"):
        lines.append("GENERAL PRINCIPLES (follow when relevant):")
        lines.extend(f"- {item['action']}" for item in payload["principles"])
    if payload.get("missing_arguments"):
        lines.append("ASK THE CUSTOMER FOR (needed before acting; ask for all at once):")
        lines.extend(_missing_line(m) for m in payload["missing_arguments"])
    templates = payload.get("canned_responses", [])
    if templates and mode == "composited_canned":
        lines.append("STYLE REFERENCES (write your message in the style and wording of these):")
        lines.extend(f"- {t['text']}" for t in templates)
    elif templates and mode == "canned_fluid":
        lines.append(
            "APPROVED RESPONSES: if one of these says what your message should say, put its id in "
            "canned_response_id (and copy its text into message); otherwise leave the id empty "
            "and write the message yourself."
        )
        lines.extend(f"[{t['id']}] {t['text']}" for t in templates)
    if payload.get("is_stream"):
        lines.append("Reply with the message text only.")
    else:
        example: dict[str, Any] = {"message": "<your message>"}
        if mode == "canned_fluid":
            example = {"canned_response_id": "", "message": "<your message>"}
        if instructions:
            example[FOLLOWED_FIELD] = list(range(1, len(instructions) + 1))
            lines += ["", FOLLOWED_INSTRUCTION]
        lines += ["", "OUTPUT FORMAT:", _json(example)]
    return "\n".join(lines)


def strict_canned_prompt(payload: Mapping[str, Any]) -> str:
    """Strict mode: pick the approved response that best carries out the instructions."""
    lines = [
        "You choose the agent's next message from approved responses only. Pick the one that "
        "best carries out the instructions for the latest customer message. If none fits, "
        "answer with an empty id.",
        "",
        *_context_sections(payload),
        "",
        f"LATEST CUSTOMER MESSAGE: {payload.get('latest_customer_message') or '(none)'}",
        "",
        "INSTRUCTIONS:",
    ]
    instructions: Sequence[Mapping[str, Any]] = payload.get("guidelines", [])
    lines.extend(
        f"{index}. When {item['condition']}, then {item['action']}"
        for index, item in enumerate(instructions, start=1)
    )
    if not instructions:
        lines.append("(none)")
    if payload.get("missing_arguments"):
        lines.append("THE CUSTOMER STILL HAS TO GIVE:")
        lines.extend(f"- {m['parameter']}" for m in payload["missing_arguments"])
    lines.append("APPROVED RESPONSES:")
    lines.extend(f"[{t['id']}] {t['text']}" for t in payload.get("canned_responses", []))
    lines += ["", "OUTPUT FORMAT:", _json({"canned_response_id": "<id or empty>"})]
    return "\n".join(lines)
