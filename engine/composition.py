"""Turning matched behaviour into the agent's reply text.

The LLM path is one composition call (prompts.compose_prompt). The local path, used by
LocalNLPService, writes the reply with rules: each matched action, written by an author in the
third person or the imperative ("offer a refreshing drink", "tell them to bring their licence",
"explain that financing is available from 3.9% APR"), becomes what a person at the counter would
say ("Would you like a refreshing drink?", "Please bring your licence.", "Financing is available
from 3.9% APR."). Facts come only from the action's own words, tool results, context variables
and the glossary; a missing tool argument is asked for once, in one question.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from engine.text import (
    MONTH_NAMES,
    WEEKDAY_NAMES,
    features,
    find_date,
    find_time,
    human_date,
    parse_iso_date,
    stem,
    words,
)

# ---------------------------------------------------------------------------------------------
# Person: an action speaks of the customer; the reply speaks to them.

CUSTOMER_NOUNS = r"(?:customer|user|client|caller|visitor|guest|shopper)"
# "the customer account" is "your account", not "you account".
NOUNS_AFTER_CUSTOMER = frozenset(
    {"service", "support", "care", "account", "accounts", "id", "number", "name", "record",
     "records", "profile", "details", "file", "portal", "data", "information", "history",
     "experience", "email", "address", "phone", "order", "orders"}
)  # fmt: skip
THIRD_PERSON_FIXES = {
    "is": "are", "was": "were", "has": "have", "does": "do", "doesn't": "don't",
    "isn't": "aren't", "wasn't": "weren't", "hasn't": "haven't",
}  # fmt: skip
ADVERBS = frozenset(
    {"always", "already", "still", "usually", "also", "just", "really", "only", "never", "often",
     "currently", "actually", "normally", "typically", "probably", "now"}
)  # fmt: skip
# "them" is the customer after these verbs and prepositions; elsewhere ("how to redeem them")
# it is usually a thing the action already named.
CUSTOMER_OBJECT_WORDS = frozenset(
    {"tell", "ask", "offer", "give", "send", "show", "remind", "thank", "greet", "help",
     "assist", "connect", "transfer", "let", "inform", "invite", "encourage", "advise", "direct",
     "refer", "guide", "walk", "assure", "reassure", "welcome", "notify", "update", "contact",
     "call", "email", "book", "sign", "wish", "congratulate", "address", "allow", "urge", "put",
     "get", "keep", "hand", "escalate", "to", "for", "with", "by", "route",
     "recommend", "suggest", "point", "request", "warn", "instruct", "teach"}
)  # fmt: skip


def _match_case(original: str, replacement: str) -> str:
    return replacement[0].upper() + replacement[1:] if original[:1].isupper() else replacement


def to_second_person(text: str) -> str:
    """ "tell them their order shipped" → "tell you your order shipped"; verbs agree."""
    text = re.sub(
        rf"\b(?:the|this|that)\s+{CUSTOMER_NOUNS}'s\b",
        lambda m: _match_case(m.group(0), "your"),
        text,
        flags=re.IGNORECASE,
    )

    def customer(match: re.Match[str]) -> str:
        following = match.group(2) or ""
        if following.lower() in NOUNS_AFTER_CUSTOMER:
            return _match_case(match.group(0), "your") + " " + following
        adverb = match.group(1) or ""
        return _match_case(match.group(0), "you") + " " + adverb + _agree(following)

    text = re.sub(
        rf"\b(?:the|this|that)\s+{CUSTOMER_NOUNS}\b\s*((?:{'|'.join(ADVERBS)})\s+)?([\w']+)?",
        customer,
        text,
        flags=re.IGNORECASE,
    )
    text = re.sub(
        r"\b(he or she|he/she|s/he)\s+([\w']+)",
        lambda m: _match_case(m.group(1), "you") + " " + _agree(m.group(2)),
        text,
        flags=re.IGNORECASE,
    )
    for pattern, replacement in (
        (r"\bhis or her\b|\bhis/her\b", "your"),
        (r"\bhim or her\b|\bhim/her\b", "you"),
        (r"\bthemselves\b|\bthemself\b", "yourself"),
        (r"\btheirs\b", "yours"),
        (r"\btheir\b", "your"),
        (r"\bthey're\b", "you're"),
        (r"\bthey've\b", "you've"),
        (r"\bthey'll\b", "you'll"),
        (r"\bthey'd\b", "you'd"),
        (r"\bthey\b", "you"),
    ):
        text = re.sub(
            pattern, lambda m, r=replacement: _match_case(m.group(0), r), text, flags=re.I
        )

    def them(match: re.Match[str]) -> str:
        before = match.group(1)
        is_customer = stem(before.lower()) in {stem(w) for w in CUSTOMER_OBJECT_WORDS}
        if is_customer or not _names_things_before(text[: match.start()]):
            return f"{before} {_match_case(match.group(2), 'you')}"
        return match.group(0)

    text = re.sub(r"\b([\w']+)\s+(them)\b", them, text, flags=re.IGNORECASE)
    return re.sub(r"^them\b", "you", text, flags=re.IGNORECASE)


def _names_things_before(text: str) -> bool:
    """Whether `text` names plural things "them" could stand for ("the reward points")."""
    return bool(
        re.search(
            r"\b(?:the|your|these|those|all|any|some|its|our|both)\s+(?:\w+\s+)?\w+[^s\W]s\b",
            text,
            re.IGNORECASE,
        )
    )


def _agree(verb: str) -> str:
    """The verb of a third-person subject, made to agree with "you" ("wants" → "want")."""
    lowered = verb.lower()
    if lowered in THIRD_PERSON_FIXES:
        return THIRD_PERSON_FIXES[lowered]
    if lowered in ("needs", "wants", "prefers", "likes", "asks", "says", "goes", "tries"):
        pass
    elif not re.fullmatch(r"[a-z]+s", lowered) or lowered.endswith(("ss", "us", "is", "'s")):
        return verb
    if lowered.endswith("ies") and len(lowered) > 4:
        return verb[:-3] + "y"
    if lowered.endswith(("sses", "shes", "ches", "xes", "zes", "oes")):
        return verb[:-2]
    return verb[:-1]


def address_customer(text: str) -> str:
    """The action's words addressed to the customer, without a final full stop."""
    return to_second_person(text).strip().rstrip(".")


# ---------------------------------------------------------------------------------------------
# Small grammar helpers.


def _capitalize(text: str) -> str:
    text = text.strip()
    return text[0].upper() + text[1:] if text else ""


def _lower_first(text: str) -> str:
    """Lower-case the first word unless it is an acronym or a name ("APR", "Aurora")."""
    text = text.strip()
    if not text:
        return text
    first = text.split()[0]
    if len(first) > 1 and (first.isupper() or any(c.isdigit() for c in first)):
        return text
    return text[0].lower() + text[1:]


def _sentence(text: str) -> str:
    text = _capitalize(text.strip().rstrip(" ,;:"))
    if not text:
        return ""
    return text if text[-1] in ".?!" else text + "."


def _question(text: str) -> str:
    text = _capitalize(text.strip().rstrip(" .?!,;:"))
    return text + "?" if text else ""


def _join_words(items: Sequence[str], conjunction: str = "and") -> str:
    items = [item for item in items if item]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


def _plural(noun: str) -> str:
    if noun.endswith(("s", "x", "ch", "sh", "z")):
        return noun + "es" if not noun.endswith("s") else noun
    if noun.endswith("y") and len(noun) > 2 and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def _is_plural_phrase(phrase: str) -> bool:
    tokens = words(phrase)
    if not tokens:
        return False
    if " and " in f" {phrase} ":
        return True
    head = tokens[-1]
    return head.endswith("s") and not head.endswith(("ss", "us", "is"))


