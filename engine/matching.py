"""Guideline matching: cheap local scoring narrows the candidates, one judgement decides.

Scoring needs no model. Every condition (guideline, journey activation, journey transition) is
scored against the conversation: IDF-weighted overlap of stemmed and concept features, with the
latest customer message weighted highest, plus a hashed-embedding cosine. With the local provider
the score *is* the judgement (a threshold per criticality); with an LLM provider the scores only
pick which conditions the single judging call sees.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from engine.text import (
    EMBEDDING_DIMENSIONS,
    affirmed,
    feature_groups,
    features,
    hashed_embedding,
)
from engine.types import (
    Criticality,
    EventKind,
    EventSource,
    SessionEvent,
)

# Weight of each earlier customer message relative to the one after it: the latest message
# decides, but a topic raised two messages ago still counts for an ongoing conversation.
HISTORY_DECAY = 0.45
# A condition about what the customer has done so far ("has already provided their email") is
# about the whole window, not mostly the latest message.
STATE_CONDITION = re.compile(
    r"\bhas\s+(?:already\s+)?(?:provided|given|shared|mentioned|told|stated|entered|"
    r"confirmed|chosen|selected|said|explained|described)\b",
    re.IGNORECASE,
)
# An answer that carries none of the agent's conditions ("next Tuesday, in the morning") goes on
# with the topic before it, so earlier messages then weigh this much per step instead.
CONTINUATION_DECAY = 0.8
# The latest message "carries" a condition when its own score for it reaches this.
CONTINUATION_CEILING = 0.3
# Acts of speech are about the message they are in: a greeting two messages ago is not a
# greeting now, while a loan mentioned two messages ago is still the topic.
MOMENTARY_FEATURES = frozenset({"~greet", "~thank", "~farewell", "~agree", "~decline"})
HISTORY_WINDOW = 6
AGENT_MESSAGE_WEIGHT = 0.25  # conditions rarely hinge on what the agent said; a little context
EMBEDDING_WEIGHT = 0.15
# Evidence (IDF mass of the matched features) at which a condition counts as fully evidenced:
# about one rare word plus one common one.
EVIDENCE_SATURATION = 3.0
MIN_IDF_CORPUS = 20

# Lexical score at which the local journey rules (engine/journeys.py) count a condition as
# raised. Guidelines and journey starts are decided by meaning (engine/nlp/local/decision.py);
# these values were once chosen on the hand-written cases that now judge that decision, so they
# carry no measured accuracy of their own.
MATCH_THRESHOLDS: Mapping[Criticality, float] = {
    Criticality.HIGH: 0.45,
    Criticality.MEDIUM: 0.52,
    Criticality.LOW: 0.65,
}


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
    # The same window with every message at full weight, and with continuation decay.
    state_weights: dict[str, float] = field(default_factory=dict)
    continuation_weights: dict[str, float] = field(default_factory=dict)
    latest: frozenset[str] = frozenset()
    latest_embedding: tuple[float, ...] = ()
    window_embedding: tuple[float, ...] = ()
    is_latest_a_question: bool = True
    is_latest_an_information_question: bool = False

    @property
    def sparse_window_embedding(self) -> dict[int, float]:
        if not hasattr(self, "_sparse_window"):
            self._sparse_window = _sparse(self.window_embedding)
        return self._sparse_window

    @classmethod
    def build(
        cls, conversation: Conversation, synonyms: tuple[tuple[str, str], ...] = ()
    ) -> ConversationSignals:
        # What the customer says they do not mean is no evidence for it.
        customer = [affirmed(text) for text in conversation.customer_messages[-HISTORY_WINDOW:]]
        agent_features = (
            features(conversation.latest_agent_message, synonyms)
            if conversation.latest_agent_message
            else frozenset()
        )
        decayed = {
            decay: _window_weights(customer, agent_features, decay, synonyms)
            for decay in (HISTORY_DECAY, CONTINUATION_DECAY, 1.0)
        }
        weights = decayed[HISTORY_DECAY]
        latest_text = customer[-1] if customer else ""
        return cls(
            weights=weights,
            state_weights=decayed[1.0],
            continuation_weights=decayed[CONTINUATION_DECAY],
            latest=features(latest_text, synonyms),
            latest_embedding=hashed_embedding(latest_text) if latest_text else (),
            window_embedding=hashed_embedding(" ".join(customer[-2:])) if customer else (),
            is_latest_a_question=is_question(latest_text),
            is_latest_an_information_question=bool(INFORMATION_QUESTION.search(latest_text)),
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
        self.groups = {key: feature_groups(text, synonyms) for key, text in conditions.items()}
        self.expects_question = {
            key: bool(QUESTION_CONDITION.search(text)) for key, text in conditions.items()
        }
        self.is_about_state = {
            key: bool(STATE_CONDITION.search(text)) for key, text in conditions.items()
        }
        self.expects_question_form = {
            key: bool(QUESTION_FORM_CONDITION.search(text)) for key, text in conditions.items()
        }
        self.expects_request = {
            key: not self.expects_question[key] and bool(REQUEST_CONDITION.search(text))
            for key, text in conditions.items()
        }
        document_frequency: dict[str, int] = {}
        for groups in self.groups.values():
            for feature in frozenset().union(*groups) if groups else ():
                document_frequency[feature] = document_frequency.get(feature, 0) + 1
        # A small agent (one or two guidelines) would otherwise give every word a tiny IDF and
        # no condition could ever gather enough evidence.
        # feature -> conditions containing it, so a turn scores only conditions that share a
        # feature with the conversation; the rest score zero without being visited.
        self.keys_by_feature: dict[str, set[str]] = {}
        for key, groups in self.groups.items():
            for group in groups:
                for feature in group:
                    self.keys_by_feature.setdefault(feature, set()).add(key)
        total = max(MIN_IDF_CORPUS, len(self.groups))
        self.idf = {
            feature: math.log(1.0 + total / (1.0 + count))
            for feature, count in document_frequency.items()
        }
        # Sparse {dimension: value}: hashed vectors have a few dozen non-zero entries, so a dot
        # product over the query's entries is ~10x faster than over all dimensions.
        self.embeddings: dict[str, dict[int, float]] = {}
        for key, text in conditions.items():
            stored = (embeddings or {}).get(key)
            # A stored vector from another embedder (other dimensions) cannot be compared with
            # the local query vector, so the local one is computed instead.
            if stored is None or len(stored) != EMBEDDING_DIMENSIONS:
                stored = hashed_embedding(text)
            self.embeddings[key] = _sparse(stored)

    def score(
        self, key: str, signals: ConversationSignals, *, is_continuation: bool = False
    ) -> ConditionScore:
        groups = self.groups.get(key, ())
        if not groups:
            return ConditionScore(key=key, score=0.0, latest_score=0.0)
        window = signals.weights
        if self.is_about_state.get(key):
            window = signals.state_weights
        elif is_continuation:
            window = signals.continuation_weights
        total = window_mass = latest_mass = 0.0
        shared: list[str] = []
        is_contradicted = False
        for group in groups:
            if not group & signals.latest and any(
                signals.latest & CONTRASTS.get(feature, frozenset()) for feature in group
            ):
                is_contradicted = True
            weight = max(self.idf.get(feature, 1.0) for feature in group)
            total += weight
            seen = max(window.get(feature, 0.0) for feature in group)
            window_mass += weight * seen
            if group & signals.latest:
                latest_mass += weight
            if seen > 0:
                shared.extend(sorted(f for f in group if window.get(f, 0.0) > 0))
        combined = _evidence(window_mass / total, window_mass)
        similarity = 0.0
        # Without any shared feature the condition stays below every threshold and floor, so the
        # similarity would not change a decision; skipping it keeps 260 conditions cheap.
        if window_mass > 0 and signals.window_embedding and EMBEDDING_WEIGHT:
            vector = self.embeddings[key]
            query = signals.sparse_window_embedding
            similarity = max(0.0, sum(value * vector.get(i, 0.0) for i, value in query.items()))
        combined = (1.0 - EMBEDDING_WEIGHT) * combined + EMBEDDING_WEIGHT * similarity
        latest = _evidence(latest_mass / total, latest_mass)
        if self.expects_question.get(key) and not signals.is_latest_a_question:
            factor = (
                NOT_A_QUESTION_FORM_FACTOR
                if self.expects_question_form.get(key)
                else NOT_A_QUESTION_FACTOR
            )
            combined *= factor
            latest *= factor
        elif self.expects_request.get(key) and signals.is_latest_an_information_question:
            combined *= INFORMATION_QUESTION_FACTOR
            latest *= INFORMATION_QUESTION_FACTOR
        if is_contradicted:
            combined *= CONTRADICTED_FACTOR
            latest *= CONTRADICTED_FACTOR
        return ConditionScore(
            key=key,
            score=round(combined, 4),
            latest_score=round(latest, 4),
            shared_features=tuple(shared),
        )

    def score_all(self, signals: ConversationSignals) -> dict[str, ConditionScore]:
        """Every condition's score; the inverted index skips those sharing nothing.

        When the latest message carries no condition of its own, it is taken as a continuation
        ("next Tuesday, in the morning" after "I need to fly to Chicago") and the conditions are
        scored again with earlier messages weighing more.
        """
        scores = self._score_touched(signals, is_continuation=False)
        if signals.latest and all(s.latest_score < CONTINUATION_CEILING for s in scores.values()):
            scores = self._score_touched(signals, is_continuation=True)
        return scores

    def _score_touched(
        self, signals: ConversationSignals, *, is_continuation: bool
    ) -> dict[str, ConditionScore]:
        touched: set[str] = set()
        # Every window feature is in state_weights (at full weight), whatever `window` is.
        for feature in (*signals.state_weights, *signals.latest):
            touched |= self.keys_by_feature.get(feature, set())
        return {
            key: self.score(key, signals, is_continuation=is_continuation)
            if key in touched
            else ConditionScore(key=key, score=0.0, latest_score=0.0)
            for key in self.groups
        }


def _window_weights(
    customer: Sequence[str],
    agent_features: frozenset[str],
    decay: float,
    synonyms: tuple[tuple[str, str], ...],
) -> dict[str, float]:
    """Feature -> weight over the customer's recent messages, the latest at 1.0."""
    weights: dict[str, float] = {}
    weight = 1.0
    for age, text in enumerate(reversed(customer)):
        for feature in features(text, synonyms):
            if age and feature in MOMENTARY_FEATURES:
                continue
            weights[feature] = max(weights.get(feature, 0.0), weight)
        weight *= decay
    for feature in agent_features:
        weights[feature] = max(weights.get(feature, 0.0), AGENT_MESSAGE_WEIGHT)
    return weights


