"""What the local provider says: only approved text.

Without a language model nothing may be generated, so the reply is one of the agent's canned
responses (rendered with its fields, tool results included, before it gets here) or, when none
says what the matched guidelines ask for, the agent's no-match template (the engine's strict
canned path supplies it). The template chosen is the one closest in meaning to the matched
actions; with no action to carry out, to the customer's message through the template's signals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.canned import DEFAULT_NO_MATCH_TEXT
from engine.nlp.local.meaning import message_vector

# A template says what the reply should say when it scores at least this (see best_template).
# Set by hand on E5's scale, where sentences on unrelated subjects still score 0.75 to 0.82:
# nothing here was fitted to a test; example replies would give data to fit it on.
TEMPLATE_FLOOR = 0.83
# A template attached to a matched guideline or the current journey step (tagged with its id)
# is what its author wrote for that moment: it wins over one that is merely as close.
ATTACHED_BONUS = 0.05


def best_template(payload: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The offered template that best says what the reply should say, if any says it.

    With matched actions, a template must both carry out an action and answer the message (the
    mean of the two similarities: either alone cannot tell "As a Gold member you get free
    refills" from a drink offer). Without one, only its signals against the message count.
    """
    actions = [item["action"] for item in payload.get("guidelines", ()) if item.get("action")]
    message = payload.get("latest_customer_message", "")
    best: tuple[float, Mapping[str, Any]] | None = None
    for template in payload.get("canned_responses", ()):
        texts = [template["text"], *template.get("signals", ())]
        to_message = max(_similarity(text, message) for text in texts) if message else 0.0
        if actions:
            to_action = max(_similarity(text, action) for text in texts for action in actions)
            # The agent may speak first (a greeting, a turn an app asked for): with no customer
            # message to answer, saying what the action asks is all that counts.
            score = (to_action + to_message) / 2 if message else to_action
        else:
            signals = template.get("signals", ())
            score = max((_similarity(s, message) for s in signals if message), default=0.0)
        if template.get("is_attached"):
            score += ATTACHED_BONUS
        if best is None or score > best[0]:
            best = (score, template)
    if best is None or best[0] < TEMPLATE_FLOOR:
        return None
    return best[1]


def _similarity(left: str, right: str) -> float:
    return float(message_vector(left) @ message_vector(right))


def choose_template(payload: Mapping[str, Any]) -> dict[str, Any]:
    best = best_template(payload)
    return {"canned_response_id": best["id"] if best else ""}


def compose(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A message for the fluid schemas: still only approved text (the engine normally asks the
    local provider for a template instead, see LocalNLPService.says_only_approved_text)."""
    best = best_template(payload)
    return {"message": best["text"] if best else DEFAULT_NO_MATCH_TEXT}


def compose_or_choose_template(payload: Mapping[str, Any]) -> dict[str, Any]:
    best = best_template(payload)
    if best is None:
        return {"canned_response_id": "", "message": DEFAULT_NO_MATCH_TEXT}
    return {"canned_response_id": best["id"], "message": best["text"]}