IRREGULAR_PAST_PARTICIPLES = {
    "send": "sent", "make": "made", "set": "set", "put": "put", "find": "found", "get": "got",
    "give": "given", "take": "taken", "hold": "held", "pay": "paid", "leave": "left",
    "tell": "told", "run": "run", "buy": "bought", "bring": "brought", "write": "written",
    "do": "done", "begin": "begun", "freeze": "frozen", "reset": "reset", "forward": "forwarded",
    "hand": "handed", "shut": "shut", "lay": "laid", "keep": "kept", "show": "shown",
}  # fmt: skip
DOUBLING_VERBS = frozenset(
    {"stop", "plan", "ship", "drop", "submit", "transfer", "cancel", "refer", "admit", "commit",
     "permit", "prefer", "log", "tag", "flag", "chat", "top", "shop", "pin", "scan", "ban",
     "swap", "label", "travel", "model"}
)  # fmt: skip
IRREGULAR_PAST_TO_BASE = {
    "heard": "hear", "bought": "buy", "paid": "pay", "got": "get", "made": "make",
    "sent": "send", "saw": "see", "did": "do", "had": "have", "found": "find", "left": "leave",
    "came": "come", "went": "go", "took": "take", "chose": "choose", "lost": "lose",
    "gave": "give", "told": "tell", "said": "say", "thought": "think", "knew": "know",
    "wrote": "write", "spent": "spend", "drove": "drive", "ran": "run", "broke": "break",
}  # fmt: skip
# Base forms ending in "e" that strip_ing cannot otherwise tell from "discuss" or "offer".
E_VERBS = frozenset(
    {"make", "take", "give", "write", "quote", "state", "share", "provide", "promise", "use",
     "disclose", "compare", "guarantee", "speculate", "advise", "change", "charge", "close",
     "create", "decide", "describe", "diagnose", "estimate", "issue", "leave", "move", "note",
     "place", "prescribe", "price", "receive", "release", "remove", "save", "schedule", "serve",
     "store", "update", "operate", "argue", "continue", "judge", "manage", "engage", "combine",
     "bundle", "waive", "reserve", "raise", "rate", "score", "hire", "ignore", "imagine",
     "assume", "blame", "debate", "joke", "recite", "overpromise", "promote", "introduce",
     "produce", "reduce", "require"}
)  # fmt: skip


def past_participle(verb: str) -> str:
    lowered = verb.lower()
    if lowered in IRREGULAR_PAST_PARTICIPLES:
        return IRREGULAR_PAST_PARTICIPLES[lowered]
    if lowered in DOUBLING_VERBS:
        return lowered + lowered[-1] + "ed"
    if lowered.endswith("e"):
        return lowered + "d"
    if lowered.endswith("y") and len(lowered) > 2 and lowered[-2] not in "aeiou":
        return lowered[:-1] + "ied"
    return lowered + "ed"


def base_of_past(verb: str) -> str | None:
    """ "heard" → "hear", "ordered" → "order"; None when `verb` does not look like a past."""
    lowered = verb.lower()
    if lowered in IRREGULAR_PAST_TO_BASE:
        return IRREGULAR_PAST_TO_BASE[lowered]
    if not lowered.endswith("ed") or len(lowered) < 5:
        return None
    if lowered.endswith("ied"):
        return lowered[:-3] + "y"
    root = lowered[:-2]
    if len(root) > 2 and root[-1] == root[-2] and root[-1] not in "lsz":
        return root[:-1]
    if root + "e" in E_VERBS:
        return root + "e"
    return root


def strip_ing(verb: str) -> str:
    lowered = verb.lower()
    if not lowered.endswith("ing") or len(lowered) < 5:
        return lowered
    root = lowered[:-3]
    if root + "e" in E_VERBS:
        return root + "e"
    if len(root) > 2 and root[-1] == root[-2] and root[-1] not in "lsz":
        return root[:-1]
    return root


# ---------------------------------------------------------------------------------------------
# Questions: an author writes "ask which model they would like"; the customer reads "Which model
# would you like?".

WH_WORDS = frozenset({"what", "which", "how", "when", "where", "who", "whom", "whose", "why"})
AUXILIARIES = frozenset(
    {"would", "will", "can", "could", "should", "shall", "may", "might", "must", "are", "were",
     "am", "do", "does", "did", "is", "was"}
)  # fmt: skip
PERFECT_AUXILIARIES = frozenset({"have", "has", "had"})
# "you" after these is an object ("which time works for you"), not the subject to invert.
WORDS_BEFORE_AN_OBJECT = frozenset(
    {"for", "to", "with", "at", "in", "on", "about", "by", "from", "of", "and", "or", "help",
     "suits", "suit", "fits", "fit", "works", "work", "than"}
)  # fmt: skip
NOT_A_VERB_AFTER_SUBJECT = frozenset(
    {"best", "better", "most", "more", "well", "too", "also", "there", "here", "now", "today",
     "and", "or", "so", "to", "for", "with", "at", "in", "on", "by", "from"}
)  # fmt: skip
SUBJECTS = frozenset({"you", "we", "i"})


def _is_participle(word: str) -> bool:
    lowered = word.lower()
    return lowered.endswith(("ed", "en", "wn", "ne")) or lowered in {
        "been", "got", "had", "made", "done", "seen", "sent", "paid", "bought", "heard", "found",
        "received", "tried", "chosen", "decided",
    }  # fmt: skip


def direct_question(clause: str) -> str:
    """An embedded question made direct: "which model you would like" → "Which model would you
    like?", "whether you have an account" → "Do you have an account?". Falls back to "Could you
    tell me …?" where the word order cannot be worked out safely."""
    clause = clause.strip().rstrip(".?!")
    tokens = clause.split()
    if not tokens:
        return ""
    first = tokens[0].lower()
    if first in ("whether", "if"):
        rest = tokens[1:]
        if rest and rest[-2:] == ["or", "not"]:
            rest = rest[:-2]
        inverted = _invert(rest)
        return (
            _question(" ".join(inverted)) if inverted else _question(f"Could you tell me {clause}")
        )
    if first not in WH_WORDS:
        return _question(clause)
    for position in range(1, len(tokens)):
        if tokens[position].lower() not in SUBJECTS or position + 1 >= len(tokens):
            continue
        if tokens[position - 1].lower() in WORDS_BEFORE_AN_OBJECT:
            continue
        following = tokens[position + 1].lower().strip(",:")
        if following in NOT_A_VERB_AFTER_SUBJECT:
            continue
        inverted = _invert(tokens[position:])
        if inverted:
            return _question(" ".join([*tokens[:position], *inverted]))
    # "what your order number is" → "What is your order number?"
    if len(tokens) > 2 and tokens[-1].lower() in ("is", "are", "was", "were"):
        return _question(" ".join([tokens[0], tokens[-1], *tokens[1:-1]]))
    return _question(clause)


def _invert(tokens: Sequence[str]) -> list[str] | None:
    """[you, would, like, X] → [would, you, like, X]; [you, need, X] → [do, you, need, X]."""
    if len(tokens) < 2:
        return None
    subject = tokens[0]
    if subject.lower() not in SUBJECTS:
        # A noun-phrase subject ("your order has arrived"): invert at its auxiliary only.
        for position in range(1, min(len(tokens), 6)):
            word = tokens[position].lower()
            if word in AUXILIARIES or (
                word in PERFECT_AUXILIARIES
                and position + 1 < len(tokens)
                and _is_participle(tokens[position + 1])
            ):
                return [word, *tokens[:position], *tokens[position + 1 :]]
        return None
    subject = "I" if subject.lower() == "i" else subject.lower()
    lowered = tokens[1].lower()
    rest = list(tokens[2:])
    if lowered in AUXILIARIES:
        return [lowered, subject, *rest]
    if lowered in PERFECT_AUXILIARIES and rest and _is_participle(rest[0]):
        return [lowered, subject, *rest]
    past = base_of_past(lowered)
    if past is not None:
        return ["did", subject, past, *rest]
    return ["do", subject, lowered, *rest]


def _choices_tail(text: str) -> tuple[str, str]:
    """ "which model: Aurora, Bolt or Cruiser" → ("which model", "Aurora, Bolt or Cruiser")."""
    if ":" not in text:
        return text, ""
    head, tail = text.rsplit(":", 1)
    options = re.split(r"\s+or\s+", tail.strip())
    topics = [_condition_topic(option) for option in options]
    return head.strip(), " or ".join(topics)