# "asks about / how / whether …" describes a question; "asks to speak with …" a request.
QUESTION_CONDITION = re.compile(
    r"\b(?:asks?|asking|inquires?|wonders?)\s+(?:about|how|what|whether|if|why|when|where|which|"
    r"who)\b",
    re.IGNORECASE,
)
QUESTION_OPENERS = re.compile(
    r"^\W*(?:\w+,\s*)?(what|which|who|whom|whose|when|where|why|how|can|could|would|will|"
    r"do|does|did|is|are|was|were|should|may|any)\b",
    re.IGNORECASE,
)
# A condition about the customer asking something fits a statement less well ("submit my loan
# application" is not asking how long an application takes).
NOT_A_QUESTION_FACTOR = 0.7
# "asks about the balance" is about a topic, and "just my balance" raises it; "asks where their
# order is" is about a question, and "my parcel is late!" is a complaint, not that question.
QUESTION_FORM_CONDITION = re.compile(
    r"\b(?:asks?|asking|inquires?|wonders?)\s+(?:how|what|whether|if|why|when|where|which|who)\b",
    re.IGNORECASE,
)
NOT_A_QUESTION_FORM_FACTOR = 0.55
# The reverse: a condition about wanting or doing something ("wants to submit an application",
# "reports a lost card") fits a question asking for information about it less well ("how long
# does an application take?", "what's your cancellation policy?"). "How do I …" and "can I …"
# ask for the thing itself, so they do not count as information questions.
REQUEST_CONDITION = re.compile(
    r"\b(?:wants?|would like|wishes|asks?\s+(?:to|for)|requests?|needs?\s+to|tries\s+to|"
    r"is\s+trying\s+to|reports?|disputes?|agrees?|declines?|accepts?)\b",
    re.IGNORECASE,
)
INFORMATION_QUESTION = re.compile(
    r"^\W*(?:(?:ok|okay|so|and|also|hi|hey|hello|but|well|sorry)\W+)*"
    r"(?:what|what's|whats|which|when|when's|why|who|how\s+(?:long|much|many|often|soon|fast|far))"
    r"\b",
    re.IGNORECASE,
)
INFORMATION_QUESTION_FACTOR = 0.6

