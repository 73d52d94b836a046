"""Turning matched behaviour into the agent's reply text.

The LLM path is one composition call (prompts.compose_prompt). The local path, used by
LocalNLPService, realises each matched action as a first-person sentence with small rules, so a
demo without a model still says something that visibly follows the guidelines.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

# Pronouns in an action refer to the customer; in the reply they address them.
PRONOUN_SWAPS: tuple[tuple[str, str], ...] = (
    (r"\bthe customer's\b", "your"),
    (r"\bthe customer\b", "you"),
    (r"\bthe user's\b", "your"),
    (r"\bthe user\b", "you"),
    (r"\bthemselves\b", "yourself"),
    (r"\btheir\b", "your"),
    (r"\bthem\b", "you"),
    (r"\bthey are\b", "you are"),
    (r"\bthey\b", "you"),
    (r"\bhis or her\b", "your"),
    (r"\bhim or her\b", "you"),
)


def address_customer(text: str) -> str:
    for pattern, replacement in PRONOUN_SWAPS:
        text = re.sub(pattern, replacement, text, flags=re.IGNORECASE)
    return text.strip().rstrip(".")


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".?!" else text + "."


def _question(text: str) -> str:
    text = text.strip().rstrip(".?!")
    return text[0].upper() + text[1:] + "?" if text else ""


def realise_action(action: str, customer_name: str = "") -> str:
    """One first-person sentence that carries out `action` ("offer a drink" → "May I offer…")."""
    clause = address_customer(action)
    lowered = clause.lower()
    match = re.match(r"^(?:politely |kindly |warmly |briefly |gently )?(\w+)\b\s*(.*)$", lowered)
    verb, rest = (
        (match.group(1), clause[len(clause) - len(match.group(2)) :]) if match else ("", "")
    )
    rest = rest.strip()
    if verb == "offer" and re.match(r"^(?:you\s+)?(?:help|assistance)\b", rest, re.IGNORECASE):
        return "How can I help you today?"
    if verb == "offer":
        return _question(f"May I offer you {_strip_article_you(rest)}")
    if verb in ("ask", "request"):
        wanted = re.match(r"^(?:you\s+)?to\s+(.+)$", rest, flags=re.IGNORECASE)
        if wanted:
            return _question(f"Could you please {wanted.group(1)}")
        rest = re.sub(r"^(?:you\s+)?(?:for|about)\s+", "", rest, flags=re.IGNORECASE)
        rest = re.sub(r"^you\s+", "", rest, flags=re.IGNORECASE)
        if re.match(r"^(what|which|whether|if|how|when|where|who|why)\b", rest, re.IGNORECASE):
            return _question(f"Could you tell me {rest}")
        return _question(f"Could you please share {rest}")
    if verb in ("greet", "welcome"):
        name = f" {customer_name}" if customer_name else ""
        tail = re.sub(r"^(?:you\s*)?(?:back\s*)?(?:warmly\s*)?", "", rest, flags=re.IGNORECASE)
        tail = re.sub(r"^and\s+", "", tail, flags=re.IGNORECASE)
        greeting = f"Hello{name}!"
        return f"{greeting} {realise_action(tail)}" if tail else greeting
    if verb in ("apologize", "apologise"):
        rest = re.sub(r"^(?:to you\s*)?(?:for\s+)?", "", rest, flags=re.IGNORECASE)
        return _sentence(f"I'm sorry about {rest}") if rest else "I'm sorry about that."
    if verb == "acknowledge":
        rest = re.sub(r"\s+(?:before|while|after|then)\b.*$", "", rest, flags=re.IGNORECASE)
        return _sentence(f"I understand {rest}")
    if verb == "thank":
        rest = re.sub(r"^you\s*", "", rest, flags=re.IGNORECASE)
        return _sentence(f"Thank you {rest}".strip())
    if verb == "tell":
        rest = re.sub(r"^you\s+", "", rest, flags=re.IGNORECASE)
        return _sentence(f"Let me tell you {rest}")
    if verb == "say" or verb == "state":
        rest = re.sub(r"^that\s+", "", rest, flags=re.IGNORECASE)
        return _sentence(rest)
    if verb == "help" and not rest:
        return "How can I help you today?"
    if verb in (
        "confirm",
        "explain",
        "describe",
        "provide",
        "suggest",
        "recommend",
        "check",
        "look",
        "collect",
        "note",
        "present",
        "summarize",
        "summarise",
        "transfer",
        "block",
        "inform",
        "let",
        "remind",
        "mention",
        "share",
        "send",
        "book",
    ):
        return _sentence(f"I'll {clause[0].lower()}{clause[1:]}")
    return _sentence(f"I'll {clause[0].lower()}{clause[1:]}") if clause else ""


def _strip_article_you(text: str) -> str:
    return re.sub(r"^you\s+", "", text, flags=re.IGNORECASE)


def split_compound_action(action: str) -> list[str]:
    """ "greet them back warmly and offer help" → two actions, so each gets its own sentence.

    Only splits where the part after "and" starts with a verb we know, to keep "terms and
    conditions" whole.
    """
    parts = re.split(
        r"\s+(?:and|then)\s+(?=(?:offer|ask|acknowledge|explain|tell|thank|apologi[sz]e|confirm|say|"
        r"suggest|recommend|provide|describe|note|present|let|remind|block|collect|open|"
        r"help)\b)",
        action.strip(),
    )
    return [part for part in parts if part.strip()]


def local_fluid_reply(payload: Mapping[str, Any]) -> str:
    """A plain reply from the composition payload the engine sends (see prompts.compose_payload)."""
    customer_name = payload.get("customer_name", "")
    sentences: list[str] = []
    for item in payload.get("guidelines", ()):
        action = item.get("action", "")
        parts = split_compound_action(action) if action else []
        for index, part in enumerate(parts):
            sentence = realise_action(part, customer_name if index == 0 else "")
            if sentence and sentence not in sentences:
                sentences.append(sentence)
    for missing in payload.get("missing_arguments", ()):
        description = missing.get("description") or missing.get("parameter", "").replace("_", " ")
        sentences.append(_question(f"Could you tell me the {description.rstrip('.')}"))
    for result in payload.get("tool_results", ()):
        if not result.get("is_new"):
            continue  # earlier results were already told to the customer
        rendered = _render_tool_data(result.get("data"))
        if rendered:
            sentences.append(_sentence(rendered))
    if not sentences:
        if payload.get("is_first_message"):
            sentences.append(
                f"Hello{(' ' + customer_name) if customer_name else ''}! How can I help?"
            )
        else:
            sentences.append(
                "I'm not sure I have the information for that. Could you tell me a bit more?"
            )
    return " ".join(sentences)


def _render_tool_data(data: Any) -> str:
    if data is None or data == "":
        return ""
    if isinstance(data, str):
        return data
    if isinstance(data, Mapping):
        parts = [f"{key.replace('_', ' ')}: {_render_value(value)}" for key, value in data.items()]
        return "Here is what I found: " + "; ".join(parts)
    if isinstance(data, Sequence):
        return "Here is what I found: " + "; ".join(_render_value(item) for item in data)
    return f"Here is what I found: {data}"


def _render_value(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k.replace('_', ' ')} {_render_value(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "; ".join(_render_value(item) for item in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
