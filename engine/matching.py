"""Guideline matching: cheap local scoring narrows the candidates, one judgement decides.

Scoring needs no model. Every condition (guideline, journey activation, journey transition) is
scored against the conversation: IDF-weighted overlap of stemmed and concept features, with the
latest customer message weighted highest, plus a hashed-embedding cosine. With the local provider
the score *is* the judgement (a threshold per criticality); with an LLM provider the scores only
pick which conditions the single judging call sees.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from engine.text import EMBEDDING_DIMENSIONS, cosine, features, hashed_embedding
from engine.types import (
    Criticality,
    EventKind,
    EventSource,
    Guideline,
    SessionEvent,
)

# Weight of each earlier customer message relative to the one after it: the latest message
# decides, but a topic raised two messages ago still counts for an ongoing conversation.
HISTORY_DECAY = 0.55
HISTORY_WINDOW = 6
AGENT_MESSAGE_WEIGHT = 0.25  # conditions rarely hinge on what the agent said; a little context
EMBEDDING_WEIGHT = 0.25

# Local decision thresholds on the combined score, chosen on tests/engine/test_matching_accuracy.py
# (see the case table there): MEDIUM balances recall and precision, HIGH leans to recall because
# missing it is costly, LOW needs a clear signal because it is only nice to have.
MATCH_THRESHOLDS: Mapping[Criticality, float] = {
    Criticality.HIGH: 0.30,
    Criticality.MEDIUM: 0.38,
    Criticality.LOW: 0.55,
}

# Repeating an action already taken needs the latest message itself to be about the condition.
REAPPLY_THRESHOLD = 0.5

# The LLM sees at most this many guideline candidates. At 20 guidelines that is most of them;
# at 260 it is the same number, which is what keeps prompt size flat as behaviour grows.
MAX_LLM_CANDIDATES = 14
# Below this combined score a condition shares nothing with the conversation worth judging.
LLM_CANDIDATE_FLOOR = 0.12


@dataclass(frozen=True)
class Message:
    source: EventSource
    text: str

    @property
    def is_customer(self) -> bool:
        return self.source in (EventSource.CUSTOMER, EventSource.CUSTOMER_UI)


@dataclass(frozen=True)
class Conversation:
    messages: tuple[Message, ...]

    @classmethod
    def from_events(cls, events: Iterable[SessionEvent]) -> Conversation:
        messages = []
        for event in events:
            if event.kind != EventKind.MESSAGE:
                continue
            text = event.data.get("message")
            if isinstance(text, str) and text.strip():
                messages.append(Message(source=event.source, text=text))
        return cls(tuple(messages))

    @property
    def customer_messages(self) -> list[str]:
        return [message.text for message in self.messages if message.is_customer]

    @property
    def latest_customer_message(self) -> str:
        customer = self.customer_messages
        return customer[-1] if customer else ""

    @property
    def latest_agent_message(self) -> str:
        for message in reversed(self.messages):
            if not message.is_customer:
                return message.text
        return ""

    @property
    def customer_spoke_last(self) -> bool:
        return bool(self.messages) and self.messages[-1].is_customer


@dataclass(frozen=True)
class ConditionScore:
    key: str
    score: float  # combined, over the weighted window
    latest_score: float  # lexical, against the latest customer message only
    shared_features: tuple[str, ...] = ()


@dataclass
class ConversationSignals:
    """Feature weights of the recent conversation; built once per turn."""

    weights: dict[str, float] = field(default_factory=dict)
    latest: frozenset[str] = frozenset()
    latest_embedding: tuple[float, ...] = ()
    window_embedding: tuple[float, ...] = ()

    @classmethod
    def build(
        cls, conversation: Conversation, synonyms: tuple[tuple[str, str], ...] = ()
    ) -> ConversationSignals:
        weights: dict[str, float] = {}
        customer = conversation.customer_messages[-HISTORY_WINDOW:]
        weight = 1.0
        for text in reversed(customer):
            for feature in features(text, synonyms):
                weights[feature] = max(weights.get(feature, 0.0), weight)
            weight *= HISTORY_DECAY
        if conversation.latest_agent_message:
            for feature in features(conversation.latest_agent_message, synonyms):
                weights[feature] = max(weights.get(feature, 0.0), AGENT_MESSAGE_WEIGHT)
        latest_text = customer[-1] if customer else ""
        return cls(
            weights=weights,
            latest=features(latest_text, synonyms),
            latest_embedding=hashed_embedding(latest_text) if latest_text else (),
            window_embedding=hashed_embedding(" ".join(customer[-2:])) if customer else (),
        )


class ConditionIndex:
    """Features and IDF over one agent's conditions; reusable across turns of the same version."""

    def __init__(
        self,
        conditions: Mapping[str, str],
        synonyms: tuple[tuple[str, str], ...] = (),
        embeddings: Mapping[str, Sequence[float] | None] | None = None,
    ) -> None:
        self.synonyms = synonyms
        self.features = {key: features(text, synonyms) for key, text in conditions.items()}
        document_frequency: dict[str, int] = {}
        for found in self.features.values():
            for feature in found:
                document_frequency[feature] = document_frequency.get(feature, 0) + 1
        total = max(1, len(self.features))
        self.idf = {
            feature: math.log(1.0 + total / (1.0 + count))
            for feature, count in document_frequency.items()
        }
        self.embeddings: dict[str, tuple[float, ...]] = {}
        for key, text in conditions.items():
            stored = (embeddings or {}).get(key)
            # A stored vector from another embedder (other dimensions) cannot be compared with
            # the local query vector, so the local one is computed instead.
            if stored is not None and len(stored) == EMBEDDING_DIMENSIONS:
                self.embeddings[key] = tuple(stored)
            else:
                self.embeddings[key] = hashed_embedding(text)

    def score(self, key: str, signals: ConversationSignals) -> ConditionScore:
        found = self.features.get(key, frozenset())
        if not found:
            return ConditionScore(key=key, score=0.0, latest_score=0.0)
        total = sum(self.idf.get(feature, 1.0) for feature in found)
        window = sum(self.idf.get(f, 1.0) * signals.weights.get(f, 0.0) for f in found) / total
        latest = sum(self.idf.get(f, 1.0) for f in found if f in signals.latest) / total
        similarity = 0.0
        if signals.window_embedding:
            similarity = max(0.0, cosine(self.embeddings[key], signals.window_embedding))
        combined = (1.0 - EMBEDDING_WEIGHT) * window + EMBEDDING_WEIGHT * similarity
        shared = tuple(sorted(f for f in found if signals.weights.get(f, 0.0) > 0))
        return ConditionScore(
            key=key, score=round(combined, 4), latest_score=round(latest, 4), shared_features=shared
        )

    def score_all(self, signals: ConversationSignals) -> dict[str, ConditionScore]:
        return {key: self.score(key, signals) for key in self.features}