def _condition_topic(option: str) -> str:
    """ "you ask about ATM limits" (a condition offered as a choice) → "ATM limits"."""
    return re.sub(
        r"^(?:you|the customer)\s+(?:\w+\s+)?(?:asks?|is asking|are asking|wants?|needs?|"
        r"mentions?|inquires?|reports?)\s+(?:about\s+|for\s+|to\s+)?",
        "",
        option.strip(),
        flags=re.IGNORECASE,
    )


# ---------------------------------------------------------------------------------------------
# Facts the reply may state: tool results, context variables, glossary terms.


@dataclass
class Fact:
    source: str  # "tool" | "variable"
    key: str
    value: Any
    key_stems: frozenset[str]
    result_index: int = -1  # which tool result it came from


@dataclass
class FactBook:
    """Everything the reply may state as fact, findable by the words an action uses for it."""

    today: date | None
    terms: Sequence[Mapping[str, Any]]
    results: list[Mapping[str, Any]]
    variables: Sequence[Mapping[str, Any]]
    consumed_results: set[int] = field(default_factory=set)
    confirmed_results: set[int] = field(default_factory=set)  # told by "I've booked …"

    @classmethod
    def build(cls, payload: Mapping[str, Any]) -> FactBook:
        return cls(
            today=parse_iso_date(payload.get("today", "")),
            terms=payload.get("terms", ()),
            results=list(payload.get("tool_results", ())),
            variables=payload.get("variables", ()),
        )

    @property
    def new_results(self) -> list[tuple[int, Mapping[str, Any]]]:
        return [(i, r) for i, r in enumerate(self.results) if r.get("is_new")]

    def _candidates(self) -> list[Fact]:
        facts: list[Fact] = []
        # Newest tool results first, then variables, then older results.
        ordered = sorted(
            enumerate(self.results), key=lambda pair: (not pair[1].get("is_new"), -pair[0])
        )
        for index, result in ordered:
            data = result.get("data")
            arguments = result.get("arguments") or {}
            if isinstance(data, Mapping):
                for key, value in data.items():
                    if _echoes_argument(key, value, arguments):
                        continue
                    facts.append(Fact("tool", str(key), value, _key_stems(str(key)), index))
            elif data not in (None, ""):
                facts.append(
                    Fact("tool", result["tool_id"], data, _key_stems(result["tool_id"]), index)
                )
        for variable in self.variables:
            if variable.get("value") not in (None, "", [], {}):
                name = variable["name"]
                facts.append(Fact("variable", name, variable["value"], _key_stems(name)))
        return facts

    def lookup(self, phrase: str) -> Fact | None:
        """The fact whose name the phrase uses ("the free slots" → free_slots).

        The fact must name the phrase's head noun: "the branch hours for your preferred
        branch" is about hours, so preferred_branch is not the answer.
        """
        wanted = {stem(w) for w in words(phrase)} - _FACT_NOISE
        head = _head_noun(phrase)
        if not wanted or not head:
            return None
        best: tuple[float, Fact] | None = None
        for fact in self._candidates():
            stems = fact.key_stems - _FACT_NOISE
            if not stems or stem(head) not in stems:
                continue
            shared = stems & wanted
            coverage = len(shared) / len(stems)
            if coverage < 1.0 and not (shared and len(shared) >= len(stems) - 1 and len(stems) > 2):
                continue
            score = coverage + 0.1 * len(shared)
            if best is None or score > best[0]:
                best = (score, fact)
        return best[1] if best else None

    def term(self, phrase: str, *, whole: bool = False) -> Mapping[str, Any] | None:
        """The glossary term the phrase is about: its head noun ("the APR" but not "the
        overdraft fee policy"), or, with `whole`, any term it mentions."""
        lowered = f" {' '.join(words(phrase))} "
        head = stem(_head_noun(phrase))
        for term in self.terms:
            for name in (term["name"], *term.get("synonyms", ())):
                named = words(name)
                if f" {' '.join(named)} " not in lowered:
                    continue
                if whole or (named and stem(named[-1]) == head):
                    return term
        return None

    def state(self, fact: Fact) -> str:
        """The fact as a sentence, e.g. "For Aurora on Saturday, 9 May, the free slots are 10:00
        and 16:00." A tool fact comes with the rest of its result, which then counts as told."""
        if fact.source != "tool" or fact.result_index < 0:
            return _sentence(self.describe(self.label(fact.key), fact.value))
        self.consumed_results.add(fact.result_index)
        return self._result_sentence(fact.result_index, first_key=fact.key)

    def _result_sentence(self, index: int, *, first_key: str = "") -> str:
        result = self.results[index]
        data = result.get("data")
        if not isinstance(data, Mapping):
            return _sentence(self.render(data))
        arguments = result.get("arguments") or {}
        is_confirmed = index in self.confirmed_results
        items = [
            (str(key), value)
            for key, value in data.items()
            if not _echoes_argument(key, value, arguments)
            and not (is_confirmed and isinstance(value, bool))
        ]
        items.sort(key=lambda item: item[0] != first_key)
        if not items:
            return ""
        text = "; ".join(self.describe(self.label(key), value) for key, value in items)
        prefix = "" if is_confirmed else self._context_prefix(index)
        return _sentence(f"{prefix}, {_lower_first(text)}" if prefix else text)

    def label(self, key: str) -> str:
        spoken = " ".join(self._spell(w) for w in re.split(r"[_\W]+", key) if w)
        spoken = re.sub(r"^(?:customer|user)\s+", "your ", spoken)
        if not spoken.startswith(("your ", "our ")):
            spoken = f"the {spoken}"
        return spoken

    def describe(self, label: str, value: Any) -> str:
        if isinstance(value, list | tuple) and not value:
            noun = re.sub(r"^(?:the|your|our)\s+", "", label)
            return f"there are no {noun}"
        if isinstance(value, bool):
            bare = re.sub(r"^(?:the|your|our)\s+", "", label)
            return f"{bare}: {'yes' if value else 'no'}"
        rendered = self.render(value)
        if isinstance(value, Mapping) and not _is_plural_phrase(label):
            return f"{label}: {rendered}"
        verb = "are" if isinstance(value, list | tuple) and len(value) > 1 else "is"
        if verb == "is" and _is_plural_phrase(label):
            verb = "are"
        return f"{label} {verb} {rendered}"

    def render(self, value: Any) -> str:
        if isinstance(value, Mapping):
            parts = []
            for key, item in value.items():
                spoken = " ".join(self._spell(w) for w in re.split(r"[_\W]+", str(key)) if w)
                unit = re.match(r"^(.*?)\s*(months|days|years|hours|minutes|percent)$", spoken)
                rendered = self.render(item)
                if unit and not isinstance(item, Mapping | list | tuple):
                    label = unit.group(1) or ""
                    parts.append(f"{label} {rendered} {unit.group(2)}".strip())
                else:
                    parts.append(f"{spoken} {rendered}")
            return ", ".join(parts)
        if isinstance(value, list | tuple):
            rendered = [self.render(item) for item in value]
            if any(isinstance(item, Mapping) for item in value):
                return "; ".join(rendered)
            return _join_words(rendered)
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, str):
            as_date = parse_iso_date(value)
            if as_date is not None:
                return human_date(as_date, self.today)
            return value.strip().rstrip(".")
        return str(value)

    def _spell(self, word: str) -> str:
        """A key's word as people write it: glossary spelling wins ("apr" → "APR")."""
        for term in self.terms:
            if term["name"].lower() == word.lower():
                return term["name"]
        if word.lower() in CALENDAR_NAMES:
            return word.lower().title()
        if word.lower() in ACRONYMS:
            return word.upper()
        return word.lower()

    def _context_prefix(self, index: int) -> str:
        """ "For Aurora on Saturday, 9 May" from the arguments a result repeats back."""
        result = self.results[index]
        data = result.get("data")
        arguments = result.get("arguments") or {}
        if not isinstance(data, Mapping):
            return ""
        echoed = {k: v for k, v in data.items() if _echoes_argument(k, v, arguments)}
        things, when = self._describe_arguments(echoed)
        prefix = "For " + _join_words(things) if things else ""
        if when:
            prefix = f"{prefix} {when}" if prefix else _capitalize(when)
        return prefix

    def _describe_arguments(self, arguments: Mapping[str, Any]) -> tuple[list[str], str]:
        """(["Aurora", "order 77812"], "on Saturday, 9 May at 10:00") for a result's context."""
        things, dates, times = [], [], []
        for key, value in arguments.items():
            text = str(value)
            as_date = parse_iso_date(text)
            if as_date is not None:
                dates.append(human_date(as_date, self.today))
                continue
            if re.fullmatch(r"\d{1,2}:\d{2}", text):
                times.append(text)
                continue
            named = re.match(r"^(.+?)_(?:number|id|code|no|reference|ref)$", str(key))
            kind = re.match(r"^(.+)_(?:type|kind)$", str(key))
            if named:
                things.append(f"{named.group(1).replace('_', ' ')} {text}")
            elif kind:
                things.append(f"the {text} {kind.group(1).replace('_', ' ')}")
            elif not re.fullmatch(r"[\d\s-]+", text) and not isinstance(value, bool):
                things.append(text)  # "For 4821" says nothing; names and dates do
        when = " ".join(
            part
            for part in (
                f"on {_join_words(dates)}" if dates else "",
                f"at {_join_words(times)}" if times else "",
            )
            if part
        )
        return things, when

    def confirm(self, tool_ids: Sequence[str]) -> str:
        """For "I've booked a callback": the when of the call (" on Thursday, 7 May at 15:00").

        The confirming result's yes/no values go unsaid (the sentence says it), and so does
        everything else unless it is news, like a reference number.
        """
        when = ""
        for index, result in self.new_results:
            if result.get("tool_id") not in tool_ids:
                continue
            self.confirmed_results.add(index)
            _, when = self._describe_arguments(result.get("arguments") or {})
        return f" {when}" if when else ""

    def untold_results(self) -> list[str]:
        """Sentences for this turn's tool results that no action has stated yet."""
        sentences = []
        for index, result in self.new_results:
            if index in self.consumed_results:
                continue
            self.consumed_results.add(index)
            data = result.get("data")
            if result.get("error"):
                sentences.append("Sorry, I couldn't get that information just now.")
            elif data in (None, "", {}, []):
                continue
            elif isinstance(data, Mapping) and "error" in data:
                sentences.append(_sentence(f"Sorry, {_lower_first(str(data['error']))}"))
            elif isinstance(data, str):
                sentences.append(_sentence(data))
            else:
                sentences.append(self._result_sentence(index))
        return [sentence for sentence in sentences if sentence]


