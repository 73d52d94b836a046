"""Glossary: which terms a turn needs, and term synonyms as matching features."""

from __future__ import annotations

from collections.abc import Sequence

from engine.text import features, stem, words
from engine.types import Term

MAX_TERMS_IN_PROMPT = 10


def synonym_features(terms: Sequence[Term]) -> tuple[tuple[str, str], ...]:
    """(word or phrase, feature) pairs: a term's name and synonyms all become one feature.

    "APR" and "annual percentage rate" then count as the same thing in a condition and a message.
    The result is a tuple so that feature extraction can cache on it.
    """
    pairs: list[tuple[str, str]] = []
    for term in terms:
        canonical = f"~term:{term.id}"
        for spelling in (term.name, *term.synonyms):
            tokens = words(spelling)
            if not tokens:
                continue
            if len(tokens) == 1:
                pairs.append((tokens[0], canonical))
                pairs.append((stem(tokens[0]), canonical))
            else:
                pairs.append((" ".join(tokens), canonical))
    return tuple(dict.fromkeys(pairs))


def relevant_terms(terms: Sequence[Term], texts: Sequence[str]) -> list[Term]:
    """Terms whose name or a synonym occurs in `texts` (recent messages, matched behaviour)."""
    if not terms:
        return []
    synonyms = synonym_features(terms)
    found: set[str] = set()
    for text in texts:
        found |= features(text, synonyms)
    chosen = [term for term in terms if f"~term:{term.id}" in found]
    return chosen[:MAX_TERMS_IN_PROMPT]
