"""Input moderation: decide whether a customer's message is flagged before the engine sees it.

Modes are Parlant's: `none` checks nothing, `auto` asks the provider, `paranoid` also looks for
attempts to override the agent's instructions (the `jailbreak` tag). The local provider decides
with the rules below; the OpenAI provider calls the moderation endpoint through the NLPService.
"""

import logging
import re

from asgiref.sync import async_to_sync
from django.conf import settings

from engine.ports import ModerationResult

logger = logging.getLogger(__name__)

MODERATION_MODES = ("auto", "paranoid", "none")

# Deliberately narrow: the local provider must not flag ordinary complaints ("this car is
# killing me") while still catching explicit threats, self-harm and requests for weapons.
_LOCAL_RULES: dict[str, tuple[re.Pattern[str], ...]] = {
    "violence": (
        re.compile(r"\b(i('ll| will| am going to| gonna))\s+(kill|hurt|shoot|stab|beat)\s+"
                   r"(you|him|her|them|everyone|somebody|someone)\b", re.I),
    ),
    "self-harm": (
        re.compile(r"\b(kill|hurt|harm)\s+myself\b|\bend\s+my\s+life\b|\bsuicid", re.I),
    ),
    "illicit": (
        re.compile(r"\b(make|build|buy)\s+(a\s+)?(bomb|explosives?|meth|untraceable\s+gun)\b",
                   re.I),
    ),
    "harassment": (
        re.compile(r"\b(you|u)\s+(are|r)\s+(a\s+)?(worthless|pathetic)\s+(idiot|piece of)\b",
                   re.I),
    ),
}
_JAILBREAK_RULES: tuple[re.Pattern[str], ...] = (
    re.compile(r"\b(ignore|disregard|forget)\s+(all\s+|any\s+|your\s+)?(previous|prior|above|"
               r"earlier)?\s*(instructions|rules|guidelines)\b", re.I),
    re.compile(r"\b(reveal|print|show|repeat)\s+(me\s+)?(your|the)\s+(system\s+)?prompt\b", re.I),
    re.compile(r"\byou\s+are\s+now\s+(DAN|in\s+developer\s+mode|unrestricted)\b", re.I),
)


def local_moderation(text: str, *, is_paranoid: bool) -> ModerationResult:
    tags = {tag for tag, rules in _LOCAL_RULES.items() if any(rule.search(text) for rule in rules)}
    if is_paranoid and any(rule.search(text) for rule in _JAILBREAK_RULES):
        tags.add("jailbreak")
    return ModerationResult(flagged=bool(tags), tags=tuple(sorted(tags)))


def _provider_moderation(text: str) -> ModerationResult:
    from sessions_app.engine_adapter import nlp_service

    return async_to_sync(nlp_service().moderate)(text)


def moderate_customer_message(text: str, *, mode: str) -> ModerationResult:
    """The verdict on one customer message under `mode` (auto, paranoid or none)."""
    if mode == "none":
        return ModerationResult(flagged=False)
    is_paranoid = mode == "paranoid"
    if settings.PARLANT_NLP_PROVIDER == "local":
        return local_moderation(text, is_paranoid=is_paranoid)
    try:
        verdict = _provider_moderation(text)
    except Exception:
        # Auto mode fails open (the customer still gets an answer); paranoid fails closed.
        logger.exception("moderation provider failed", extra={"mode": mode})
        if is_paranoid:
            return ModerationResult(flagged=True, tags=("moderation-unavailable",))
        return ModerationResult(flagged=False)
    tags = set(verdict.tags)
    if is_paranoid and any(rule.search(text) for rule in _JAILBREAK_RULES):
        tags.add("jailbreak")
    return ModerationResult(flagged=verdict.flagged or bool(tags), tags=tuple(sorted(tags)))