CALENDAR_NAMES = frozenset([*WEEKDAY_NAMES, *MONTH_NAMES])
# Data keys are lower-case; these read as letters ("apr" → "APR").
ACRONYMS = frozenset(
    {"apr", "apy", "id", "eta", "sku", "vat", "pin", "iban", "bic", "url", "sms", "otp", "atm",
     "ssn", "vin", "usd", "eur", "gbp", "faq", "pdf", "cvv", "ein", "tin", "mpg", "ev"}
)  # fmt: skip
_FACT_NOISE = frozenset({stem(w) for w in ("requested", "current", "available", "relevant")})


def _head_noun(phrase: str) -> str:
    """ "the branch hours for your preferred branch" → "hours"."""
    first = re.split(
        r"\s+(?:for|with|of|per|in|on|at|from|to|by|about|and|that|which|including)\s+",
        phrase.strip(),
        maxsplit=1,
    )[0]
    tokens = words(first)
    return tokens[-1] if tokens else ""


def _key_stems(key: str) -> frozenset[str]:
    return frozenset(stem(w) for w in re.split(r"[_\W]+", key.lower()) if w and w not in ("get",))


def _echoes_argument(key: Any, value: Any, arguments: Mapping[str, Any]) -> bool:
    """Whether a result's entry only repeats what the tool was given (amount: "15000" for
    loan_amount="15000"): context for the reply, not news."""
    given = {str(v).lower() for v in arguments.values() if not isinstance(v, bool)}
    if str(key) in arguments:
        return str(arguments[str(key)]).lower() == str(value).lower()
    return not isinstance(value, bool | list | tuple | Mapping) and str(value).lower() in given


# ---------------------------------------------------------------------------------------------
# One action, one or two sentences.

SKIPPED_ADVERBS = (
    r"politely|kindly|warmly|briefly|gently|always|immediately|first|then|also|clearly|calmly|"
    r"promptly|quickly|proactively|courteously|sincerely|please|concisely|simply|friendly"
)
TRAILING_ADVERBS = re.compile(
    r"\s+(?:immediately|right away|at once|warmly|politely|briefly|first|promptly|as well|too|"
    r"kindly|sincerely|quickly)$",
    re.IGNORECASE,
)
LEADING_FILLER = re.compile(
    r"^(?:(?:the agent|you|we|i)\s+(?:should|must|will|can|need to|have to)\s+|make sure to\s+|"
    r"be sure to\s+|remember to\s+|try to\s+|(?:" + SKIPPED_ADVERBS + r")\s+)+",
    re.IGNORECASE,
)

GREET = frozenset({"greet", "welcome", "hail"})
OFFER = frozenset({"offer", "propose"})
ASK = frozenset({"ask", "request", "inquire", "enquire", "query", "collect", "gather", "obtain"})
INFORM = frozenset(
    {"tell", "inform", "notify", "advise", "remind", "say", "state", "mention", "note", "explain",
     "clarify", "emphasize", "emphasise", "stress", "highlight", "share", "describe", "present",
     "give", "provide", "quote", "show", "list", "outline", "summarize", "summarise", "recap",
     "reassure", "assure", "instruct", "warn", "answer"}
)  # fmt: skip
APOLOGIZE = frozenset({"apologize", "apologise"})
ACKNOWLEDGE = frozenset({"acknowledge", "empathize", "empathise", "sympathize", "validate"})
RECOMMEND = frozenset({"recommend", "suggest", "encourage", "invite", "urge"})
LOOKUP = frozenset({"check", "find", "fetch", "retrieve", "search", "verify", "lookup"})
STYLE = frozenset(
    {"use", "keep", "be", "respond", "reply", "speak", "write", "address", "maintain", "stay",
     "remain", "adopt", "mirror", "match", "follow", "sound"}
)  # fmt: skip
NEGATIVE = re.compile(
    r"^(?:do not|don't|never|avoid|refrain from|refuse to|decline to|not)\s+(.+)$", re.IGNORECASE
)
# Things an author writes after "say" that are themselves what to say.
INTERJECTIONS = {
    "hello": "Hello!", "hi": "Hi!", "goodbye": "Goodbye!", "bye": "Goodbye!",
    "thanks": "Thanks!", "thank you": "Thank you!", "sorry": "I'm sorry.",
}  # fmt: skip
# Words that make "tell them X" a statement of fact ("the store closes at 9pm") rather than a
# thing to look up ("the opening hours"). Verbs that double as plural nouns ("offers",
# "charges", "costs") are left out.
FACT_VERBS = frozenset(
    {"is", "are", "was", "were", "will", "can", "cannot", "can't", "has", "have", "had", "does",
     "do", "did", "takes", "opens", "closes", "includes", "requires", "applies", "depends",
     "lasts", "arrives", "expires", "must", "should", "may", "won't", "isn't", "aren't",
     "doesn't", "don't", "need"}
)  # fmt: skip


OFFER_OF_HELP = "How can I help you today?"


@dataclass
class Said:
    """A sentence of the reply and what kind of thing it is, for ordering and de-duplication."""

    text: str
    # "greeting" | "feeling" | "statement" | "question" | "offer_help" | "data_question"
    kind: str


@dataclass
class Instruction:
    action: str
    tools: tuple[str, ...] = ()
    is_journey_step: bool = False


@dataclass
class ReplyContext:
    facts: FactBook
    customer_name: str = ""
    latest_message: str = ""
    ran_tools: dict[str, bool] = field(default_factory=dict)  # tool id -> succeeded, this turn
    pending_tools: set[str] = field(default_factory=set)  # tools waiting for the customer's data
    lead_ins: dict[str, str] = field(default_factory=dict)  # pending tool id -> "To block the card"