# Opposite intents about the same thing: "cancel my appointment" shares the appointment with
# "wants to book an appointment" but asks for the opposite. When the latest message carries the
# opposite of a condition's feature and not the feature itself, the condition is contradicted.
_OPPOSITES = (
    ("~book", "~cancel"),
    ("~change", "~cancel"),
    ("open", "~close"),
    ("upgrad", "downgrad"),
    ("~agree", "~decline"),
    ("~lost", "~damage"),
    ("~buy", "~return"),
    ("~buy", "~refund"),
    ("~invite", "remov"),
    ("~export", "import"),
    ("~greet", "~farewell"),
    ("deposit", "withdraw"),
)
CONTRASTS: Mapping[str, frozenset[str]] = {
    feature: frozenset(
        other for pair in _OPPOSITES if feature in pair for other in pair if other != feature
    )
    for pair in _OPPOSITES
    for feature in pair
}
CONTRADICTED_FACTOR = 0.6


def _sparse(vector: Sequence[float]) -> dict[int, float]:
    """Non-zero entries of a unit vector (stored vectors are re-normalised to be safe)."""
    norm = math.sqrt(sum(value * value for value in vector)) or 1.0
    return {index: value / norm for index, value in enumerate(vector) if value}


def is_question(text: str) -> bool:
    return "?" in text or bool(QUESTION_OPENERS.search(text))


def _evidence(coverage: float, mass: float) -> float:
    """Half how much of the condition is present, half how much rare evidence there is.

    Coverage alone punishes long conditions ("asks about the APR or interest rate of a loan"
    against "what APR for 36 months?"); mass alone lets one common word carry a condition.
    """
    return 0.5 * coverage + 0.5 * min(1.0, mass / EVIDENCE_SATURATION)


def condition_embedding(text: str) -> tuple[float, ...]:
    """The vector to store in Guideline.condition_embedding when a guideline is saved."""
    return hashed_embedding(text)