def condition_embedding(text: str) -> tuple[float, ...]:
    """The vector to store in Guideline.condition_embedding when a guideline is saved."""
    return hashed_embedding(text)


def local_applies(
    *,
    criticality: Criticality,
    score: float,
    latest_score: float,
    was_applied_before: bool,
    is_continuous: bool = False,
    is_customer_dependent: bool = False,
) -> bool:
    """The local provider's decision for one guideline.

    An action already carried out is repeated only when the latest message alone raises the
    condition again; continuous and customer-dependent actions keep applying while the
    conversation is on the topic (the customer may not have given their part yet).
    """
    threshold = MATCH_THRESHOLDS[criticality]
    if was_applied_before and not (is_continuous or is_customer_dependent):
        return latest_score >= max(threshold, REAPPLY_THRESHOLD)
    return score >= threshold


def select_llm_candidates(
    guidelines: Sequence[Guideline],
    scores: Mapping[str, ConditionScore],
    *,
    always_include: Iterable[str] = (),
    limit: int = MAX_LLM_CANDIDATES,
) -> list[Guideline]:
    """Pick the guidelines the judging call will see, best first, without any model call.

    Included: anything sharing a feature with the latest customer message (that is where new
    conditions come from), then the best-scoring rest above a floor, up to `limit`; plus
    `always_include` (continuous guidelines, ones matched last turn, HIGH criticality near the
    floor) even beyond the limit, since dropping them silently would change behaviour.
    """
    forced = set(always_include)
    ranked = sorted(
        guidelines,
        key=lambda g: (
            -(scores[g.id].latest_score > 0),
            -(scores[g.id].score + (0.1 if g.criticality == Criticality.HIGH else 0.0)),
            g.id,
        ),
    )
    chosen: list[Guideline] = []
    for guideline in ranked:
        score = scores[guideline.id]
        if guideline.id in forced:
            chosen.append(guideline)
        elif len([g for g in chosen if g.id not in forced]) < limit and (
            score.latest_score > 0 or score.score >= LLM_CANDIDATE_FLOOR
        ):
            chosen.append(guideline)
    return chosen