# Verbs that start a new action after "and" whatever follows them.
CLEAR_VERBS = (
    GREET | OFFER | APOLOGIZE | ACKNOWLEDGE | RECOMMEND
    | {"ask", "inquire", "enquire", "tell", "inform", "notify", "advise", "remind", "say",
       "explain", "clarify", "describe", "provide", "thank", "confirm", "congratulate", "wish",
       "mention", "emphasize", "emphasise", "summarize", "summarise", "invite"}
)  # fmt: skip
# Words that are verbs in "and open a dispute" but nouns or adjectives in "direct deposit form":
# they start a new action only before an object ("a", "the", "them", …).
AMBIGUOUS_VERBS = (
    LOOKUP
    | {"open", "book", "block", "transfer", "connect", "cancel", "escalate", "let", "look",
       "send", "create", "schedule", "submit", "refund", "issue", "hand", "direct", "refer",
       "help", "collect", "gather", "request", "note", "list", "present", "state", "show",
       "share", "quote", "give", "offer", "answer", "highlight", "outline", "recap", "warn",
       "stress", "update", "verify", "process", "apply", "reset", "add", "remove", "record",
       "log", "file", "arrange", "order", "reserve", "register", "activate", "close", "waive"}
) - CLEAR_VERBS  # fmt: skip
_OBJECT_START = (
    r"(?:the|a|an|them|you|their|your|this|that|these|those|to|for|with|how|whether|which|"
    r"what|if|about|up|out|back|it|all|any|one|some|every|each|its|our|his|her)\b"
)


def split_compound_action(action: str) -> list[str]:
    """ "greet them back warmly and offer help" → two actions, so each gets its own sentence.

    Splits at "and"/"then"/";" only where the next part starts with a verb: one that is
    always a verb, or one that can be a noun ("direct deposit") followed by an object. That
    keeps "the routing number and direct deposit form location" whole.
    """
    clear = "|".join(sorted(CLEAR_VERBS, key=len, reverse=True))
    ambiguous = "|".join(sorted(AMBIGUOUS_VERBS, key=len, reverse=True))
    parts = re.split(
        rf"\s*(?:,\s*|;\s*|\.\s+)?(?:\s+and\s+then\s+|\s+and\s+|\s+then\s+|,\s*then\s+|;\s*|"
        rf"\.\s+)(?=(?:{SKIPPED_ADVERBS}\s+)?(?:(?:{clear})\b|(?:{ambiguous})\s+{_OBJECT_START}))",
        action.strip(),
        flags=re.IGNORECASE,
    )
    return [part.strip() for part in parts if part and part.strip()]


def realise_action(action: str, context: ReplyContext, instruction: Instruction) -> list[Said]:
    """What the agent says to carry out one simple action (no "and"), possibly nothing."""
    clause = TRAILING_ADVERBS.sub("", LEADING_FILLER.sub("", action.strip().rstrip(".")))
    negative = NEGATIVE.match(clause)
    if negative:
        return [Said(_negative(negative.group(1)), "statement")]
    clause = address_customer(clause)
    match = re.match(r"^([A-Za-z']+)\b\s*(.*)$", clause)
    if not match:
        return []
    verb, rest = match.group(1).lower(), match.group(2).strip()
    rest = TRAILING_ADVERBS.sub("", rest)
    if verb == "let" and re.match(r"^you\s+know\b", rest, re.IGNORECASE):
        verb, rest = "tell", re.sub(r"^you\s+know\s*", "you ", rest, flags=re.IGNORECASE)
    if verb in ("find", "point") and re.match(r"^out\b", rest, re.IGNORECASE):
        verb = "ask" if verb == "find" else "tell"
        rest = re.sub(r"^out\s*", "", rest, flags=re.IGNORECASE)
    if verb == "look" and re.match(r"^(?:up|into)\b", rest, re.IGNORECASE):
        verb, rest = "lookup", re.sub(r"^(?:up|into)\s*", "", rest, flags=re.IGNORECASE)
    if verb == "walk" and re.match(r"^you\s+through\b", rest, re.IGNORECASE):
        verb, rest = "explain", re.sub(r"^you\s+through\s*", "", rest, flags=re.IGNORECASE)
    if verb == "say" and re.match(r"^sorry\b", rest, re.IGNORECASE):
        verb, rest = "apologize", re.sub(r"^sorry\s*", "", rest, flags=re.IGNORECASE)
    if verb == "check" and re.match(r"^(?:whether|if)\b", rest, re.IGNORECASE):
        verb = "ask"
    pending = [t for t in instruction.tools if t in context.pending_tools]
    if pending and verb not in ASK | GREET | APOLOGIZE | ACKNOWLEDGE | {"thank"}:
        # The tool it needs is waiting for the customer's data: ask for that instead of
        # promising the action; an operation leads into the question ("To block the card, …").
        if verb not in INFORM | OFFER | RECOMMEND:
            lead = re.sub(r"\s+(?:for|of|with)\s+the\s+requested\s+.*$", "", f"{verb} {rest}")
            context.lead_ins.setdefault(pending[0], f"To {lead.strip()}")
        return []
    if verb in GREET:
        return [Said(_greet(verb, rest, context.customer_name), "greeting")]
    if verb in OFFER:
        return _offer(rest, context)
    if verb in ASK:
        return [Said(_ask(rest), "question")]
    if verb in APOLOGIZE:
        return [Said(_apologize(rest), "feeling")]
    if verb in ACKNOWLEDGE:
        return [Said(_acknowledge(rest), "feeling")]
    if verb == "thank":
        rest = re.sub(r"^you\b\s*", "", rest, flags=re.IGNORECASE)
        return [Said(_sentence(f"Thank you {rest}".strip()), "feeling")]
    if verb == "confirm":
        return _confirm(rest, instruction, context)
    if verb in RECOMMEND:
        return [_recommend(verb, rest)]
    if verb in ("help", "assist", "support"):
        return [_help(rest)]
    if verb == "wish":
        rest = re.sub(r"^you\s+", "", rest, flags=re.IGNORECASE)
        text = f"Have {rest}!" if re.match(r"^(?:a|an)\b", rest) else f"I wish you {rest}!"
        return [Said(text, "feeling")]
    if verb == "congratulate":
        rest = re.sub(r"^you\b\s*", "", rest, flags=re.IGNORECASE)
        return [Said(f"Congratulations{(' ' + rest) if rest else ''}!", "feeling")]
    if verb in INFORM:
        return _inform(verb, rest, context)
    if verb in ("direct", "refer", "redirect", "send") and re.match(r"^you\s+to\b", rest):
        target = re.sub(r"^you\s+to\s+", "", rest)
        return [Said(_sentence(f"You can find more on {target}"), "statement")]
    if verb in STYLE:
        return []
    if verb in LOOKUP or verb == "lookup":
        return _look_up(verb, rest, instruction, context)
    if verb in {"a", "an", "the", "our", "your", "this", "there", "it"}:
        return [Said(_sentence(clause), "statement")]
    return _operate(verb, rest, instruction, context)


def _stated(fact: Fact, context: ReplyContext) -> list[Said]:
    """A fact, preceded by a refusal when the customer picked something it does not offer
    ("Sorry, 13:00 is not one of the free slots.")."""
    said = [Said(context.facts.state(fact), "statement")]
    wanted = find_time(context.latest_message)
    if not wanted or not isinstance(fact.value, list | tuple) or not fact.value:
        return said
    offered = [find_time(str(item)) for item in fact.value]
    if all(offered) and wanted not in offered:
        noun = re.sub(r"^(?:the|your|our)\s+", "", context.facts.label(fact.key))
        said.insert(0, Said(_sentence(f"Sorry, {wanted} is not one of the {noun}"), "statement"))
    return said


def _negative(rest: str) -> str:
    rest = address_customer(rest)
    first, _, remainder = rest.partition(" ")
    if first.lower().endswith("ing"):
        rest = f"{strip_ing(first)} {remainder}".strip()
    return _sentence(f"I'm afraid I can't {rest}")


