"""Which conditions the judging call sees: recall first, by meaning, within a token budget.

A model can only match a guideline it is shown, so narrowing must not drop what applies.
Conditions are short (a guideline line costs ~30 prompt tokens), so while every guideline and
journey fits `CANDIDATE_TOKEN_BUDGET` all of them are judged and nothing is narrowed away.
Beyond the budget they are ranked by the cosine of their stored vector (computed when the
behaviour was saved, never per turn) with the conversation's, and the cut is adaptive: every
condition that stands out among the agent's conditions for something the customer said
(`RELEVANCE_FLOOR`), at least `MIN_RANKED_CANDIDATES`, while the budget lasts. Continuous
guidelines, ones waiting on the customer and ones of an active journey are always judged.

The engine's lexical score does not rank here: its stemmer and stopwords were written against a
word-overlap benchmark. It is the fallback only when the embedding call fails.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from engine.ports import NLPService
from engine.text import estimate_tokens
from engine.types import AgentSnapshot, Guideline, Journey

logger = logging.getLogger(__name__)

# Prompt tokens the candidate guidelines and journeys may take in the judging call. With the
# rest of a turn (~1.5k tokens for the judging call's context and the reply) it keeps a turn
# under 6k tokens: an agent of up to ~130 guidelines is judged whole, a bigger one by meaning.
CANDIDATE_TOKEN_BUDGET = 4_000
# Beyond the budget: conditions whose relevance (standard deviations above the agent's other
# conditions, see Similarities) reaches this are judged. On 600 of CLINC150's `train` rows
# (150 intents, one condition each) with multilingual-e5-small, 0.25 keeps the right condition
# for 99.7 % of in-scope messages while keeping about a third of the conditions; 0.5 kept
# 99.2 %, 1.0 only 98 %. Reported on data kept apart by bench/matching_quality.py.
RELEVANCE_FLOOR = 0.25
# ...and never fewer than this many by rank, for messages whose best match is spuriously high.
MIN_RANKED_CANDIDATES = 24
# Vectors the engine had to compute itself (conditions saved before the model changed, tests
# building snapshots by hand), per (model, text); a few MB at 384 dimensions.
_VECTOR_CACHE_SIZE = 20_000
_VECTOR_CACHE: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_MATRIX_CACHE: OrderedDict[tuple[str, str, int], ConditionMatrix] = OrderedDict()
_MATRIX_CACHE_SIZE = 32


def embedding_model_of(nlp: NLPService) -> str:
    return getattr(nlp, "embedding_model", "") or getattr(nlp, "name", "")


@dataclass(frozen=True)
class ConditionMatrix:
    """Unit vectors of one agent version's conditions, one row per key."""

    keys: tuple[str, ...]
    vectors: np.ndarray  # shape (len(keys), dimensions)


def _unit(vector: Sequence[float]) -> np.ndarray:
    array = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(array))
    return array / norm if norm else array


def stored_vectors(snapshot: AgentSnapshot, keys_by_text: Mapping[str, str]) -> dict[str, Any]:
    """Condition vectors the snapshot carries, by condition key (see engine.journeys for keys)."""
    from engine.journeys import activation_key

    vectors: dict[str, Any] = {}
    for guideline in snapshot.guidelines:
        if guideline.condition_embedding:
            vectors[guideline.id] = guideline.condition_embedding
    for journey in snapshot.journeys:
        for position, vector in enumerate(journey.condition_embeddings or ()):
            vectors[activation_key(journey, position)] = vector
    return {key: vector for key, vector in vectors.items() if key in keys_by_text.values()}


async def condition_matrix(
    nlp: NLPService, snapshot: AgentSnapshot, conditions: Mapping[str, str]
) -> ConditionMatrix:
    """The vectors of `conditions` ({key: text}) for `nlp`'s embedding model.

    Stored vectors are used when the snapshot's model is the service's; any other condition is
    embedded once per process (one batched call) and kept, so a turn embeds only the customer's
    words once the agent's conditions are known.
    """
    model = embedding_model_of(nlp)
    cache_key = (snapshot.agent.id, model, hash((snapshot.version, tuple(conditions.items()))))
    if cache_key in _MATRIX_CACHE:
        _MATRIX_CACHE.move_to_end(cache_key)
        return _MATRIX_CACHE[cache_key]
    stored = (
        stored_vectors(snapshot, {text: key for key, text in conditions.items()})
        if snapshot.embedding_model == model
        else {}
    )
    rows: dict[str, np.ndarray] = {key: _unit(vector) for key, vector in stored.items()}
    missing = sorted(
        {text for key, text in conditions.items() if key not in rows}
        - {text for (cached_model, text) in _VECTOR_CACHE if cached_model == model}
    )
    if missing:
        for text, vector in zip(missing, await nlp.embed(missing), strict=True):
            _VECTOR_CACHE[(model, text)] = _unit(vector)
            if len(_VECTOR_CACHE) > _VECTOR_CACHE_SIZE:
                _VECTOR_CACHE.popitem(last=False)
    for key, text in conditions.items():
        if key not in rows:
            rows[key] = _VECTOR_CACHE[(model, text)]
    keys = tuple(conditions)
    dimensions = {rows[key].shape[0] for key in keys}
    if len(dimensions) > 1:  # stored vectors of another size: embed those conditions again
        size = max(dimensions, key=lambda d: sum(rows[k].shape[0] == d for k in keys))
        odd = [key for key in keys if rows[key].shape[0] != size]
        for key, vector in zip(odd, await nlp.embed([conditions[k] for k in odd]), strict=True):
            rows[key] = _unit(vector)
    matrix = ConditionMatrix(
        keys=keys,
        vectors=np.vstack([rows[key] for key in keys]) if keys else np.zeros((0, 1)),
    )
    _MATRIX_CACHE[cache_key] = matrix
    if len(_MATRIX_CACHE) > _MATRIX_CACHE_SIZE:
        _MATRIX_CACHE.popitem(last=False)
    return matrix


