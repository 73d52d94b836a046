"""The reference scenario's decision rule: what its scripted model decides, word by word.

From `decision_rule.description` in reference_scenario.json: a condition holds when it shares at
least one content word with the latest customer message. Content words are alphanumeric runs of
length > 1, lower-cased, not stopwords, stemmed by stripping the first matching suffix of
ments/ment/ing/ed/es/s (keeping a stem of at least 4/4/3/3/4/3 characters; 's' not after 'ss'),
then dropping one letter of a doubled final letter when the word is longer than 3 and that letter
is not a vowel, l or s.

Two readings are fixed here because the text allows both: a suffix whose stem would be too short
does not match, so the next suffix is tried ("uses" -> "use"); and "the word" of the doubled-letter
rule is the stemmed word ("running" -> "runn" -> "run", "eggs" -> "egg"). On the scenario's own
texts the other readings give the same decisions (tests/engine/test_turn_cost_bench.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

# (suffix, shortest stem it may leave), tried in this order; the first that fits is stripped.
SUFFIXES: tuple[tuple[str, int], ...] = (
    ("ments", 4),
    ("ment", 4),
    ("ing", 3),
    ("ed", 3),
    ("es", 4),
    ("s", 3),
)
UNDOUBLED_LETTERS = frozenset("aeiouls")
TOKEN_PATTERN = re.compile(r"[a-z0-9]+")


def stem(word: str) -> str:
    for suffix, shortest in SUFFIXES:
        if not word.endswith(suffix) or len(word) - len(suffix) < shortest:
            continue
        if suffix == "s" and word.endswith("ss"):
            continue
        word = word[: -len(suffix)]
        break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in UNDOUBLED_LETTERS:
        word = word[:-1]
    return word


@dataclass(frozen=True)
class ContentWord:
    surface: str  # as written, lower-cased: what a tool argument is filled with
    stem: str  # what conditions are compared on


class DecisionRule:
    def __init__(
        self, stopwords: Collection[str], stemmer: Callable[[str], str] | None = None
    ) -> None:
        self.stopwords = frozenset(word.lower() for word in stopwords)
        self.stem = stemmer or stem

    def content_words(self, text: str) -> list[ContentWord]:
        return [
            ContentWord(surface=token, stem=self.stem(token))
            for token in TOKEN_PATTERN.findall(text.lower())
            if len(token) > 1 and token not in self.stopwords
        ]

    def stems(self, text: str) -> frozenset[str]:
        return frozenset(word.stem for word in self.content_words(text))

    def shared(self, condition: str, message: str) -> list[str]:
        """The content words (stems) that `condition` shares with `message`, sorted."""
        return sorted(self.stems(condition) & self.stems(message))

    def holds(self, condition: str, message: str) -> bool:
        return bool(self.shared(condition, message))

    def value_words(
        self,
        message: str,
        *,
        parameter_name: str,
        parameter_type: str,
        hints: Iterable[str],
        name_words: Iterable[str],
    ) -> list[str]:
        """The content words of `message` that look like a value of the parameter, in order.

        "Look like the value" is read as: for a numeric parameter (a number type, or a name
        about an amount, a number, digits or an id), the content words containing a digit; for
        any other, the content words the tool's own description or the parameter's description
        or choices mention (e.g. "checking" for an account type "checking or savings"), except
        words that merely name the tool or the parameter ("account", "balance"); words written
        exactly as there win over words that only share the stem.
        """
        words = self.content_words(message)
        if is_numeric_parameter(parameter_name, parameter_type):
            return [word.surface for word in words if any(ch.isdigit() for ch in word.surface)]
        hint_words = [word for text in hints for word in self.content_words(text)]
        naming = {word.stem for text in name_words for word in self.content_words(text)}
        candidates = [word for word in words if word.stem not in naming]
        # A word written as the description writes it ("checking") beats one that only shares
        # its stem ("check" the verb, in "check my checking account").
        verbatim = {word.surface for word in hint_words}
        exact = [word.surface for word in candidates if word.surface in verbatim]
        if exact:
            return list(dict.fromkeys(exact))
        stems = {word.stem for word in hint_words}
        return list(dict.fromkeys(word.surface for word in candidates if word.stem in stems))


NUMERIC_NAME_WORDS = frozenset({"amount", "number", "four", "digits", "id", "count", "quantity"})


def is_numeric_parameter(name: str, type_name: str) -> bool:
    return type_name in ("integer", "number") or bool(
        NUMERIC_NAME_WORDS & set(re.split(r"[_\W]+", name.lower()))
    )