def _greet(verb: str, rest: str, customer_name: str) -> str:
    name = f" {customer_name}" if customer_name else ""
    tail = re.sub(r"^(?:you\b\s*)?(?:back\b\s*)?", "", rest, flags=re.IGNORECASE)
    if verb == "welcome" and re.match(r"^to\b", tail, re.IGNORECASE):
        return f"Welcome {tail}{(', ' + customer_name) if customer_name else ''}!"
    if verb == "welcome" and re.match(r"^you\s+back\b", rest, re.IGNORECASE):
        return f"Welcome back{(', ' + customer_name) if customer_name else ''}!"
    return f"Hello{name}!"


def _offer(rest: str, context: ReplyContext) -> list[Said]:
    rest = re.sub(r"^you\s+", "", rest, flags=re.IGNORECASE)
    rest = re.sub(r"\s+to\s+you$", "", rest, flags=re.IGNORECASE)
    if re.match(
        r"^(?:to\s+)?(?:help|assistance|assist|support|further help|additional help|your help)\b",
        rest,
        re.IGNORECASE,
    ):
        return [Said(OFFER_OF_HELP, "offer_help")]
    wanted = re.match(r"^to\s+(.+)$", rest, re.IGNORECASE)
    if wanted:
        return [Said(_question(f"Would you like me to {wanted.group(1)}"), "question")]
    fact = context.facts.lookup(rest) if _is_plural_phrase(rest) or "the " in rest else None
    if fact is not None:
        return _stated(fact, context)
    return [Said(_question(f"Would you like {rest}"), "question")]


def _ask(rest: str) -> str:
    rest = re.sub(r"^you\b\s*", "", rest, flags=re.IGNORECASE)
    head, choices = _choices_tail(rest)
    # "… before quoting": when the agent will act is not part of the question.
    head = re.sub(r"\s+(?:before|after|while|once|prior to)\s+\w+ing\b.*$", "", head)
    tail = f": {choices}" if choices else ""
    to_do = re.match(r"^to\s+(.+)$", head, re.IGNORECASE)
    if to_do:
        return _question(f"Could you please {to_do.group(1)}{tail}")
    about = re.match(r"^(for|about)\s+(.+)$", head, re.IGNORECASE)
    if about:
        thing = about.group(2)
        if about.group(1).lower() == "for" and re.match(r"^(?:a\s+)?confirmation\b", thing):
            return "Could you confirm that?"
        joiner = "about " if about.group(1).lower() == "about" else ""
        return _question(f"Could you tell me {joiner}{thing}{tail}")
    first = head.split()[0].lower() if head.split() else ""
    if first in WH_WORDS or first in ("whether", "if"):
        question = direct_question(head)
        return question[:-1] + tail + "?" if tail else question
    return _question(f"Could you tell me {head}{tail}")


def _apologize(rest: str) -> str:
    rest = re.sub(r"^(?:to you\b\s*)?", "", rest, flags=re.IGNORECASE).strip()
    if not rest:
        return "I'm sorry about that."
    if re.match(r"^for\b", rest, re.IGNORECASE):
        return _sentence(f"I'm sorry {rest}")
    return _sentence(f"I'm sorry about {rest}")


def _acknowledge(rest: str) -> str:
    rest = re.sub(r"\s+(?:before|while|after|then|and)\b.*$", "", rest, flags=re.IGNORECASE)
    rest = re.sub(r"^with\s+", "", rest, flags=re.IGNORECASE).strip()
    return _sentence(f"I understand {rest}") if rest else "I understand."


def _confirm(rest: str, instruction: Instruction, context: ReplyContext) -> list[Said]:
    clause = re.match(r"^(that|whether|if)\s+(.+)$", rest, re.IGNORECASE)
    if clause:
        return [
            Said(_question(f"Could you confirm {clause.group(1)} {clause.group(2)}"), "question")
        ]
    if re.search(r"\s+with\s+you$|\s+before\s+", rest, re.IGNORECASE):
        thing = re.sub(r"\s+with\s+you$|\s+before\s+.*$", "", rest, flags=re.IGNORECASE)
        return [Said(_question(f"Could you confirm {thing}"), "question")]
    fact = context.facts.lookup(rest)
    if fact is not None and fact.source == "tool":
        return _stated(fact, context)
    thing = re.sub(r"^(?:the|a|an)\s+", "your ", rest, flags=re.IGNORECASE)
    if not thing:
        return [Said("That's confirmed.", "statement")]
    verb = "are" if _is_plural_phrase(thing) else "is"
    return [Said(_sentence(f"{thing} {verb} confirmed"), "statement")]


def _recommend(verb: str, rest: str) -> Said:
    to_do = re.match(r"^you\s+to\s+(.+)$", rest, re.IGNORECASE)
    if verb == "invite" and to_do:
        return Said(_sentence(f"You're welcome to {to_do.group(1)}"), "statement")
    if verb == "urge" and to_do:
        return Said(_sentence(f"Please {to_do.group(1)}"), "statement")
    if to_do:
        return Said(_sentence(f"I'd {verb} you to {to_do.group(1)}"), "statement")
    rest = re.sub(r"^you\s+", "", rest, flags=re.IGNORECASE)
    verb = "recommend" if verb in ("invite", "urge") else verb
    return Said(_sentence(f"I'd {verb} {rest}"), "statement")


def _help(rest: str) -> Said:
    rest = re.sub(r"^you\b\s*", "", rest, flags=re.IGNORECASE)
    if not rest:
        return Said(OFFER_OF_HELP, "offer_help")
    if re.match(r"^with\b", rest, re.IGNORECASE):
        return Said(_sentence(f"I'd be happy to help {rest}"), "statement")
    return Said(_sentence(f"I'd be happy to help you {rest}"), "statement")


def _is_fact_clause(text: str) -> bool:
    """ "the store closes at 9pm" states a fact; "the opening hours" names one to look up."""
    tokens = [token.lower() for token in text.split()]
    if len(tokens) <= 2:
        return False
    if any(token in FACT_VERBS for token in tokens[1:]):
        return True
    # "the order ships within 2 days": an -s word then a time or place is a verb, while
    # "the loan offers with APR" keeps "offers" a noun.
    return any(
        re.fullmatch(r"[a-z]+[^s']s", token)
        and re.match(r"(?:within|in|at|on|by|from|after|before|until|every)$|\d|\$", following)
        for token, following in zip(tokens[1:], tokens[2:], strict=False)
    )


def _inform(verb: str, rest: str, context: ReplyContext) -> list[Said]:
    rest = re.sub(r"^(?:to\s+)?you\b\s*", "", rest, flags=re.IGNORECASE)
    if verb == "say" and rest.lower().strip(" !.") in INTERJECTIONS:
        return [Said(INTERJECTIONS[rest.lower().strip(" !.")], "greeting")]
    that = re.match(r"^that\s+(.+)$", rest, re.IGNORECASE)
    if that:
        return [Said(_sentence(that.group(1)), "statement")]
    to_do = re.match(r"^to\s+(.+)$", rest, re.IGNORECASE)
    if to_do:
        if verb == "remind":
            return [Said(_sentence(f"Please remember to {to_do.group(1)}"), "statement")]
        if verb == "warn":
            return [Said(_sentence(f"Please be careful to {to_do.group(1)}"), "statement")]
        return [Said(_sentence(f"Please {to_do.group(1)}"), "statement")]
    if ":" in rest:
        head, _, detail = rest.partition(":")
        return [Said(_sentence(f"{head.strip()}: {detail.strip()}"), "statement")]
    about = re.match(r"^(?:about|of)\s+(.+)$", rest, re.IGNORECASE)
    topic = about.group(1) if about else rest
    if _is_fact_clause(topic) and not re.match(r"^(?:how|what|why|when|where|which)\b", topic):
        return [Said(_sentence(topic), "statement")]
    fact = context.facts.lookup(topic)
    if fact is not None:
        return _stated(fact, context)
    term = context.facts.term(topic)
    if term is not None:
        return [Said(_term_sentence(term), "statement")]
    if not topic:
        return []
    if verb in ("summarize", "summarise", "recap"):
        return []  # a summary needs the facts; without them there is nothing honest to say
    if verb in ("explain", "describe", "clarify", "outline"):
        return [Said(_sentence(f"I can explain {topic}"), "statement")]
    if verb in ("give", "provide", "share", "show", "send", "list", "present", "quote"):
        return [Said(_sentence(f"I can give you {topic}"), "statement")]
    is_named_thing = topic.lower().startswith(("the ", "our ", "your "))
    joiner = "about " if about or not is_named_thing else ""
    return [Said(_sentence(f"I can tell you {joiner}{topic}"), "statement")]