# Sentence ends: a message often says two things ("Good morning! I'd like to borrow money."),
# and each sentence is compared on its own as well, so the smaller one is not drowned out.
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")
MAX_SENTENCE_VIEWS = 4


def message_views(customer_messages: Sequence[str]) -> list[str]:
    """The texts compared with the conditions: the latest message, each of its sentences (when
    it has several), and the latest two messages together (a reply such as "fifteen grand
    should cover it" carries its topic from the message before)."""
    recent = [text.strip() for text in customer_messages[-2:] if text.strip()]
    if not recent:
        return []
    views = [recent[-1]]
    sentences = [part for part in _SENTENCE_END.split(recent[-1]) if part.strip()]
    if len(sentences) > 1:
        views += sentences[:MAX_SENTENCE_VIEWS]
    if len(recent) > 1:
        views.append(" ".join(recent))
    return views


@dataclass(frozen=True)
class Similarities:
    """Per condition key: `cosine`, the best cosine over the message views; `relevance`, the
    best over the views of how many standard deviations the condition stands above the
    agent's other conditions for that view. Sentence models give every "the customer ..."
    condition a similar cosine; standing out among the agent's own conditions is what
    separates the one meant, and taking it per view gives each thing the customer says its
    own candidates."""

    cosine: Mapping[str, float] = field(default_factory=dict)
    relevance: Mapping[str, float] = field(default_factory=dict)


async def conversation_similarities(
    nlp: NLPService, matrix: ConditionMatrix, customer_messages: Sequence[str]
) -> Similarities:
    """The conditions against `message_views`, all embedded in one call."""
    views = message_views(customer_messages)
    if not views or not matrix.keys:
        return Similarities()
    queries = np.vstack([_unit(vector) for vector in await nlp.embed(views)])
    if queries.shape[1] != matrix.vectors.shape[1]:
        raise ValueError(
            f"The embedding model returned {queries.shape[1]} dimensions for the conversation "
            f"and {matrix.vectors.shape[1]} for the conditions."
        )
    cosines = queries @ matrix.vectors.T  # (views, conditions)
    spread = cosines.std(axis=1, keepdims=True)
    standing = (cosines - cosines.mean(axis=1, keepdims=True)) / np.where(spread > 0, spread, 1)
    return Similarities(
        cosine={
            key: round(float(value), 4)
            for key, value in zip(matrix.keys, cosines.max(axis=0), strict=True)
        },
        relevance={
            key: round(float(value), 4)
            for key, value in zip(matrix.keys, standing.max(axis=0), strict=True)
        },
    )


@lru_cache(maxsize=4096)
def _line_tokens(text: str) -> int:
    return estimate_tokens(text)


def guideline_cost(guideline: Guideline) -> int:
    """Tokens of the guideline's line in the judging prompt (engine/prompts.py's shape)."""
    return _line_tokens(f"[g000] condition: {guideline.condition} | action: {guideline.action}")


def journey_cost(journey: Journey) -> int:
    parts = [journey.title, journey.description, *journey.conditions]
    parts += [state.action or state.description for state in journey.states]
    parts += [transition.condition for transition in journey.transitions]
    # Each state and transition line also carries ids and labels.
    return _line_tokens(" ".join(parts)) + 8 * (len(journey.states) + len(journey.transitions))


@dataclass
class Narrowing:
    """The turn's ranking of conditions, and what it chose; kept in the turn's trace."""

    similarities: Mapping[str, float]  # relevance by key (see Similarities)
    cosines: Mapping[str, float] = field(default_factory=dict)
    fallback_scores: Mapping[str, float] = field(default_factory=dict)  # lexical, if no vectors
    budget: int = CANDIDATE_TOKEN_BUDGET
    judges_all: bool = False
    cut: float | None = None

    @classmethod
    def build(
        cls,
        snapshot: AgentSnapshot,
        similarities: Similarities,
        fallback_scores: Mapping[str, float],
        budget: int = CANDIDATE_TOKEN_BUDGET,
    ) -> Narrowing:
        total = sum(guideline_cost(g) for g in snapshot.guidelines)
        total += sum(journey_cost(j) for j in snapshot.journeys)
        relevance = similarities.relevance
        if len(set(similarities.cosine.values())) <= 1:
            relevance = {}  # no vectors, or vectors that tell conditions apart by nothing
        narrowing = cls(
            relevance,
            cosines=similarities.cosine if relevance else {},
            fallback_scores=fallback_scores if not relevance else {},
            budget=budget,
        )
        narrowing.judges_all = total <= budget
        if relevance and not narrowing.judges_all:
            narrowing.cut = RELEVANCE_FLOOR
        elif fallback_scores and not narrowing.judges_all:
            narrowing.cut = 1e-9  # by words: anything sharing some evidence
        return narrowing

    def _scores(self) -> Mapping[str, float]:
        return self.similarities or self.fallback_scores

    def score(self, key: str) -> float:
        return self._scores().get(key, 0.0)

    def is_close(self, key: str) -> bool:
        return self.judges_all or self.cut is None or self.score(key) >= self.cut

    def journeys(
        self, journeys: Sequence[Journey], active_ids: Iterable[str], activation_keys: Any
    ) -> list[Journey]:
        """Active journeys, and those with an activation condition close to the best match."""
        active = set(active_ids)
        return [
            journey
            for journey in journeys
            if journey.id in active
            or self.judges_all
            or any(self.is_close(key) for key in activation_keys(journey))
        ]

    def guidelines(
        self,
        guidelines: Sequence[Guideline],
        *,
        always_include: Iterable[str] = (),
        spent: int = 0,
    ) -> list[Guideline]:
        """The guidelines to judge, best first. `spent`: tokens the chosen journeys take."""
        forced = set(always_include)
        ranked = sorted(guidelines, key=lambda g: (-self.score(g.id), g.id))
        if self.judges_all:
            return ranked
        chosen = [g for g in ranked if g.id in forced]
        spent += sum(guideline_cost(g) for g in chosen)
        by_rank = 0
        for guideline in ranked:
            if guideline.id in forced:
                continue
            if by_rank >= MIN_RANKED_CANDIDATES and not self.is_close(guideline.id):
                break
            cost = guideline_cost(guideline)
            if spent + cost > self.budget:
                break
            chosen.append(guideline)
            spent += cost
            by_rank += 1
        return sorted(chosen, key=lambda g: (-self.score(g.id), g.id))

    def trace(self) -> dict[str, Any]:
        return {
            "by": "meaning" if self.similarities else "words (no embeddings)",
            "judges_all": self.judges_all,
            "budget_tokens": self.budget,
            "cut": self.cut,
        }


async def rank_conditions(
    nlp: NLPService,
    snapshot: AgentSnapshot,
    customer_messages: Sequence[str],
    fallback_scores: Mapping[str, float],
) -> Narrowing:
    """The turn's Narrowing: one embedding call for the customer's words (plus, once per agent
    version, any condition without a stored vector for this model)."""
    from engine.journeys import activation_key

    conditions = {g.id: g.condition for g in snapshot.guidelines}
    # An author's example customer messages rank their condition too: each is one more row,
    # folded back into its condition's key (the best of the condition and its examples).
    examples: dict[str, str] = {}
    for guideline in snapshot.guidelines:
        for number, example in enumerate(guideline.examples):
            examples[f"{guideline.id}{EXAMPLE_KEY_MARK}{number}"] = example
    for journey in snapshot.journeys:
        for position, condition in enumerate(journey.conditions):
            key = activation_key(journey, position)
            conditions[key] = condition
            group = journey.condition_examples[position] if journey.condition_examples else ()
            for number, example in enumerate(group):
                examples[f"{key}{EXAMPLE_KEY_MARK}{number}"] = example
    try:
        matrix = await condition_matrix(nlp, snapshot, {**conditions, **examples})
        similarities = _folded(await conversation_similarities(nlp, matrix, customer_messages))
    except Exception:  # a provider failure must not end the turn: rank by words instead
        logger.warning("Embedding failed; candidates are ranked by shared words.", exc_info=True)
        similarities = Similarities()
    return Narrowing.build(snapshot, similarities, fallback_scores)


EXAMPLE_KEY_MARK = "\x1fexample:"


def _folded(similarities: Similarities) -> Similarities:
    """Example rows merged into their condition's key, keeping the best of each."""

    def fold(scores: Mapping[str, float]) -> dict[str, float]:
        folded: dict[str, float] = {}
        for key, score in scores.items():
            base = key.split(EXAMPLE_KEY_MARK, 1)[0]
            folded[base] = max(score, folded.get(base, score))
        return folded

    return Similarities(cosine=fold(similarities.cosine), relevance=fold(similarities.relevance))