def _look_up(verb: str, rest: str, instruction: Instruction, context: ReplyContext) -> list[Said]:
    fact = context.facts.lookup(rest)
    if fact is not None:
        return _stated(fact, context)
    if any(context.ran_tools.get(tool) for tool in instruction.tools):
        return []  # the tool's result is told as it is
    shown = "look up" if verb == "lookup" else verb
    rest = re.sub(r"\s+(?:for|of|with)\s+the\s+requested\s+.*$", "", rest)
    return [Said(_sentence(f"Let me {shown} {rest}"), "statement")]


def _operate(verb: str, rest: str, instruction: Instruction, context: ReplyContext) -> list[Said]:
    outcomes = [context.ran_tools[tool] for tool in instruction.tools if tool in context.ran_tools]
    if outcomes and all(outcomes):
        when = context.facts.confirm(instruction.tools)
        return [Said(_sentence(f"I've {past_participle(verb)} {rest}{when}"), "statement")]
    if outcomes:
        return [Said(_sentence(f"Sorry, I couldn't {verb} {rest} just now"), "statement")]
    return [Said(_sentence(f"I'll {verb} {rest}"), "statement")]


# ---------------------------------------------------------------------------------------------
# Missing tool arguments: one question for all of them.

FORMAT_HINTS = re.compile(
    r",?\s*\((?:e\.g\.|eg|for example|like|format)?[^)]*\)|"
    r",?\s*(?:as|in|using|formatted as)\s+(?:the\s+)?(?:format\s+)?"
    r"[A-Z]{1,4}(?:[-/:.][A-Z]{1,4})+(?:\s+format)?|"
    r",?\s*(?:e\.g\.|eg|for example|such as)\s+.*$",
    re.IGNORECASE,
)
DETERMINER_START = re.compile(
    r"^(?:the|a|an|your|my|our|this|that|these|those|which|what|how|when|where|whether|if|why|"
    r"who)\b",
    re.IGNORECASE,
)


@dataclass
class ParameterPhrase:
    noun_phrase: str  # "the model to drive"
    question: str  # "Which model would you like to drive: Aurora, Bolt or Cruiser?"
    head: str  # "model"
    choices: tuple[str, ...]


def parameter_phrase(entry: Mapping[str, Any]) -> ParameterPhrase:
    name_words = [w for w in re.split(r"[_\W]+", entry.get("parameter", "")) if w]
    description = FORMAT_HINTS.sub("", entry.get("description") or "").strip().rstrip(".")
    description = address_customer(description)
    choices = tuple(entry.get("choices") or ())
    alternatives = re.fullmatch(r"([\w-]+(?:,\s*[\w-]+)*)\s+or\s+([\w-]+)", description)
    if not description or alternatives or description.lower() == " ".join(name_words).lower():
        if alternatives and not choices:
            choices = (*re.split(r",\s*", alternatives.group(1)), alternatives.group(2))
        description = " ".join(name_words)
    description = _lower_first(description)
    if not DETERMINER_START.match(description):
        description = f"the {description}"
    listing = _join_words(list(choices), "or")
    head_match = re.match(r"^(?:the|a|an)\s+(.+?)(?:\s+(?:to|you|that|which)\b.*)?$", description)
    head_phrase = head_match.group(1) if head_match else description
    head = head_phrase.split()[-1] if head_phrase.split() else "detail"
    wh = "Which" if choices else "What"
    tail = f": {listing}" if listing else ""
    to_do = re.match(r"^(?:the|a|an)\s+(.+?)\s+to\s+(.+)$", description)
    relative = re.match(r"^(?:the|a|an)\s+(.+?)\s+(?:that\s+|which\s+)?(you\s+.+)$", description)
    if re.match(r"^(?:why|how|when|where|who|what|which|whether|if)\b", description):
        question = direct_question(description)[:-1] + tail + "?"
    elif to_do:
        question = f"{wh} {to_do.group(1)} would you like to {to_do.group(2)}{tail}?"
    elif relative:
        clause = re.sub(r"^you\s+want\b", "you would like", relative.group(2))
        question = direct_question(f"{wh.lower()} {relative.group(1)} {clause}")
        question = question[:-1] + tail + "?"
    elif choices:
        question = f"Which {head_phrase}{tail}?"
    elif description.startswith("your "):
        verb = "are" if _is_plural_phrase(description) else "is"
        question = f"What {verb} {description}?"
    else:
        question = _question(f"Could you tell me {description}")
    return ParameterPhrase(
        noun_phrase=description, question=_capitalize(question), head=head, choices=choices
    )


def _refusal(entry: Mapping[str, Any], phrase: ParameterPhrase) -> str:
    value = entry.get("value")
    shown = str(value).strip() if value not in (None, "") else ""
    if phrase.choices:
        what = f"{shown} is" if shown else "that is"
        return _sentence(f"Sorry, {what} not one of the available {_plural(phrase.head)}")
    if shown:
        return _sentence(f"Sorry, I couldn't use {shown} as the {phrase.head}")
    return _sentence(f"Sorry, I couldn't use that as the {phrase.head}")


def missing_data_sentences(
    entries: Sequence[Mapping[str, Any]], lead_ins: Mapping[str, str]
) -> list[Said]:
    """A refusal per invalid value, then one question for everything still needed."""
    seen: set[tuple[str, str]] = set()
    unique = []
    for entry in entries:
        key = (entry.get("tool_id", ""), entry.get("parameter", ""))
        if key not in seen:
            seen.add(key)
            unique.append(entry)
    if not unique:
        return []
    phrases = [parameter_phrase(entry) for entry in unique]
    said = [
        Said(_refusal(entry, phrase), "statement")
        for entry, phrase in zip(unique, phrases, strict=True)
        if entry.get("is_invalid")
    ]
    lead = next((lead_ins[e["tool_id"]] for e in unique if e.get("tool_id") in lead_ins), "")
    natural = len(phrases) == 1 and not phrases[0].question.startswith("Could you tell me")
    if len(phrases) == 1 and (natural or not lead):
        # A question of its own ("Which size would you like?") needs no "To order the shirt".
        said.append(Said(phrases[0].question, "data_question"))
        return said
    parts = []
    for phrase in phrases:
        listing = _join_words(list(phrase.choices), "or")
        if listing and len(phrases) > 1:
            parts.append(f"{phrase.noun_phrase} ({listing})")
        elif listing:
            parts.append(f"{phrase.noun_phrase}: {listing}")
        else:
            parts.append(phrase.noun_phrase)
    asking = f"could you tell me {_join_words(parts)}"
    text = f"{lead}, {asking}" if lead else asking
    said.append(Said(_question(text), "data_question"))
    return said


def _customer_gave_now(
    entries: Sequence[Mapping[str, Any]], latest: str, today: date | None
) -> bool:
    """Whether the latest message carries any value for the tools that wait for data."""
    if any(entry.get("is_invalid") for entry in entries):
        return True
    lowered = latest.lower()
    said_date = find_date(latest, today)
    for entry in entries:
        for value in (entry.get("known_arguments") or {}).values():
            text = str(value).lower()
            if text and re.search(r"(?<!\w)" + re.escape(text) + r"(?!\w)", lowered):
                return True
            if said_date is not None and parse_iso_date(text) == said_date:
                return True
    return False


# ---------------------------------------------------------------------------------------------
# The reply.

GUEST_NAMES = frozenset({"guest", "anonymous", "customer", "visitor", "user"})
MAX_QUESTIONS = 2


def local_fluid_reply(payload: Mapping[str, Any]) -> str:
    """The reply, from the composition payload the engine sends (see prompts.compose_prompt).

    Order: greeting, apology or thanks, facts and statements, then at most two questions, the
    question about missing data last. A missing tool argument is asked for in one question; when
    the latest message is about something else (another guideline answers it) and the agent
    asked just before, the question waits instead of being repeated.
    """
    facts = FactBook.build(payload)
    # People are greeted by their first name ("Hello Dana!", not "Hello Dana Levi!").
    name = (payload.get("customer_name", "") or "").strip().split(" ")[0]
    customer_name = "" if name.lower() in GUEST_NAMES else name
    handed_off = payload.get("session_mode") == "manual"
    missing = [] if handed_off else list(payload.get("missing_arguments", ()))
    context = ReplyContext(
        facts=facts,
        customer_name=customer_name,
        latest_message=payload.get("latest_customer_message", ""),
        ran_tools=_ran_tools(payload),
        pending_tools={entry.get("tool_id", "") for entry in missing},
    )
    instructions = [
        Instruction(
            action=item.get("action", ""),
            tools=tuple(item.get("tools", ())),
            is_journey_step=bool(item.get("is_journey_step")),
        )
        for item in payload.get("guidelines", ())
    ]
    said: list[Said] = []
    topical: list[Said] = []  # what guidelines matched on the latest message have the agent say
    for instruction in instructions:
        for part in split_compound_action(instruction.action) if instruction.action else []:
            sentences = realise_action(part, context, instruction)
            said.extend(sentences)
            if not instruction.is_journey_step:
                topical.extend(sentences)
    said.extend(Said(text, "statement") for text in facts.untold_results())
    said = _without_repeats_when_moved_on(said, topical, payload)

    if missing:
        said = _with_missing_data(said, missing, instructions, payload, context)
    if not said:
        said = _fallback(payload, facts, customer_name)
    greeted = "~greet" in features(payload.get("latest_customer_message", ""))
    if payload.get("is_first_message") and greeted and not any(s.kind == "greeting" for s in said):
        said.insert(0, Said(_hello(customer_name), "greeting"))
    return _assemble(said)


def _without_repeats_when_moved_on(
    said: list[Said], topical: Sequence[Said], payload: Mapping[str, Any]
) -> list[Said]:
    """When the customer raised something new, what the agent said before (a journey step still
    waiting for an answer) is not said again word for word."""
    told = {
        _normalized(text)
        for message in payload.get("history", ())
        if message["role"] == "agent"
        for text in re.split(r"(?<=[.?!])\s+", message["text"])
    }
    if not any(_normalized(s.text) not in told for s in topical):
        return said
    return [s for s in said if any(s is t for t in topical) or _normalized(s.text) not in told]


def _last_agent_text(payload: Mapping[str, Any]) -> str:
    history = list(payload.get("history", ()))
    if history and history[-1]["role"] == "customer":
        history = history[:-1]
    return history[-1]["text"] if history and history[-1]["role"] == "agent" else ""


def _hello(customer_name: str) -> str:
    return f"Hello{(' ' + customer_name) if customer_name else ''}!"


def _term_sentence(term: Mapping[str, Any]) -> str:
    return _sentence(f"{term['name']}: {_lower_first(term['description'])}")


def _ran_tools(payload: Mapping[str, Any]) -> dict[str, bool]:
    ran: dict[str, bool] = {}
    for result in payload.get("tool_results", ()):
        if not result.get("is_new"):
            continue
        data = result.get("data")
        failed = bool(result.get("error")) or (isinstance(data, Mapping) and "error" in data)
        ran[result["tool_id"]] = ran.get(result["tool_id"], True) and not failed
    return ran


def _with_missing_data(
    said: list[Said],
    missing: Sequence[Mapping[str, Any]],
    instructions: Sequence[Instruction],
    payload: Mapping[str, Any],
    context: ReplyContext,
) -> list[Said]:
    pending = {entry.get("tool_id", "") for entry in missing}
    other_topic = [i for i in instructions if not i.is_journey_step and not set(i.tools) & pending]
    latest = payload.get("latest_customer_message", "")
    asking = missing_data_sentences(missing, context.lead_ins)
    if other_topic and not _customer_gave_now(missing, latest, context.facts.today):
        # The customer moved on: answer that. Ask again only if the agent did not just ask.
        last_agent = _last_agent_text(payload)
        question = asking[-1].text if asking else ""
        if question and _same_request(question, last_agent):
            return said
    # A journey step asking for the same thing as the data question: keep one of them.
    data_features = set()
    for entry in missing:
        phrase = parameter_phrase(entry)
        data_features |= {stem(phrase.head)} | {c.lower() for c in phrase.choices}
    kept = [
        s
        for s in said
        if s.kind != "question"
        or not ({stem(w) for w in words(s.text)} | set(words(s.text))) & data_features
    ]
    return kept + asking


def _same_request(question: str, earlier: str) -> bool:
    asked = features(question)
    return bool(asked) and len(asked & features(earlier)) / len(asked) >= 0.6


def _is_plain_chat(text: str) -> bool:
    """Thanks, goodbyes and greetings with nothing else in them."""
    return bool(features(text)) and features(text) <= {"~thank", "~farewell", "~greet"}


def _fallback(payload: Mapping[str, Any], facts: FactBook, customer_name: str) -> list[Said]:
    latest = payload.get("latest_customer_message", "")
    concepts = features(latest)
    if _is_plain_chat(latest) and concepts & {"~thank", "~farewell"}:
        said = []
        if "~thank" in concepts:
            said.append(Said("You're welcome!", "feeling"))
        if "~farewell" in concepts:
            said.append(Said("Goodbye!", "feeling"))
        return said
    term = facts.term(latest, whole=True)
    if term is not None and not _is_plain_chat(latest):
        return [Said(_term_sentence(term), "statement")]
    capabilities = payload.get("capabilities", ())
    if capabilities and latest:
        description = capabilities[0].get("description", "").strip().rstrip(".")
        if description:
            return [Said(_sentence(f"I can {_lower_first(description)}"), "statement")]
    if payload.get("is_first_message"):
        name = f" {customer_name}" if customer_name else ""
        return [Said(f"Hello{name}!", "greeting"), Said("How can I help?", "question")]
    return [
        Said("I'm not sure I have the information for that.", "statement"),
        Said("Could you tell me a bit more?", "question"),
    ]


KIND_ORDER = {
    "greeting": 0,
    "feeling": 1,
    "statement": 2,
    "offer_help": 3,
    "question": 3,
    "data_question": 4,
}


def _assemble(said: Sequence[Said]) -> str:
    """Order, de-duplicate and join the sentences; at most MAX_QUESTIONS questions."""
    said = [s for s in said if s.text.strip()]
    if any(s.kind in ("statement", "question", "data_question") for s in said):
        # "How can I help?" is for a customer who has not said what they need yet.
        said = [s for s in said if s.kind != "offer_help"]
    ordered = sorted(said, key=lambda s: KIND_ORDER.get(s.kind, 2))
    chosen: list[Said] = []
    for sentence in ordered:
        if any(_repeats(sentence, earlier) for earlier in chosen):
            continue
        chosen.append(sentence)
    questions = [s for s in chosen if s.text.endswith("?")]
    if len(questions) > MAX_QUESTIONS:
        # The question about missing data is the one the conversation cannot go on without.
        ranked = sorted(questions, key=lambda s: s.kind != "data_question")[:MAX_QUESTIONS]
        chosen = [s for s in chosen if not s.text.endswith("?") or any(s is q for q in ranked)]
    text = " ".join(s.text.strip() for s in chosen)
    return _tidy(text)


def _repeats(sentence: Said, earlier: Said) -> bool:
    if _normalized(sentence.text) == _normalized(earlier.text):
        return True
    if sentence.kind == "data_question" or earlier.kind == "data_question":
        return False
    mine, theirs = features(sentence.text), features(earlier.text)
    return bool(mine) and len(mine) >= 2 and mine <= theirs


def _normalized(text: str) -> str:
    return " ".join(words(text))


def _tidy(text: str) -> str:
    text = re.sub(r"\b(\w+)(\s+\1\b)+", r"\1", text, flags=re.IGNORECASE)
    text = re.sub(r"\s+([,.;:?!])", r"\1", text)
    text = re.sub(r"([?.!])\1+", r"\1", text)
    return re.sub(r"\s{2,}", " ", text).strip()
